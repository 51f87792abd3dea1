"""Tests for supervisor.events.stream: Docker's /events replay-then-live semantics."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from supervisor.errors import InvalidArgument
from supervisor.events import stream as stream_module
from supervisor.events.bus import EventBus
from supervisor.events.filters import EventFilter
from supervisor.events.history import EventHistory
from supervisor.events.model import Event, EventType
from supervisor.events.stream import EndReason, open_event_stream

C = EventType.CONTAINER
T0 = 1_700_000_000 * 10**9
S = 10**9


def wall_clock() -> int:
    """A wall clock that moves with trio's (virtual) clock."""
    return T0 + int(trio.current_time() * S)


def make_bus(capacity: int = 100_000) -> EventBus:
    return EventBus(EventHistory(None, capacity=capacity), clock=wall_clock)


async def publish_every(bus: EventBus, count: int, interval: float, action: str = "start") -> None:
    for i in range(count):
        await trio.sleep(interval)
        bus.publish(C, action, f"{i:064d}", {"name": f"c{i}"})


async def test_without_since_or_until_only_live_events(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """No since/until: nothing from the past, every live event."""
    bus = make_bus()
    bus.publish(C, "create", "a" * 64)
    got: list[Event] = []
    async with open_event_stream(bus, None, None, None) as events, trio.open_nursery() as nursery:
        nursery.start_soon(publish_every, bus, 3, 1.0)
        async for event in events:
            got.append(event)
            if len(got) == 3:
                break
    assert [e.seq for e in got] == [2, 3, 4]
    assert events.replayed == 0


async def test_since_replays_then_goes_live(autojump_clock: trio.testing.MockClock) -> None:
    """since: the backlog from since (inclusive) oldest first, then live events, with no gap."""
    bus = make_bus()
    await publish_every(bus, 5, 1.0)  # times 1..5 s
    since = T0 + 3 * S
    got: list[Event] = []
    async with open_event_stream(bus, None, since, None) as events, trio.open_nursery() as nursery:
        nursery.start_soon(publish_every, bus, 3, 1.0)
        async for event in events:
            got.append(event)
            if len(got) == 6:
                break
    assert [e.seq for e in got] == [3, 4, 5, 6, 7, 8]
    assert events.replayed == 3


async def test_since_zero_replays_from_the_beginning(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """since=0 (docker-py's events(since=0)) replays the whole history."""
    bus = make_bus()
    await publish_every(bus, 4, 1.0)
    await trio.sleep(1)
    async with open_event_stream(bus, None, 0, wall_clock() - 1) as events:
        assert [e.seq async for e in events] == [1, 2, 3, 4]
    assert events.end_reason is EndReason.UNTIL


async def test_until_in_the_past_replays_then_ends(autojump_clock: trio.testing.MockClock) -> None:
    """until before now: the events up to until, then the end, without subscribing."""
    bus = make_bus()
    await publish_every(bus, 5, 1.0)
    async with open_event_stream(bus, None, None, T0 + int(2.5 * S)) as events:
        assert bus.statistics().subscribers == 0
        got = [e.seq async for e in events]
    assert got == [1, 2]
    assert events.end_reason is EndReason.UNTIL


async def test_until_in_the_future_ends_at_until(autojump_clock: trio.testing.MockClock) -> None:
    """Replay, then live events until the wall-clock until, converted to a trio deadline."""
    bus = make_bus()
    await publish_every(bus, 2, 1.0)  # t = 1, 2
    start = trio.current_time()
    until = wall_clock() + int(5.5 * S)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(publish_every, bus, 10, 1.0)  # t = 3 .. 12
        async with open_event_stream(bus, None, T0, until) as events:
            got = [e.seq async for e in events]
        nursery.cancel_scope.cancel()
    assert trio.current_time() - start == pytest.approx(5.5)
    assert got == [1, 2, 3, 4, 5, 6, 7]
    assert events.end_reason is EndReason.UNTIL
    assert bus.statistics().subscribers == 0


async def test_filter_applies_to_replay_and_live(autojump_clock: trio.testing.MockClock) -> None:
    """The same filter selects the backlog and the live events."""
    bus = make_bus()
    bus.publish(C, "start", "a" * 64)
    bus.publish(C, "die", "a" * 64)
    flt = EventFilter.from_dict({"event": ["die"]})
    async with open_event_stream(bus, flt, 0, None) as events:
        bus.publish(C, "start", "b" * 64)
        bus.publish(C, "die", "b" * 64)
        first = await events.__anext__()
        second = await events.__anext__()
    assert [(e.actor_id[0], e.action) for e in (first, second)] == [("a", "die"), ("b", "die")]


async def test_events_published_during_replay_are_neither_lost_nor_doubled(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Subscribe first, replay second, skip live seqs the replay covered."""
    bus = make_bus()
    await publish_every(bus, 3, 1.0)
    real_replay = stream_module._replay

    async def racy_replay(
        bus_: EventBus, since: int | None, until: int | None, flt: EventFilter | None
    ) -> tuple[list[Event], int]:
        # Events land in both the subscription and the history before the scan.
        bus.publish(C, "racing", "r" * 64)
        await trio.lowlevel.checkpoint()
        bus.publish(C, "racing", "r" * 64)
        return await real_replay(bus_, since, until, flt)

    monkeypatch.setattr(stream_module, "_replay", racy_replay)
    async with open_event_stream(bus, None, 0, None) as events:
        bus.publish(C, "after", "z" * 64)
        got = [await events.__anext__() for _ in range(6)]
        with trio.move_on_after(1):
            extra = await events.__anext__()
            pytest.fail(f"unexpected extra event {extra}")
    assert [e.seq for e in got] == [1, 2, 3, 4, 5, 6]


async def test_large_replay_in_a_thread_loses_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A backlog above the thread threshold, with a publisher running meanwhile: seqs are 1..N exactly."""
    bus = make_bus()
    for i in range(stream_module.REPLAY_IN_THREAD_ABOVE + 500):
        bus.publish(C, "start", f"{i:064d}")
    total = bus.last_seq + 200
    seqs: list[int] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(publish_every, bus, 200, 0.001)
        async with open_event_stream(bus, None, 0, None) as events:
            async for event in events:
                seqs.append(event.seq)
                if len(seqs) == total:
                    break
    assert seqs == list(range(1, total + 1))


async def test_slow_consumer_is_disconnected(autojump_clock: trio.testing.MockClock) -> None:
    """A consumer that falls a buffer behind gets what was buffered, then the end."""
    bus = make_bus()
    async with open_event_stream(bus, None, None, None, buffer=2) as events:
        published = [bus.publish(C, "start", f"{i:064d}") for i in range(5)]
        got = [e async for e in events]
        assert got == published[:2]
        assert events.end_reason is EndReason.SLOW_CONSUMER
    assert bus.statistics().disconnects == 1


async def test_bus_close_ends_the_stream(autojump_clock: trio.testing.MockClock) -> None:
    """Shutdown ends live streams with BUS_CLOSED."""
    bus = make_bus()
    async with open_event_stream(bus, None, None, None) as events:
        bus.close()
        assert [e async for e in events] == []
    assert events.end_reason is EndReason.BUS_CLOSED


async def test_since_only_stays_open(autojump_clock: trio.testing.MockClock) -> None:
    """since without until streams forever: still open an hour later."""
    bus = make_bus()
    async with open_event_stream(bus, None, T0, None) as events:
        with trio.move_on_after(3600):
            await events.__anext__()
        assert events.end_reason is None
        late = bus.publish(C, "start", "a" * 64)
        assert await events.__anext__() == late


async def test_until_before_since_is_rejected() -> None:
    """until < since is Docker's 400."""
    bus = make_bus()
    with pytest.raises(InvalidArgument, match="cannot be after"):
        async with open_event_stream(bus, None, T0 + S, T0):
            pass


async def test_stream_unsubscribes_when_cancelled(autojump_clock: trio.testing.MockClock) -> None:
    """A client that goes away (cancellation) leaves no subscription behind."""
    bus = make_bus()
    with trio.move_on_after(10):
        async with open_event_stream(bus, None, None, None) as events:
            await events.__anext__()
    assert bus.statistics().subscribers == 0
