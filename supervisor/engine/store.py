"""Per-container state on disk: ``<data-root>/containers/<id>/container.json``.

Every write is atomic (temp file, fsync, rename) so a crash leaves either the
old or the new record, never a torn one. Writes are coalesced: ``save_nowait``
records the latest value for a container and wakes the writer task, which
writes in a worker thread. The container lifecycle never waits on the disk,
and a burst of state changes costs one write. ``flush`` waits until every
pending record is on disk (used at shutdown and by tests).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import trio

from supervisor._logging import get_logger
from supervisor.engine.model import ContainerRecord, from_json, to_json

log = get_logger(__name__)

FORMAT_VERSION = 1
RECORD_FILE = "container.json"


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same dir, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)


def encode_record(record: ContainerRecord) -> bytes:
    return json.dumps({"version": FORMAT_VERSION, "record": to_json(record)}).encode()


def decode_record(data: bytes) -> ContainerRecord:
    doc = json.loads(data)
    return from_json(ContainerRecord, doc["record"])


class ContainerStore:
    """Container records under one directory, one subdirectory per container."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._pending: dict[str, ContainerRecord | None] = {}
        self._extra_dirs: dict[str, tuple[Path, ...]] = {}
        self._wakeup = trio.Event()
        self._idle = trio.Event()
        self._idle.set()

    def container_dir(self, container_id: str) -> Path:
        return self.root / container_id

    def load_all(self) -> list[ContainerRecord]:
        """Read every record (sync: call from a worker thread at start).

        A record that cannot be read is logged and skipped, never fatal.
        """
        records = []
        self.root.mkdir(parents=True, exist_ok=True)
        for entry in sorted(self.root.iterdir()):
            path = entry / RECORD_FILE
            try:
                records.append(decode_record(path.read_bytes()))
            except FileNotFoundError:
                continue
            except (ValueError, KeyError, TypeError) as exc:
                log.error("unreadable container record skipped", path=str(path), error=str(exc))
        return records

    def create_dir(self, container_id: str) -> Path:
        path = self.container_dir(container_id)
        path.mkdir(parents=True, mode=0o710)
        return path

    def save_nowait(self, record: ContainerRecord) -> None:
        """Queue the latest record for writing; never blocks."""
        self._pending[record.id] = record
        self._idle = trio.Event() if self._idle.is_set() else self._idle
        self._wakeup.set()

    def forget_nowait(self, container_id: str, *, also: tuple[Path, ...] = ()) -> None:
        """Queue the container's directory (and ``also``) for removal, after any pending write."""
        self._pending[container_id] = None
        self._extra_dirs[container_id] = also
        self._idle = trio.Event() if self._idle.is_set() else self._idle
        self._wakeup.set()

    async def flush(self) -> None:
        """Wait until every queued write has reached the disk."""
        await self._idle.wait()

    def _write_batch(self, batch: dict[str, ContainerRecord | None]) -> None:
        for cid, record in batch.items():
            directory = self.container_dir(cid)
            try:
                if record is None:
                    shutil.rmtree(directory, ignore_errors=True)
                    for extra in self._extra_dirs.pop(cid, ()):
                        shutil.rmtree(extra, ignore_errors=True)
                elif directory.exists():
                    write_atomic(directory / RECORD_FILE, encode_record(record))
            except OSError as exc:
                log.error("container record write failed", container_id=cid, error=str(exc))

    async def run_writer(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The writer task: drains queued records in a worker thread until cancelled."""
        task_status.started()
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup = trio.Event()
                while self._pending:
                    batch, self._pending = self._pending, {}
                    await trio.to_thread.run_sync(self._write_batch, batch)
                self._idle.set()
        finally:
            if self._pending:
                batch, self._pending = self._pending, {}
                self._write_batch(batch)  # last flush on the way out: bounded, sync
            self._idle.set()
