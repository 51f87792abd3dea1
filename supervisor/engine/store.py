"""Per-container state on disk: ``<data-root>/containers/<id>/container.json``.

Every write is atomic (temp file, fsync, rename) so a crash leaves either the
old or the new record, never a torn one. Writes are coalesced: ``save_nowait``
records the latest value for a container and wakes the writer task, which
writes in a worker thread at low priority (``supervisor.background``). The
container lifecycle never waits on the disk, and a burst of state changes
costs one write. The writer first waits for the engine's lull, at most
``MAX_WRITE_DELAY`` (50 ms): a start or an exit in progress would share the
disk and the CPU with it, and a short-lived container's records (created,
running, exited, removed) then usually come to one rename and no write.
So a record reaches the disk within 50 ms plus the write; a container
created moments before a crash can be lost, and the next daemon start drops
what it left (``orphan_ids``). ``flush`` waits until every pending record is
on disk (used at shutdown and by tests).

A removed container's directory is renamed into ``.removed/`` (one syscall,
so a restart never finds the record again) and deleted there by the reaper
task while the engine is quiet (``supervisor.activity``): deleting a
directory tree is a few milliseconds of Python and syscalls that would
otherwise delay the next start or the answer to ``wait``. A daemon start
deletes whatever a previous daemon left in ``.removed/``.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections import deque
from pathlib import Path

import trio

from supervisor import background
from supervisor._logging import get_logger
from supervisor.activity import Activity
from supervisor.engine.model import ContainerRecord, from_json, to_json

log = get_logger(__name__)

FORMAT_VERSION = 1
RECORD_FILE = "container.json"
DIR_MODE = 0o710  # a container's directory
TRASH = ".removed"  # under the store's root: removed containers' directories, awaiting deletion
MAX_WRITE_DELAY = 0.05  # seconds a queued record waits at most for the engine's lull


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

    def __init__(self, root: Path, *, activity: Activity | None = None) -> None:
        self.root = root
        self.activity = activity or Activity()
        self._pending: dict[str, ContainerRecord | None] = {}
        self._extra_dirs: dict[str, tuple[Path, ...]] = {}
        self._wakeup = trio.Event()
        self._idle = trio.Event()
        self._idle.set()
        self._trash: deque[Path] = deque()
        self._trash_added = trio.Event()

    def container_dir(self, container_id: str) -> Path:
        return self.root / container_id

    def load_all(self) -> list[ContainerRecord]:
        """Read every record (sync: call from a worker thread at start).

        A record that cannot be read is logged and skipped, never fatal.
        """
        records = []
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.root / TRASH, ignore_errors=True)  # what a previous daemon left
        for entry in sorted(self.root.iterdir()):
            path = entry / RECORD_FILE
            try:
                records.append(decode_record(path.read_bytes()))
            except FileNotFoundError:
                continue
            except (ValueError, KeyError, TypeError) as exc:
                log.error("unreadable container record skipped", path=str(path), error=str(exc))
        return records

    def orphan_ids(self) -> list[str]:
        """Containers with a directory but no record (sync: a worker thread at start).

        A create answered moments before a crash: its record was still waiting
        for a lull (``MAX_WRITE_DELAY``). The daemon drops what such a container left.
        """
        return sorted(
            e.name for e in self.root.iterdir()
            if not e.name.startswith(".") and e.is_dir() and not (e / RECORD_FILE).exists()
        )

    def create_dir(self, container_id: str) -> Path:
        path = self.container_dir(container_id)
        path.mkdir(parents=True, mode=DIR_MODE)
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

    def _write_batch(self, batch: dict[str, ContainerRecord | None]) -> list[Path]:
        """Write or remove (worker thread); returns the directories now in the trash."""
        trashed = []
        for cid, record in batch.items():
            directory = self.container_dir(cid)
            try:
                if record is None:
                    for extra in self._extra_dirs.pop(cid, ()):
                        shutil.rmtree(extra, ignore_errors=True)
                    moved = self._to_trash(directory)
                    if moved is not None:
                        trashed.append(moved)
                elif directory.exists():
                    write_atomic(directory / RECORD_FILE, encode_record(record))
            except OSError as exc:
                log.error("container record write failed", container_id=cid, error=str(exc))
        return trashed

    def _to_trash(self, directory: Path) -> Path | None:
        """Rename ``directory`` into the trash; delete it at once if it cannot be moved."""
        trash = self.root / TRASH
        target = trash / directory.name
        try:
            trash.mkdir(mode=0o700, exist_ok=True)
            os.rename(directory, target)
        except FileNotFoundError:
            return None
        except OSError:
            shutil.rmtree(directory, ignore_errors=True)
            return None
        return target

    async def run_writer(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The writer task: drains queued records in a worker thread until cancelled."""
        task_status.started()
        try:
            while True:
                await self._wakeup.wait()
                # A lull first (bounded): a start or an exit in progress would share the
                # GIL and the disk with the write, and a short-lived container's states
                # (running, exited, removed) often coalesce into one write, or none.
                with trio.move_on_after(MAX_WRITE_DELAY):
                    await self.activity.wait_quiet()
                self._wakeup = trio.Event()
                while self._pending:
                    batch, self._pending = self._pending, {}
                    trashed = await background.run_sync(self._write_batch, batch)
                    if trashed:
                        self._trash.extend(trashed)
                        self._trash_added.set()
                self._idle.set()
        finally:
            if self._pending:
                batch, self._pending = self._pending, {}
                self._write_batch(batch)  # last flush on the way out: bounded, sync
            self._idle.set()

    async def run_reaper(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Delete the trashed directories, one at a time, each in a lull of the engine."""
        task_status.started()
        while True:
            await self._trash_added.wait()
            self._trash_added = trio.Event()
            while self._trash:
                await self.activity.wait_quiet()
                path = self._trash.popleft()
                await background.run_sync(shutil.rmtree, path, True)

    @property
    def trash_pending(self) -> int:
        """Removed directories not deleted yet."""
        return len(self._trash)
