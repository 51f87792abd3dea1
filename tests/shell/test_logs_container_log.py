"""ContainerLog + reader: capture, tail/since/until, follow by notification, drops, disk full."""

from __future__ import annotations

import errno
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
import trio
import trio.testing
from structlog.testing import capture_logs

from supervisor.logs.container_log import ContainerLog
from supervisor.logs.options import JsonFileOptions
from supervisor.logs.reader import read_logs

T0 = 1_700_000_000_000_000_000


def ticking(step: int = 1_000) -> Callable[[], int]:
    counter = itertools.count()
    return lambda: T0 + next(counter) * step


async def collect(log: ContainerLog, **kw: object) -> list[tuple[int, bytes]]:
    return [(e.stream, e.line) async for e in read_logs(log, **kw)]  # type: ignore[arg-type]


async def settle(log: ContainerLog) -> None:
    """Wait until the writer has written everything queued."""
    while log.queued_bytes or log.written_seq < log._queue.seq:
        await log.changed.wait()


async def test_capture_and_read_back(tmp_path: Path, nursery: trio.Nursery) -> None:
    """Lines of both streams come back in order with partial fragments flushed at end_run."""
    log = ContainerLog(tmp_path, "c1", clock=ticking())
    await nursery.start(log.run_writer)
    log.sink(1, b"one\ntw")
    log.sink(2, b"err\n")
    log.sink(1, b"o\n")
    log.sink(2, b"frag")
    log.end_run()
    await settle(log)
    assert await collect(log) == [(1, b"one\n"), (2, b"err\n"), (1, b"two\n"), (2, b"frag")]
    assert await collect(log, stdout=False) == [(2, b"err\n"), (2, b"frag")]
    assert log.path == tmp_path / "c1-json.log"
    await log.close()


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({}, [b"0", b"1", b"2", b"3", b"4", b"5"]),
        ({"tail": 2}, [b"4", b"5"]),
        ({"tail": 0}, []),
        ({"tail": 100}, [b"0", b"1", b"2", b"3", b"4", b"5"]),
        ({"since_ns": T0 + 3_000}, [b"3", b"4", b"5"]),
        ({"until_ns": T0 + 1_000}, [b"0", b"1"]),
        ({"since_ns": T0 + 1_000, "until_ns": T0 + 3_000}, [b"1", b"2", b"3"]),
        # tail first, then since: the last 4 are 2..5, of which >= since are 4, 5.
        ({"tail": 4, "since_ns": T0 + 4_000}, [b"4", b"5"]),
        ({"tail": 2, "since_ns": T0 + 1_000}, [b"4", b"5"]),
        ({"tail": 3, "stdout": False}, [b"3", b"5"]),
    ],
)
async def test_query_semantics(tmp_path: Path, nursery: trio.Nursery, kw: dict[str, int], expected: list[bytes]) -> None:
    """tail counts stored entries of both streams, then since, then until ends the read."""
    log = ContainerLog(tmp_path, "c2", clock=ticking())
    await nursery.start(log.run_writer)
    for i in range(6):
        log.sink(1 if i % 2 == 0 else 2, b"%d\n" % i)
    log.end_run()
    await settle(log)
    got = [line.rstrip(b"\n") for _, line in await collect(log, **kw)]
    assert got == expected
    await log.close()


async def test_tail_across_rotated_compressed_files(tmp_path: Path, nursery: trio.Nursery) -> None:
    log = ContainerLog(tmp_path, "c3", JsonFileOptions(max_size=300, max_file=4, compress=True), clock=ticking())
    await nursery.start(log.run_writer)
    for i in range(30):
        log.sink(1, b"line %02d\n" % i)
        await settle(log)
    await trio.sleep(0.5)  # let the compression threads finish
    assert any(p.name.endswith(".gz") for p in await trio.Path(tmp_path).iterdir())
    everything = [line for _, line in await collect(log)]
    assert everything == [b"line %02d\n" % i for i in range(30 - len(everything), 30)]
    assert len(everything) >= 8
    assert [line for _, line in await collect(log, tail=7)] == everything[-7:]
    await log.close()


async def test_follow_is_driven_by_writes(tmp_path: Path, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock) -> None:
    """A follower gets history, then each new line, and ends after the run's last output."""
    log = ContainerLog(tmp_path, "c4", clock=ticking())
    await nursery.start(log.run_writer)
    log.sink(1, b"old\n")
    await settle(log)
    got: list[bytes] = []
    done = trio.Event()

    async def follower() -> None:
        async for e in read_logs(log, follow=True):
            got.append(e.line)
        done.set()

    nursery.start_soon(follower)
    await trio.testing.wait_all_tasks_blocked()
    for i in range(3):
        await trio.sleep(10)
        log.sink(1, b"new %d\n" % i)
        await settle(log)
    log.sink(2, b"last")
    log.end_run()
    await done.wait()
    assert got == [b"old\n", b"new 0\n", b"new 1\n", b"new 2\n", b"last"]
    await log.close()


