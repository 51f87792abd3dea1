"""Line framing of a container's output: bytes as they come off a pipe → log entries.

Rules (Docker's copier, docker-semantics.md §2.1, made independent of how the
bytes were chunked):

- Lines end at ``\\n`` only (``\\r`` is ordinary data). A complete line is an
  entry whose content is stored with its ``\\n``.
- A line longer than ``MAX_LINE`` (16 KiB) of content is stored as several
  entries: every part but the last carries exactly ``MAX_LINE`` bytes and no
  ``\\n`` (a *partial* entry); the last carries the rest and the ``\\n``. All
  parts share the timestamp of the first byte of the line.
- At the end of a run, a dangling fragment becomes a partial entry.

A part is cut only once more than ``MAX_LINE`` bytes of one line are known, so
any chunking of the same bytes gives the same entries (property-tested).
Pure: the time of a chunk is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_LINE = 16 * 1024


@dataclass(frozen=True, slots=True)
class Batch:
    """Entries of one stream that share a timestamp.

    ``lines`` hold the content WITHOUT the newline. If ``complete`` every line
    ended with ``\\n``; otherwise the batch is a single partial entry.
    """

    time_ns: int
    lines: list[bytes]
    complete: bool

    def entries(self) -> list[bytes]:
        """The stored contents, with ``\\n`` where the line had one."""
        if self.complete:
            return [line + b"\n" for line in self.lines]
        return list(self.lines)


class LineSplitter:
    """Incremental splitter for ONE stream (stdout and stderr each have their own)."""

    __slots__ = ("_pending", "_pending_ns", "max_line")

    def __init__(self, max_line: int = MAX_LINE) -> None:
        if max_line < 1:
            msg = f"max_line must be positive, got {max_line}"
            raise ValueError(msg)
        self.max_line = max_line
        self._pending = b""
        self._pending_ns = 0

    @property
    def pending(self) -> int:
        """Bytes of an unfinished line held back (at most ``max_line``)."""
        return len(self._pending)

    def feed(self, data: bytes, now_ns: int) -> list[Batch]:
        """Split ``data`` (read at ``now_ns``) and return the entries it completes."""
        out: list[Batch] = []
        if not data:
            return out
        limit = self.max_line
        if self._pending:
            nl = data.find(b"\n")
            if nl < 0:
                self._pending += data
                self._cut_partials(out)
                return out
            self._emit_long(self._pending + data[:nl], self._pending_ns, out)
            self._pending = b""
            data = data[nl + 1 :]
        lines = data.split(b"\n")
        rest = lines.pop()
        if lines:
            if max(map(len, lines)) <= limit:
                out.append(Batch(now_ns, lines, True))
            else:
                short: list[bytes] = []
                for line in lines:
                    if len(line) <= limit:
                        short.append(line)
                        continue
                    if short:
                        out.append(Batch(now_ns, short, True))
                        short = []
                    self._emit_long(line, now_ns, out)
                if short:
                    out.append(Batch(now_ns, short, True))
        if rest:
            self._pending = rest
            self._pending_ns = now_ns
            self._cut_partials(out)
        return out

    def flush(self) -> list[Batch]:
        """End of the stream: the dangling fragment (if any) as a partial entry."""
        if not self._pending:
            return []
        batch = Batch(self._pending_ns, [self._pending], False)
        self._pending = b""
        return [batch]

    def _cut_partials(self, out: list[Batch]) -> None:
        limit = self.max_line
        pending = self._pending
        if len(pending) <= limit:
            return
        start = 0
        while len(pending) - start > limit:
            out.append(Batch(self._pending_ns, [pending[start : start + limit]], False))
            start += limit
        self._pending = pending[start:]

    def _emit_long(self, line: bytes, time_ns: int, out: list[Batch]) -> None:
        """A complete line of any length: partial parts, then the last part with its newline."""
        limit = self.max_line
        start = 0
        while len(line) - start > limit:
            out.append(Batch(time_ns, [line[start : start + limit]], False))
            start += limit
        out.append(Batch(time_ns, [line[start:]], True))
