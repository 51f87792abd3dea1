"""The event history: an in-memory ring, persisted so replay survives a restart.

Theory of operation:

* Docker keeps the last 256 events in memory and loses them on restart; we
  keep ``capacity`` (default 100,000) and write them to ``<data-root>/events``
  so ``docker events --since 1h`` still works after the daemon restarts.
* :meth:`EventHistory.record` is synchronous and cheap: it appends to a
  ``deque(maxlen=capacity)`` and to a pending list. It is called by
  ``EventBus.publish`` and must never block or await.
* :meth:`EventHistory.run_writer` is the one task that touches the disk. It
  wakes when something is pending, waits up to ``flush_interval`` (or until
  ``flush_batch`` events are pending) to batch, and appends the batch in a
  worker thread. On cancellation it flushes what is left inside a shielded
  scope with a bounded deadline.
* On disk: JSON-lines segment files named ``<first seq, 20 digits>.jsonl``.
  Each writer run starts a new segment, so a torn last line left by a crash is
  never glued to a fresh record. A segment is closed once it holds
  ``segment_size`` events. Compaction drops whole oldest segments as long as
  what remains still holds at least ``capacity`` events.
* :meth:`load` (sync: call it in a thread at startup, before the bus is
  created) reads the segments oldest first. A line that does not parse (torn
  write, disk corruption) is logged and skipped; an unreadable file is logged
  and skipped. Loading never crashes the daemon.
* ``directory=None`` gives a memory-only history (what the bus uses when none
  is passed); ``run_writer`` then has nothing to do.
"""

from __future__ import annotations

import collections
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import trio

from supervisor import background
from supervisor._logging import get_logger
from supervisor.errors import BerthError
from supervisor.events.filters import EventFilter
from supervisor.events.model import Event, from_record, to_record

__all__ = ["EventHistory", "HistoryStatistics", "select_events"]

_log = get_logger("supervisor.events.history")

_SEGMENT_RE = re.compile(r"^(\d{20})\.jsonl$")
_FINAL_FLUSH_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class HistoryStatistics:
    """Counters for /debug and tests."""

    in_memory: int
    on_disk: int
    segments: int
    pending: int
    written: int
    write_errors: int
    corrupt_lines: int


@dataclass(slots=True)
class _Segment:
    path: Path
    first_seq: int
    count: int


def select_events(
    events: Sequence[Event] | collections.deque[Event],
    since_ns: int | None,
    until_ns: int | None,
    filter: EventFilter | None = None,
) -> list[Event]:
    """Pick the events of a time-ordered sequence in ``[since, until]`` that pass ``filter``.

    Docker's rules (daemon/events/events.go ``loadBufferedEvents``): the scan
    runs from the newest event back and stops at the first one older than
    ``since``; an ``until`` of None or <= 0 sets no upper bound. Returns oldest first.
    """
    since = since_ns if since_ns is not None else -math.inf
    until = until_ns if until_ns is not None and until_ns > 0 else math.inf
    picked: list[Event] = []
    for event in reversed(events):
        if event.time_nano < since:
            break
        if event.time_nano > until:
            continue
        if filter is None or filter.matches(event):
            picked.append(event)
    picked.reverse()
    return picked