async def test_follow_across_rotation(tmp_path: Path, nursery: trio.Nursery) -> None:
    """Rotation while following: the old file is drained, the new one continues; nothing lost."""
    log = ContainerLog(tmp_path, "c5", JsonFileOptions(max_size=200, max_file=5), clock=ticking())
    await nursery.start(log.run_writer)
    send, receive = trio.open_memory_channel[bytes](100)

    async def follower() -> None:
        async with send:
            async for e in read_logs(log, follow=True):
                await send.send(e.line)

    nursery.start_soon(follower)
    got = []
    with trio.fail_after(10):
        for i in range(12):
            log.sink(1, b"row %02d\n" % i)
            got.append(await receive.receive())  # keep pace: at most one rotation between reads
        log.end_run()
        got += [line async for line in receive]
    assert log.rotations >= 3
    assert got == [b"row %02d\n" % i for i in range(12)]
    await log.close()


async def test_follow_restarts(tmp_path: Path, nursery: trio.Nursery) -> None:
    """-F goes on across run ends and stops after a manual stop's run; plain follow ends at the first."""
    log = ContainerLog(tmp_path, "c6", clock=ticking())
    await nursery.start(log.run_writer)
    log.sink(1, b"run1\n")
    plain: list[bytes] = []
    sticky: list[bytes] = []
    plain_done, sticky_done = trio.Event(), trio.Event()

    async def follow(out: list[bytes], done: trio.Event, restarts: bool) -> None:
        async for e in read_logs(log, follow=True, follow_restarts=restarts):
            out.append(e.line)
        done.set()

    nursery.start_soon(follow, plain, plain_done, False)
    nursery.start_soon(follow, sticky, sticky_done, True)
    await trio.testing.wait_all_tasks_blocked()
    log.end_run()
    with trio.fail_after(5):
        await plain_done.wait()
    log.sink(1, b"run2\n")
    log.stop_following_restarts()
    log.sink(1, b"run2 end\n")
    log.end_run()
    with trio.fail_after(5):
        await sticky_done.wait()
    assert plain == [b"run1\n"]
    assert sticky == [b"run1\n", b"run2\n", b"run2 end\n"]
    await log.close()


async def test_close_ends_followers(tmp_path: Path, nursery: trio.Nursery) -> None:
    log = ContainerLog(tmp_path, "c7", clock=ticking())
    await nursery.start(log.run_writer)
    done = trio.Event()

    async def follower() -> None:
        async for _ in read_logs(log, follow=True, follow_restarts=True):
            pass
        done.set()

    nursery.start_soon(follower)
    await trio.testing.wait_all_tasks_blocked()
    await log.close()
    with trio.fail_after(5):
        await done.wait()


async def test_full_queue_drops_and_marks(tmp_path: Path, nursery: trio.Nursery) -> None:
    """The sink never waits: with the writer behind, lines are dropped, counted and marked."""
    log = ContainerLog(tmp_path, "c8", JsonFileOptions(max_buffer=400), clock=ticking())
    with capture_logs() as logs, trio.testing.assert_no_checkpoints():
        for i in range(20):
            log.sink(1, b"line %d\n" % i)
    assert log.dropped > 0
    dropped = log.dropped
    await nursery.start(log.run_writer)
    await settle(log)
    with capture_logs() as logs:
        log.sink(1, b"after\n")
        await settle(log)
    assert any(e["event"] == "container log lines dropped" and e["lines"] == dropped for e in logs)
    lines = [line for _, line in await collect(log)]
    assert lines[-2:] == [f"berth: {dropped} log lines dropped\n".encode(), b"after\n"]
    assert len(lines) == 20 - dropped + 2
    await log.close()


async def test_disk_full_drops_and_recovers(tmp_path: Path, nursery: trio.Nursery) -> None:
    """ENOSPC: the batch is dropped and counted, the writer survives, a marker follows."""
    import os

    full = True

    def write(fd: int, data: bytes) -> int:
        if full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return os.write(fd, data)

    log = ContainerLog(tmp_path, "c9", clock=ticking(), write=write)
    await nursery.start(log.run_writer)
    with capture_logs() as logs:
        log.sink(1, b"a\nb\n")
        await settle(log)
    assert log.dropped == 2
    assert any("cannot write container log" in e["event"] for e in logs)
    full = False
    log.sink(1, b"c\n")
    await settle(log)
    assert [line for _, line in await collect(log)] == [b"berth: 2 log lines dropped\n", b"c\n"]
    await log.close()
