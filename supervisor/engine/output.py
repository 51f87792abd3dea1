"""A container's output, read once and fanned out to whoever listens.

The container's task reads its stdout and stderr pipes; every chunk goes to
the sinks (synchronous, non-blocking: the log writer) and to the attached
subscribers (bounded channels with back-pressure, like Docker's attach: a
client that stops reading eventually stalls the container's output, but a
client that goes away is dropped at once).

A subscription lives across runs: ``docker run`` and ``docker start -a``
attach before the process starts, so a subscriber receives the output of the
current run, or of the next one if none is running, and then the end of the
channel when that run's output has ended.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

import trio

STDIN, STDOUT, STDERR = 0, 1, 2
Chunk = tuple[int, bytes]
Sink = Callable[[int, bytes], None]

READ_SIZE = 64 * 1024


class OutputFanout:
    """Fan-out of one container's stdout/stderr to sinks and subscribers."""

    def __init__(self) -> None:
        self._subscribers: set[trio.MemorySendChannel[Chunk]] = set()
        self._sinks: list[Sink] = []

    def add_sink(self, sink: Sink) -> None:
        """Register a synchronous consumer (must never block)."""
        self._sinks.append(sink)

    def remove_sink(self, sink: Sink) -> None:
        with contextlib.suppress(ValueError):
            self._sinks.remove(sink)

    @contextlib.contextmanager
    def subscribe(self, buffer: int = 64) -> Iterator[trio.MemoryReceiveChannel[Chunk]]:
        """Receive ``(stream, data)`` chunks of the current or next run, then EndOfChannel."""
        send, receive = trio.open_memory_channel[Chunk](buffer)
        self._subscribers.add(send)
        try:
            yield receive
        finally:
            self._subscribers.discard(send)
            send.close()
            receive.close()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    async def _deliver(self, item: Chunk) -> None:
        for send in list(self._subscribers):
            try:
                await send.send(item)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._subscribers.discard(send)

    async def pump(self, fd: int, stream: int) -> None:
        """Read ``fd`` until EOF, delivering every chunk; closes ``fd``."""
        fd_stream = trio.lowlevel.FdStream(fd)
        async with fd_stream:
            while True:
                try:
                    data = await fd_stream.receive_some(READ_SIZE)
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    break
                if not data:
                    break
                for sink in self._sinks:
                    sink(stream, data)
                await self._deliver((stream, data))

    def end_run(self) -> None:
        """End current subscriptions: each drains what it has, then sees EndOfChannel."""
        subscribers = list(self._subscribers)
        self._subscribers.clear()
        for send in subscribers:
            send.close()


def open_pipe() -> tuple[int, int]:
    """A pipe for container stdio: (read end, write end), both close-on-exec.

    The write end is handed to the runtime as fd 1/2 (subprocess dups it
    without CLOEXEC in the child), so CLOEXEC here only keeps other children
    from inheriting it.
    """
    return os.pipe2(os.O_CLOEXEC)