class EventHistory:
    """A bounded, optionally persisted history of published events.

    Args:
        directory: where the segments live (the daemon passes
            ``<data-root>/events``); None keeps the history in memory only.
        capacity: how many events to keep (in memory, and at least this many on disk).
        segment_size: events per segment file; default ``capacity // 10``.
        flush_interval: seconds the writer waits to batch events.
        flush_batch: a pending count that makes the writer flush at once.
    """

    def __init__(
        self,
        directory: Path | str | None,
        *,
        capacity: int = 100_000,
        segment_size: int | None = None,
        flush_interval: float = 0.1,
        flush_batch: int = 1000,
    ) -> None:
        if capacity < 1:
            msg = f"history capacity must be at least 1, got {capacity}"
            raise ValueError(msg)
        self.directory = Path(directory) if directory is not None else None
        self.capacity = capacity
        self.segment_size = max(1, segment_size if segment_size is not None else capacity // 10)
        self.flush_interval = flush_interval
        self.flush_batch = max(1, flush_batch)
        self._ring: collections.deque[Event] = collections.deque(maxlen=capacity)
        self._pending: list[Event] = []
        # ParkingLots, not trio.Events: nothing to reset, so a flush() from
        # another task can never leave the writer waiting on a stale object.
        self._pending_lot = trio.lowlevel.ParkingLot()
        self._batch_lot = trio.lowlevel.ParkingLot()
        self._write_lock = trio.Lock()
        self._flushed_lot = trio.lowlevel.ParkingLot()
        self._flushed_seq = 0
        # Touched only by load() (before the writer runs) and by the writer thread.
        self._segments: list[_Segment] = []
        self._current: _Segment | None = None
        self._last_seq = 0
        self._written = 0
        self._write_errors = 0
        self._corrupt_lines = 0

    # ---- the synchronous side (trio thread) ----------------------------------

    @property
    def last_seq(self) -> int:
        """The highest seq recorded or loaded (0 if none): the bus continues after it."""
        return self._last_seq

    def record(self, event: Event) -> None:
        """Append ``event``; never blocks, never awaits (called from ``publish``)."""
        self._ring.append(event)
        self._last_seq = max(self._last_seq, event.seq)
        if self.directory is None:
            return
        self._pending.append(event)
        if len(self._pending) == 1:
            self._pending_lot.unpark_all()
        if len(self._pending) >= self.flush_batch:
            self._batch_lot.unpark_all()

    def replay(
        self, since_ns: int | None, until_ns: int | None, filter: EventFilter | None = None
    ) -> list[Event]:
        """Return the recorded events in ``[since, until]`` that pass ``filter``, oldest first.

        See :func:`select_events` for the rules. Scans in the calling thread;
        for a large history prefer ``select_events(history.snapshot(), ...)``
        in a worker thread (what ``open_event_stream`` does).
        """
        return select_events(self._ring, since_ns, until_ns, filter)

    def snapshot(self) -> list[Event]:
        """Return the recorded events, oldest first, as a list safe to scan in another thread."""
        return list(self._ring)

    def __len__(self) -> int:
        return len(self._ring)

    def statistics(self) -> HistoryStatistics:
        """Return the current counters."""
        return HistoryStatistics(
            in_memory=len(self._ring),
            on_disk=sum(segment.count for segment in self._segments),
            segments=len(self._segments),
            pending=len(self._pending),
            written=self._written,
            write_errors=self._write_errors,
            corrupt_lines=self._corrupt_lines,
        )

    # ---- loading (sync, in a thread at startup) ------------------------------

    def load(self) -> int:
        """Read the segments from disk into the ring; return how many events were loaded.

        Never raises for bad data: corrupt lines and unreadable files are
        logged and skipped.
        """
        if self.directory is None:
            return 0
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            names = sorted(os.listdir(self.directory))
        except OSError as exc:
            _log.error(
                "event history directory unusable", directory=str(self.directory), error=str(exc)
            )
            return 0
        loaded = 0
        self._segments = []
        for name in names:
            match = _SEGMENT_RE.match(name)
            if match is None:
                continue
            path = self.directory / name
            first_seq = int(match.group(1))
            self._last_seq = max(self._last_seq, first_seq - 1)
            count = 0
            for event in self._read_segment(path):
                self._ring.append(event)
                self._last_seq = max(self._last_seq, event.seq)
                count += 1
            self._segments.append(_Segment(path, first_seq, count))
            loaded += count
        self._flushed_seq = self._last_seq
        _log.info(
            "event history loaded",
            directory=str(self.directory),
            events=loaded,
            segments=len(self._segments),
            last_seq=self._last_seq,
        )
        return len(self._ring)

    def _read_segment(self, path: Path) -> Iterable[Event]:
        try:
            with path.open("rb") as file:
                data = file.read()
        except OSError as exc:
            _log.error("event history segment unreadable", path=str(path), error=str(exc))
            return
        lines = data.split(b"\n")
        for lineno, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                event = from_record(json.loads(line))
            except (ValueError, BerthError, RecursionError) as exc:
                self._corrupt_lines += 1
                torn = lineno == len(lines)  # no newline after it: a write cut short
                _log.warning(
                    "skipping corrupt event history line",
                    path=str(path),
                    line=lineno,
                    torn=torn,
                    error=str(exc),
                )
                continue
            yield event

    # ---- the writer task -----------------------------------------------------

    async def run_writer(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Flush recorded events to disk in batches until cancelled, then flush the rest.

        Start it with ``await nursery.start(history.run_writer)``.
        """
        task_status.started()
        if self.directory is None:
            await trio.sleep_forever()
        try:
            while True:
                if not self._pending:
                    await self._pending_lot.park()
                if len(self._pending) < self.flush_batch:
                    with trio.move_on_after(self.flush_interval):
                        await self._batch_lot.park()
                await self.flush()
        finally:
            with trio.CancelScope(shield=True) as scope:
                scope.deadline = trio.current_time() + _FINAL_FLUSH_TIMEOUT
                while self._pending and not scope.cancel_called:
                    await self.flush()
            if self._pending:
                _log.error("event history not fully flushed at shutdown", lost=len(self._pending))

    async def flush(self) -> None:
        """Write every pending event now (in a worker thread)."""
        if self.directory is None:
            return
        # One batch at a time, in seq order: the segment bookkeeping is not shared.
        async with self._write_lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, []
            await background.run_sync(self._write_batch, batch)
            self._flushed_seq = max(self._flushed_seq, batch[-1].seq)
            self._flushed_lot.unpark_all()

    async def wait_flushed(self, seq: int | None = None) -> None:
        """Wait until the writer has handled every event up to ``seq`` (default: all so far).

        "Handled" means written, or failed and logged. Returns at once for a
        memory-only history.
        """
        target = self._last_seq if seq is None else seq
        await trio.lowlevel.checkpoint()
        while self.directory is not None and self._flushed_seq < target:
            await self._flushed_lot.park()

    def _write_batch(self, batch: list[Event]) -> None:
        """Append ``batch`` to the segments, rolling and compacting (worker thread)."""
        assert self.directory is not None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            start = 0
            while start < len(batch):
                segment = self._current
                if segment is None or segment.count >= self.segment_size:
                    segment = self._open_segment(batch[start].seq)
                room = self.segment_size - segment.count
                chunk = batch[start : start + room]
                payload = "".join(
                    json.dumps(to_record(event), separators=(",", ":")) + "\n" for event in chunk
                )
                with segment.path.open("a", encoding="utf-8") as file:
                    file.write(payload)
                segment.count += len(chunk)
                self._written += len(chunk)
                start += len(chunk)
            self._compact()
        except OSError as exc:
            # The events stay in memory; only their persistence is lost. Start a
            # fresh segment next time rather than appending after a partial write.
            self._write_errors += 1
            self._current = None
            _log.error(
                "event history write failed",
                directory=str(self.directory),
                events=len(batch),
                error=str(exc),
            )

    def _open_segment(self, first_seq: int) -> _Segment:
        assert self.directory is not None
        path = self.directory / f"{first_seq:020d}.jsonl"
        # A name can exist already only if seqs were reused after total data loss;
        # then move past it rather than interleave two runs in one file.
        taken = {segment.path for segment in self._segments}
        while path in taken or path.exists():
            first_seq += 1
            path = self.directory / f"{first_seq:020d}.jsonl"
        segment = _Segment(path, first_seq, 0)
        self._segments.append(segment)
        self._current = segment
        return segment

    def _compact(self) -> None:
        total = sum(segment.count for segment in self._segments)
        while len(self._segments) > 1 and total - self._segments[0].count >= self.capacity:
            oldest = self._segments.pop(0)
            total -= oldest.count
            try:
                oldest.path.unlink()
            except FileNotFoundError:
                pass
