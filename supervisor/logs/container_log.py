"""One container's log: capture (sink), the writer task, and what readers wait on.

Theory of operation:

- ``sink(stream, data)`` is called by the output fan-out on the trio thread
  for every chunk read from the container's pipes. It splits lines, encodes
  them (json-file) and queues the bytes; it never waits, so neither the trio
  thread nor the container is ever held up by the disk. When the queue
  (bounded by bytes, ``max-buffer-size``, 8 MiB by default) is full, lines are
  dropped and counted (``dropped``, shown by inspect) and a marker entry
  records the loss in the log itself.
- ``run_writer`` is the container's writer task (started by the engine in
  its nursery): it wakes when there is data, appends it in a worker thread
  (rotation happens there, compression in another worker thread) and then
  notifies readers. A failed write (disk full) drops the lines, counts them
  and logs a warning; the task never dies of it.
- ``end_run()`` marks the end of a run's output: fragments become partial
  entries and, once that is on disk, followers of that run end (Docker's
  behaviour). Followers with ``follow_restarts`` go on until the container is
  stopped by hand (``stop_following_restarts``) or removed (``close``).
- Readers wait on ``changed`` (a trio.Event replaced after each flush), never poll.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from supervisor._logging import get_logger
from supervisor.logs.files import LogFiles, WriteFn
from supervisor.logs.framing import Batch, LineSplitter
from supervisor.logs.jsonfile import STDERR, STDOUT, encode_attrs, encode_batch
from supervisor.logs.options import (
    NONE,
    JsonFileOptions,
    check_driver,
    effective_options,
    extra_attributes,
    parse_json_file_options,
)
from supervisor.logs.writer import LogQueue

if TYPE_CHECKING:
    from supervisor.engine.model import ContainerRecord

log = get_logger(__name__)


class ContainerLog:
    """The json-file log of one container."""

    def __init__(
        self,
        directory: Path,
        container_id: str,
        options: JsonFileOptions | None = None,
        *,
        attrs: Mapping[str, str] | None = None,
        clock: Callable[[], int] = time.time_ns,
        write: WriteFn = os.write,
    ) -> None:
        self.container_id = container_id
        self.options = options or JsonFileOptions()
        self.path = directory / f"{container_id}-json.log"
        self.files = LogFiles(self.path, self.options, write=write)
        self._clock = clock
        self._attrs = encode_attrs(attrs)
        self._splitters = {STDOUT: LineSplitter(), STDERR: LineSplitter()}
        self._queue = LogQueue(self.options.max_buffer)
        self._wake = trio.Event()
        self._changed = trio.Event()
        self._writer_done = trio.Event()
        self._writer_started = False
        self._closing = False
        self.closed = False
        self.written_seq = 0
        # Run ends and manual stops, by the sequence number they follow.
        self._pending_ends: deque[tuple[int, bool]] = deque()
        self.runs_ended = 0
        self.stops = 0
        self._in_run = False
        self._stop_requested = False
        self._write_failing = False

    # ---------------------------------------------------------------- facts for inspect and readers

    @property
    def dropped(self) -> int:
        """Lines lost so far (queue full or disk full)."""
        return self._queue.dropped

    @property
    def rotations(self) -> int:
        return self.files.rotations

    @property
    def changed(self) -> trio.Event:
        """Set (and replaced) after every flush and at every run end; capture it BEFORE reading."""
        return self._changed

    @property
    def queued_bytes(self) -> int:
        return self._queue.size

    def _notify(self) -> None:
        event, self._changed = self._changed, trio.Event()
        event.set()

    # ---------------------------------------------------------------- capture (trio thread, never blocks)

    def sink(self, stream: int, data: bytes) -> None:
        """The output fan-out's sink: split, encode and queue (drops when the queue is full)."""
        if self.closed or stream not in self._splitters:
            return
        self._in_run = True
        batches = self._splitters[stream].feed(data, self._clock())
        if batches:
            self._enqueue(stream, batches)

    def _enqueue(self, stream: int, batches: list[Batch]) -> None:
        attrs = self._attrs
        if len(batches) == 1:
            b = batches[0]
            encoded = encode_batch(stream, b.time_ns, b.lines, b.complete, attrs)
            lines = len(b.lines)
        else:
            encoded = b"".join(encode_batch(stream, b.time_ns, b.lines, b.complete, attrs) for b in batches)
            lines = sum(len(b.lines) for b in batches)
        reported = self._queue.put(encoded, lines, self._marker)
        if reported > 0:
            self._warn_dropped(reported)
        self._wake.set()

    def _marker(self, count: int) -> bytes:
        text = f"berth: {count} log line{'s' if count != 1 else ''} dropped".encode()
        return encode_batch(STDERR, self._clock(), [text], True, self._attrs)

    def _warn_dropped(self, count: int) -> None:
        log.warning(
            "container log lines dropped",
            container_id=self.container_id,
            lines=count,
            dropped_total=self.dropped,
        )

    def end_run(self) -> None:
        """The run's output has ended: flush fragments; its followers end once this is on disk."""
        for stream, splitter in self._splitters.items():
            batches = splitter.flush()
            if batches:
                self._enqueue(stream, batches)
        reported = self._queue.put_marker(self._marker)
        if reported:
            self._warn_dropped(reported)
        stop = self._stop_requested
        self._stop_requested = False
        self._in_run = False
        self._pending_ends.append((self._queue.seq, stop))
        self._wake.set()
        if not self._writer_started:
            self._settle_ends()

    def stop_following_restarts(self) -> None:
        """The container was stopped by hand: ``follow_restarts`` readers end with this run."""
        if self._in_run:
            self._stop_requested = True
            return
        self.stops += 1
        self._notify()

    # ---------------------------------------------------------------- the writer task

    async def run_writer(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Append queued lines to the file until ``close``; one task per container."""
        self._writer_started = True
        try:
            try:
                if not self.files.is_open:  # the engine opens it with the container's directory
                    await trio.to_thread.run_sync(self.files.open)
            except OSError as exc:
                log.error("cannot open container log", container_id=self.container_id, error=str(exc))
            task_status.started()
            async with trio.open_nursery() as compressors:
                while True:
                    await self._wake.wait()
                    self._wake = trio.Event()
                    await self._flush(compressors)
                    if self._closing and not self._queue.size:
                        break
        finally:
            self._writer_done.set()

    async def _flush(self, compressors: trio.Nursery) -> None:
        taken = self._queue.take()
        if taken.data:
            try:
                compress = await trio.to_thread.run_sync(self.files.write, taken.data)
            except OSError as exc:
                self._queue.count_dropped(taken.lines)
                if not self._write_failing:
                    log.warning(
                        "cannot write container log, dropping lines",
                        container_id=self.container_id,
                        error=str(exc),
                    )
                self._write_failing = True
            else:
                self._write_failing = False
                if compress:
                    compressors.start_soon(self._compress)
        self.written_seq = taken.seq
        self._settle_ends()
        self._notify()

    def _settle_ends(self) -> None:
        seq = self.written_seq if self._writer_started else self._queue.seq
        while self._pending_ends and self._pending_ends[0][0] <= seq:
            _, stop = self._pending_ends.popleft()
            self.runs_ended += 1
            if stop:
                self.stops += 1
        self._notify()

    async def _compress(self) -> None:
        try:
            await trio.to_thread.run_sync(self.files.compress_rotated)
        except OSError as exc:
            log.warning("cannot compress rotated log", container_id=self.container_id, error=str(exc))

    async def close(self) -> None:
        """Flush what is queued, close the file and end every reader (container removed)."""
        if self.closed:
            return
        if self._in_run or any(s.pending for s in self._splitters.values()):
            self.end_run()
        self._closing = True
        self._wake.set()
        if self._writer_started:
            await self._writer_done.wait()
        else:
            taken = self._queue.take()
            if taken.data:
                try:
                    await trio.to_thread.run_sync(self.files.write, taken.data)
                except OSError as exc:
                    self._queue.count_dropped(taken.lines)
                    log.warning("cannot write container log", container_id=self.container_id, error=str(exc))
        # Inline: closing an fd never waits on the disk (the writer is done, so
        # nothing holds the files' lock), and a thread hop would cost more.
        self.files.close()
        self.closed = True
        self._notify()


def open_container_log(
    directory: Path, record: ContainerRecord, daemon_opts: Mapping[str, str] | None = None, **kw: object
) -> ContainerLog | None:
    """The log of a container as its spec and the daemon's ``--log-opt`` say; None for driver ``none``.

    Raises:
        InvalidArgument: an unknown driver or invalid options (Docker's messages).
    """
    spec = record.spec
    driver = check_driver(spec.log_config.type)
    if driver == NONE:
        return None
    opts = effective_options(spec.log_config.config, daemon_opts or {}, driver)
    attrs = extra_attributes(
        opts,
        container_id=record.id,
        name=record.name,
        image=spec.image,
        image_id=spec.image_id,
        labels=spec.labels,
        env=spec.env,
    )
    return ContainerLog(directory, record.id, parse_json_file_options(opts), attrs=attrs, **kw)  # type: ignore[arg-type]
