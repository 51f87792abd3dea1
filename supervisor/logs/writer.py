"""The bounded queue between a container's output and its log file (pure: no trio, no I/O).

Rules:

- The container is never blocked by its log: ``put`` never waits. The queue
  is bounded by bytes; a batch that does not fit is DROPPED and its lines are
  counted.
- A drop is never silent: the next batch that fits is preceded by a marker
  entry (on stderr) saying how many lines were lost, and the owner is told so
  it can warn in the daemon's log. Lines lost to a failed write (disk full)
  are reported the same way.
- Every put gets a sequence number; the writer reports which sequence number
  is on disk, so run ends and followers can be ordered against the data.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

MarkerFn = Callable[[int], bytes]


@dataclass(frozen=True, slots=True)
class Taken:
    """What the writer takes in one go: bytes to append, their line count, the last sequence number."""

    data: bytes
    lines: int
    seq: int


class LogQueue:
    """Encoded log lines waiting for the writer."""

    __slots__ = ("_items", "_lines", "_size", "_unreported", "dropped", "limit", "seq")

    def __init__(self, limit: int) -> None:
        if limit <= 0:
            msg = f"queue limit must be positive, got {limit}"
            raise ValueError(msg)
        self.limit = limit
        self._items: deque[bytes] = deque()
        self._size = 0
        self._lines = 0
        self._unreported = 0
        self.dropped = 0
        self.seq = 0

    @property
    def size(self) -> int:
        """Bytes waiting."""
        return self._size

    @property
    def unreported(self) -> int:
        """Lines dropped since the last marker."""
        return self._unreported

    def put(self, data: bytes, lines: int, marker: MarkerFn) -> int:
        """Queue ``data`` (``lines`` entries) unless it does not fit.

        Args:
            marker: builds the marker entry for N dropped lines.

        Returns:
            0 normally; -1 if the batch was dropped; N > 0 if a marker for N
            earlier dropped lines was queued before the batch (time to warn).
        """
        if self._size + len(data) > self.limit:
            self.count_dropped(lines)
            return -1
        reported = self._put_marker(marker)
        self._append(data, lines)
        return reported

    def put_marker(self, marker: MarkerFn) -> int:
        """Queue the marker for unreported drops if any (end of a run); returns N or 0."""
        return self._put_marker(marker)

    def _put_marker(self, marker: MarkerFn) -> int:
        n = self._unreported
        if not n:
            return 0
        # The marker always fits: it is tiny, and a full queue is drained before it matters.
        self._append(marker(n), 1)
        self._unreported = 0
        return n

    def _append(self, data: bytes, lines: int) -> None:
        if data:
            self._items.append(data)
            self._size += len(data)
            self._lines += lines
        self.seq += 1

    def count_dropped(self, lines: int) -> None:
        """Lines that never reached the file (queue full, or a failed write)."""
        self.dropped += lines
        self._unreported += lines

    def take(self) -> Taken:
        """Everything queued, as one chunk of bytes."""
        data = b"".join(self._items)
        taken = Taken(data, self._lines, self.seq)
        self._items.clear()
        self._size = 0
        self._lines = 0
        return taken
