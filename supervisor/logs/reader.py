"""Reading a container's log: tail, since/until, follow (docker-semantics.md §2.4, §2.7).

Rules:

- Tail first, then since: the last N stored entries are taken (counting
  every entry of both streams, partial parts included), then entries before
  ``since`` are skipped until the first one at or after it (timestamps may go
  backwards), then the stream filter applies. The first entry after ``until``
  ends the read, follow included.
- ``tail`` reads backwards from the end of the newest file in blocks, so its
  cost depends on N, not on the size of the log; older files are visited only
  if the newer ones hold fewer than N entries. Compressed files whose
  ``lastTime`` is before ``since`` are skipped whole.
- Follow continues from where the history ended. It waits for the writer's
  notifications (``ContainerLog.changed``), never polls. The end condition is
  captured before each read, so when it holds, everything it covers has been
  read. On rotation the old file (still open) is drained, then the new one is
  opened; if more than one rotation happened meanwhile, the loss is logged.
- A follow ends when the run it started in has ended (Docker), or with
  ``follow_restarts`` when the container is stopped by hand or removed.

Everything that touches the disk or decodes runs in a worker thread.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass

import trio

from supervisor._logging import get_logger
from supervisor.errors import BerthError
from supervisor.logs.container_log import ContainerLog
from supervisor.logs.files import Snapshot, SnapshotFile, read_all, tail_block
from supervisor.logs.jsonfile import STDERR, STDOUT, LogEntry, Run, _Cache, decode_runs, new_cache

log = get_logger(__name__)

READ_BLOCK = 1024 * 1024


class LogsNotSupported(BerthError):
    """The container's log driver keeps nothing to read (driver ``none``)."""

    http_status = 501


@dataclass(frozen=True, slots=True)
class LogQuery:
    """What a client asked for (times in unix ns; None = not given; tail None = all)."""

    stdout: bool = True
    stderr: bool = True
    since_ns: int | None = None
    until_ns: int | None = None
    tail: int | None = None
    follow: bool = False
    follow_restarts: bool = False


class _Filter:
    """until, since (switched off by the first entry at or after it), then the streams."""

    __slots__ = ("done", "since", "since_active", "streams", "until")

    def __init__(self, q: LogQuery) -> None:
        self.streams = {STDOUT: q.stdout, STDERR: q.stderr}
        self.since = q.since_ns
        self.until = q.until_ns
        self.since_active = q.since_ns is not None
        self.done = False

    def apply(self, runs: list[Run]) -> list[Run]:
        out: list[Run] = []
        for run in runs:
            if self.until is not None and run.time_ns > self.until:
                self.done = True
                break
            if self.since_active:
                if run.time_ns < self.since:  # type: ignore[operator]
                    continue
                self.since_active = False
            if self.streams.get(run.stream, False):
                out.append(run)
        return out


def _decode_range(fd: int, start: int, stop: int, rest: bytes, cache: _Cache) -> tuple[list[Run], int, bytes]:
    """Read [start, stop) of fd (or to EOF when stop < 0) and decode its whole lines."""
    chunks = [rest] if rest else []
    pos = start
    while stop < 0 or pos < stop:
        want = READ_BLOCK if stop < 0 else min(READ_BLOCK, stop - pos)
        chunk = os.pread(fd, want, pos)
        if not chunk:
            break
        chunks.append(chunk)
        pos += len(chunk)
        if stop < 0 and sum(map(len, chunks)) >= READ_BLOCK:
            break
    data = b"".join(chunks)
    cut = data.rfind(b"\n") + 1
    runs, _ = decode_runs(data[:cut], cache)
    return runs, pos, data[cut:]


def _tail_runs(snap: Snapshot, count: int) -> list[Run]:
    blocks: list[bytes] = []
    need = count
    for f in reversed(snap.files):
        data, got = tail_block(f, need)
        blocks.append(data)
        need -= got
        if need <= 0:
            break
    runs, _ = decode_runs(b"".join(reversed(blocks)), new_cache())
    return runs


def _decode_whole(f: SnapshotFile) -> list[Run]:
    runs, _ = decode_runs(read_all(f), new_cache())
    return runs


