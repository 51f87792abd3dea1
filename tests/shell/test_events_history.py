"""Tests for supervisor.events.history: the persisted ring and its writer task."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import structlog
import trio
import trio.testing

from supervisor.events.bus import EventBus
from supervisor.events.filters import EventFilter
from supervisor.events.history import EventHistory
from supervisor.events.model import Event, EventType, to_record

C = EventType.CONTAINER
T0 = 1_700_000_000 * 10**9


def make_bus(history: EventHistory) -> EventBus:
    counter = itertools.count(T0 + history.last_seq * 1000, 1000)
    return EventBus(history, clock=lambda: next(counter))


async def wait_written(history: EventHistory, count: int) -> None:
    """Wait until the writer has handled everything published, then check the count.

    No timeout here on purpose: under autojump_clock a worker thread counts as
    "blocked", so a fail_after would fire in virtual time while the disk works.
    pytest-timeout guards against a hang.
    """
    await history.wait_flushed()
    assert history.statistics().written == count


def segment_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.jsonl"))


async def test_events_survive_a_restart(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """Events written by one history are loaded by the next; seq continues after them."""
    history = EventHistory(tmp_path)
    history.load()
    bus = make_bus(history)
    async with trio.open_nursery() as nursery:
        await nursery.start(history.run_writer)
        published = [
            bus.publish(C, a, "c" * 64, {"name": "web"}) for a in ("create", "start", "die")
        ]
        await wait_written(history, 3)
        nursery.cancel_scope.cancel()

    reloaded = EventHistory(tmp_path)
    assert await trio.to_thread.run_sync(reloaded.load) == 3
    assert reloaded.replay(0, None) == published
    assert make_bus(reloaded).publish(C, "destroy", "c" * 64).seq == 4


async def test_writer_batches_by_interval(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """Nothing is written before the batching interval ends; then one batch holds everything."""
    history = EventHistory(tmp_path, flush_interval=5.0)
    bus = make_bus(history)
    async with trio.open_nursery() as nursery:
        await nursery.start(history.run_writer)
        t0 = trio.current_time()
        bus.publish(C, "start", "c" * 64)
        await trio.sleep(4.9)
        bus.publish(C, "die", "c" * 64)
        assert history.statistics().written == 0
        assert history.statistics().pending == 2
        await wait_written(history, 2)
        assert trio.current_time() - t0 >= 5.0
        nursery.cancel_scope.cancel()
    assert len(segment_files(tmp_path)) == 1


async def test_writer_flushes_early_when_many_are_pending(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """flush_batch pending events wake the writer before the interval."""
    history = EventHistory(tmp_path, flush_interval=1000.0, flush_batch=50)
    bus = make_bus(history)
    async with trio.open_nursery() as nursery:
        await nursery.start(history.run_writer)
        t0 = trio.current_time()
        for _ in range(50):
            bus.publish(C, "start", "c" * 64)
        await wait_written(history, 50)
        assert trio.current_time() - t0 < 1000.0
        nursery.cancel_scope.cancel()


async def test_cancellation_flushes_everything(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """Cancelling the writer writes what is pending (shielded) before it returns."""
    history = EventHistory(tmp_path, flush_interval=1000.0)
    bus = make_bus(history)
    async with trio.open_nursery() as nursery:
        await nursery.start(history.run_writer)
        published = [bus.publish(C, "start", "c" * 64) for _ in range(7)]
        await trio.sleep(1)
        assert history.statistics().written == 0
        nursery.cancel_scope.cancel()
    assert history.statistics().written == 7
    reloaded = EventHistory(tmp_path)
    reloaded.load()
    assert reloaded.replay(0, None) == published


async def test_compaction_keeps_capacity_and_drops_whole_segments(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """Old segments go once the rest holds capacity; a reload sees the newest capacity events."""
    history = EventHistory(tmp_path, capacity=100, segment_size=10, flush_batch=7)
    bus = make_bus(history)
    async with trio.open_nursery() as nursery:
        await nursery.start(history.run_writer)
        published = [bus.publish(C, "start", f"{i:064d}") for i in range(253)]
        await wait_written(history, 253)
        nursery.cancel_scope.cancel()
    stats = history.statistics()
    assert 100 <= stats.on_disk < 110
    assert len(segment_files(tmp_path)) == stats.segments
    lines = sum(len(p.read_text().splitlines()) for p in segment_files(tmp_path))
    assert lines == stats.on_disk
    assert len(history) == 100

    reloaded = EventHistory(tmp_path, capacity=100)
    assert reloaded.load() == 100
    assert reloaded.replay(0, None) == published[-100:]
    assert reloaded.last_seq == 253


async def test_corrupt_lines_and_files_are_skipped(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """A torn last line, a garbage line and an unreadable file are logged, never fatal."""
    good = [Event(C, "start", "c" * 64, {"name": "web"}, T0 + i, i) for i in range(1, 5)]
    lines = [json.dumps(to_record(e)) for e in good]
    (tmp_path / f"{1:020d}.jsonl").write_text(lines[0] + "\n" + "{not json\n" + lines[1] + "\n")
    (tmp_path / f"{3:020d}.jsonl").write_text(lines[2] + "\n" + lines[3] + "\n" + lines[3][:25])
    (tmp_path / f"{9:020d}.jsonl").mkdir()  # unreadable as a file
    (tmp_path / f"{10:020d}.jsonl").write_bytes(b"\xff\xfe\x00garbage\n[1,2]\n")
    (tmp_path / "README").write_text("not a segment")

    history = EventHistory(tmp_path)
    with structlog.testing.capture_logs() as logs:
        assert history.load() == 4
    assert history.replay(0, None) == good
    assert history.statistics().corrupt_lines == 4
    torn = [log for log in logs if log.get("torn")]
    assert len(torn) == 1
    assert any(log["log_level"] == "error" and "unreadable" in log["event"] for log in logs)
    # seq continues past every segment name, even an unreadable one.
    assert history.last_seq == 10 - 1

    # New events go to a new segment, never glued onto the torn line.
    bus = make_bus(history)
    async with trio.open_nursery() as nursery:
        await nursery.start(history.run_writer)
        fresh = bus.publish(C, "die", "c" * 64)
        await wait_written(history, 1)
        nursery.cancel_scope.cancel()
    assert fresh.seq == 10
    reloaded = EventHistory(tmp_path)
    reloaded.load()
    assert reloaded.replay(0, None) == [*good, fresh]


async def test_ten_thousand_events_survive_restart(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """With the default capacity, 12,000 events are all there after a restart."""
    history = EventHistory(tmp_path)
    bus = make_bus(history)
    async with trio.open_nursery() as nursery:
        await nursery.start(history.run_writer)
        published = [bus.publish(C, "start", f"{i:064d}", {"name": f"c{i}"}) for i in range(12_000)]
        await wait_written(history, 12_000)
        nursery.cancel_scope.cancel()
    reloaded = EventHistory(tmp_path)
    assert await trio.to_thread.run_sync(reloaded.load) == 12_000
    assert reloaded.replay(0, None) == published


async def test_write_failure_is_logged_and_the_writer_goes_on(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """A failing disk loses persistence of that batch, not the events in memory or the daemon."""
    directory = tmp_path / "events"
    history = EventHistory(directory)
    bus = make_bus(history)
    directory.write_text("a file where the directory should be")
    async with trio.open_nursery() as nursery:
        await nursery.start(history.run_writer)
        with structlog.testing.capture_logs() as logs:
            bus.publish(C, "start", "c" * 64)
            await wait_written(history, 0)
        assert history.statistics().write_errors == 1
        directory.unlink()
        bus.publish(C, "die", "c" * 64)
        await wait_written(history, 1)
        nursery.cancel_scope.cancel()
    assert any(log["event"] == "event history write failed" for log in logs)
    assert len(history) == 2


async def test_memory_only_history(autojump_clock: trio.testing.MockClock) -> None:
    """directory=None: nothing to load, a writer that idles, a capacity-bounded ring."""
    history = EventHistory(None, capacity=3)
    assert history.load() == 0
    bus = make_bus(history)
    async with trio.open_nursery() as nursery:
        await nursery.start(history.run_writer)
        events = [bus.publish(C, "start", "c" * 64) for _ in range(5)]
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert history.replay(0, None) == events[-3:]
    assert history.statistics().pending == 0


def test_replay_window_and_filter() -> None:
    """since is inclusive, until inclusive; a non-positive until is no bound; filters apply."""
    history = EventHistory(None)
    events = [
        Event(C if i % 2 else EventType.NETWORK, "start", "c" * 64, {}, 100 + i * 10, i)
        for i in range(1, 6)
    ]
    for event in events:
        history.record(event)

    def times(got: list[Event]) -> list[int]:
        return [e.time_nano for e in got]

    assert times(history.replay(None, None)) == [110, 120, 130, 140, 150]
    assert times(history.replay(120, None)) == [120, 130, 140, 150]
    assert times(history.replay(120, 140)) == [120, 130, 140]
    assert times(history.replay(None, 125)) == [110, 120]
    assert times(history.replay(None, 0)) == [110, 120, 130, 140, 150]
    assert times(history.replay(151, None)) == []
    flt = EventFilter.from_dict({"type": ["container"]})
    assert times(history.replay(0, None, flt)) == [110, 130, 150]
