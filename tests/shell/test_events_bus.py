"""Tests for supervisor.events.bus: synchronous publish, bounded subscriptions."""

from __future__ import annotations

import itertools

import pytest
import structlog
import trio
import trio.testing

from supervisor.events.bus import EventBus, SlowPolicy
from supervisor.events.filters import EventFilter
from supervisor.events.history import EventHistory
from supervisor.events.model import Event, EventType

C = EventType.CONTAINER


def fake_clock(start: int = 1_700_000_000 * 10**9, step: int = 1000) -> itertools.count[int]:
    return itertools.count(start, step)


def make_bus(**kwargs: object) -> EventBus:
    counter = fake_clock()
    return EventBus(clock=lambda: next(counter), **kwargs)  # type: ignore[arg-type]


async def test_publish_stamps_seq_and_time_and_records() -> None:
    """seq is 1, 2, 3...; time comes from the injected clock; the history keeps every event."""
    bus = make_bus()
    first = bus.publish(C, "create", "a" * 64, {"name": "web"})
    second = bus.publish(C, "start", "a" * 64, {"name": "web"})
    assert (first.seq, second.seq) == (1, 2)
    assert second.time_nano - first.time_nano == 1000
    assert first.attributes == {"name": "web"}
    assert bus.history.replay(0, None) == [first, second]
    assert bus.statistics().published == 2
    assert bus.last_seq == 2


async def test_default_history_is_dockers_256() -> None:
    """Without a history the bus keeps Docker's 256 events in memory."""
    bus = make_bus()
    for _ in range(300):
        bus.publish(C, "start", "x" * 64)
    replay = bus.history.replay(0, None)
    assert len(replay) == 256
    assert replay[0].seq == 45


async def test_publish_never_checkpoints_even_when_disconnecting() -> None:
    """publish is synchronous: no checkpoint with subscribers, overflow, disconnect or drop."""
    bus = make_bus()
    with (
        bus.subscribe(buffer=1),
        bus.subscribe(buffer=1, policy=SlowPolicy.DROP),
        bus.subscribe(buffer=100),
    ):
        with trio.testing.assert_no_checkpoints():
            for i in range(5):
                bus.publish(C, "start", f"{i}" * 64, {"name": f"c{i}"})
    assert bus.statistics().disconnects == 1


async def test_stalled_subscriber_is_disconnected_others_get_everything() -> None:
    """A full buffer with DISCONNECT closes that subscription; the others see every event."""
    bus = make_bus()
    received: list[Event] = []

    async def consumer(receive: trio.MemoryReceiveChannel[Event]) -> None:
        async for event in receive:
            received.append(event)

    with bus.subscribe(buffer=3, name="stalled") as stalled, bus.subscribe(buffer=3) as live:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(consumer, live)
            published = []
            for i in range(10):
                published.append(bus.publish(C, "start", f"{i}" * 64))
                await trio.testing.wait_all_tasks_blocked()
            stats = bus.statistics()
            assert stats.disconnects == 1
            assert stats.dropped == 1
            assert stats.subscribers == 1
            # The stalled consumer drains what was buffered, then sees the end.
            drained = [event async for event in stalled]
            assert drained == published[:3]
            bus.close()
    assert received == published


async def test_drop_policy_keeps_subscription_and_logs_error() -> None:
    """DROP loses the event loudly but keeps the subscriber connected."""
    bus = make_bus()
    with bus.subscribe(buffer=2, policy=SlowPolicy.DROP, name="restart-watcher") as receive:
        with structlog.testing.capture_logs() as logs:
            events = [bus.publish(C, "die", "d" * 64) for _ in range(4)]
        assert [receive.receive_nowait(), receive.receive_nowait()] == events[:2]
        later = bus.publish(C, "start", "d" * 64)
        assert receive.receive_nowait() == later
    errors = [log for log in logs if log["log_level"] == "error"]
    assert len(errors) == 2
    assert errors[0]["subscription"] == "restart-watcher"
    stats = bus.statistics()
    assert (stats.dropped, stats.disconnects) == (2, 0)


async def test_subscription_filter_applies_before_the_buffer() -> None:
    """Filtered-out events neither arrive nor count against the buffer."""
    bus = make_bus()
    flt = EventFilter.from_dict({"type": ["container"], "event": ["die"]})
    with bus.subscribe(flt, buffer=1) as receive:
        bus.publish(EventType.NETWORK, "connect", "n" * 64)
        bus.publish(C, "start", "c" * 64)
        die = bus.publish(C, "die", "c" * 64)
        assert receive.receive_nowait() == die
    assert bus.statistics().dropped == 0


async def test_unsubscribe_on_exit_even_when_cancelled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Leaving the with block by cancellation removes the subscription."""
    bus = make_bus()
    with trio.move_on_after(1):
        with bus.subscribe() as receive:
            assert bus.statistics().subscribers == 1
            await receive.receive()
    assert bus.statistics().subscribers == 0
    bus.publish(C, "start", "c" * 64)  # no error sending to a closed subscription


async def test_unsubscribe_on_exception() -> None:
    """An exception inside the block still removes the subscription."""
    bus = make_bus()
    with pytest.raises(RuntimeError), bus.subscribe():
        msg = "boom"
        raise RuntimeError(msg)
    assert bus.statistics().subscribers == 0


async def test_consumer_closing_its_receive_side_is_forgotten() -> None:
    """A receive channel closed early is dropped at the next publish, not an error."""
    bus = make_bus()
    with bus.subscribe() as receive:
        await receive.aclose()
        bus.publish(C, "start", "c" * 64)
        assert bus.statistics().subscribers == 0


async def test_seq_continues_after_loaded_history() -> None:
    """A bus over a loaded history numbers new events after the last stored one."""
    history = EventHistory(None)
    history.record(Event(C, "start", "c" * 64, {}, 5, 41))
    bus = EventBus(history)
    assert bus.publish(C, "die", "c" * 64).seq == 42


async def test_close_ends_subscriptions_and_refuses_new_ones() -> None:
    """close() (shutdown) ends every stream; later subscribers end at once."""
    bus = make_bus()
    with bus.subscribe() as receive:
        event = bus.publish(C, "start", "c" * 64)
        bus.close()
        assert [e async for e in receive] == [event]
    assert bus.closed
    with bus.subscribe() as receive:
        with pytest.raises(trio.EndOfChannel):
            await receive.receive()


async def test_buffer_must_be_positive() -> None:
    """A zero buffer would drop every event: refuse it."""
    bus = make_bus()
    with pytest.raises(ValueError, match="at least 1"), bus.subscribe(buffer=0):
        pass