async def read_log_runs(log_: ContainerLog, q: LogQuery) -> AsyncGenerator[list[Run], None]:
    """The entries ``q`` selects, in file order, as lists of runs (the fast form for the API)."""
    flt = _Filter(q)
    ends0 = log_.runs_ended
    stops0 = log_.stops
    snap = await trio.to_thread.run_sync(log_.files.snapshot)
    follow_fd = -1
    follow_pos = 0
    try:
        current = snap.files[-1] if snap.files and snap.files[-1].path == log_.path else None
        if q.tail is not None and q.tail >= 0:
            runs = await trio.to_thread.run_sync(_tail_runs, snap, q.tail) if q.tail else []
            out = flt.apply(runs)
            if out:
                yield out
        else:
            for f in snap.files:
                if flt.done:
                    break
                if f.compressed:
                    if flt.since_active and f.last_time_ns is not None and f.last_time_ns < flt.since:  # type: ignore[operator]
                        continue
                    out = flt.apply(await trio.to_thread.run_sync(_decode_whole, f))
                    if out:
                        yield out
                    continue
                pos, rest, cache = 0, b"", new_cache()
                while pos < f.size and not flt.done:
                    runs, pos, rest = await trio.to_thread.run_sync(
                        _decode_range, f.fd, pos, min(pos + READ_BLOCK, f.size), rest, cache
                    )
                    out = flt.apply(runs)
                    if out:
                        yield out
        if flt.done or not q.follow:
            return
        if current is not None:
            follow_fd = os.dup(current.fd)
            follow_pos = current.size
    finally:
        snap.close()
    async with contextlib.aclosing(
        _follow(log_, q, flt, follow_fd, follow_pos, snap.rotations, ends0, stops0)
    ) as runs_iter:
        async for runs in runs_iter:
            yield runs


async def _follow(
    log_: ContainerLog, q: LogQuery, flt: _Filter, fd: int, pos: int, rotation: int, ends0: int, stops0: int
) -> AsyncGenerator[list[Run], None]:
    rest = b""
    cache = new_cache()
    try:
        if fd < 0:
            fd, rotation = await trio.to_thread.run_sync(log_.files.open_current)
            pos = 0
        while True:
            changed = log_.changed
            if q.follow_restarts:
                finished = log_.stops > stops0 or log_.closed
            else:
                finished = log_.runs_ended > ends0 or log_.closed
            rotations = log_.rotations
            while True:
                runs, pos, rest = await trio.to_thread.run_sync(_decode_range, fd, pos, -1, rest, cache)
                out = flt.apply(runs)
                if out:
                    yield out
                if flt.done:
                    return
                if not runs:
                    break
            if rotations != rotation:
                if rotations - rotation > 1:
                    log.warning(
                        "file rotations were missed while following logs; some log messages have been skipped over",
                        container_id=log_.container_id,
                    )
                os.close(fd)
                fd = -1
                fd, rotation = await trio.to_thread.run_sync(log_.files.open_current)
                pos, rest = 0, b""
                continue
            if finished:
                return
            with trio.move_on_after(_until_wait(q.until_ns)):
                await changed.wait()
            if q.until_ns is not None and time.time_ns() > q.until_ns:
                return
    finally:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


def _until_wait(until_ns: int | None) -> float:
    if until_ns is None:
        return math.inf
    return max(0.0, (until_ns - time.time_ns()) / 1e9)


async def read_logs(
    log_: ContainerLog,
    *,
    stdout: bool = True,
    stderr: bool = True,
    since_ns: int | None = None,
    until_ns: int | None = None,
    tail: int | None = None,
    follow: bool = False,
    follow_restarts: bool = False,
) -> AsyncGenerator[LogEntry, None]:
    """The selected entries one by one (see the module rules)."""
    q = LogQuery(stdout, stderr, since_ns, until_ns, tail, follow or follow_restarts, follow_restarts)
    async with contextlib.aclosing(read_log_runs(log_, q)) as batches:
        async for runs in batches:
            for run in runs:
                for entry in run.entries():
                    yield entry
