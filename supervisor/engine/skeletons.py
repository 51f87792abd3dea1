"""Container directories made ahead of need: a create renames one into place.

A new container needs five directories: its own (the record, the log, the
/etc files), the overlay's upper and work dirs, the rootfs mount point, and
its bundle under the exec root. On an ext4 root like this machine's a
``mkdir`` costs about 0.3 ms (a new file or a rename about 0.02 ms), so making
them was 1.5 ms of every create's answer. The pool keeps ``size`` skeletons
ready (``<containers>/.skel-<token>/{diff,work,rootfs}`` and
``<bundles>/.skel-<token>``), made one at a time in the engine's lulls at low
priority (``supervisor.background``); a create takes one and installs it with
two renames, or makes the directories itself when the pool is empty.

Names starting with a dot are never container ids: the store and recovery
skip them. A daemon start deletes the skeletons a previous daemon left.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import trio

from supervisor import background
from supervisor._logging import get_logger
from supervisor.activity import Activity
from supervisor.engine.paths import RUN_SUBDIRS
from supervisor.engine.store import DIR_MODE

log = get_logger(__name__)

PREFIX = ".skel-"


@dataclass(frozen=True, slots=True)
class Skeleton:
    """A container directory (with its subdirectories) and a bundle directory, not yet anyone's."""

    container_dir: Path
    bundle_dir: Path

    def install(self, container_dir: Path, bundle_dir: Path) -> bool:
        """Rename both into place (worker thread); False if that failed (the caller makes its own)."""
        try:
            os.rename(self.container_dir, container_dir)
        except OSError as exc:
            log.warning("container directory skeleton not used", path=str(self.container_dir), error=str(exc))
            self.discard()
            return False
        try:
            os.rename(self.bundle_dir, bundle_dir)
        except OSError:
            shutil.rmtree(self.bundle_dir, ignore_errors=True)
            with contextlib.suppress(OSError):  # else the start makes it
                os.mkdir(bundle_dir)
        return True

    def discard(self) -> None:
        """Delete what is left of it (blocking: a worker thread)."""
        for path in (self.container_dir, self.bundle_dir):
            shutil.rmtree(path, ignore_errors=True)


def make_skeleton(containers: Path, bundles: Path) -> Skeleton:
    """Make one skeleton (blocking: a worker thread)."""
    token = secrets.token_hex(8)
    s = Skeleton(containers / f"{PREFIX}{token}", bundles / f"{PREFIX}{token}")
    try:
        os.mkdir(s.container_dir, DIR_MODE)
        for name in RUN_SUBDIRS:
            os.mkdir(s.container_dir / name)  # the default mode: the upper dir's is the container's /
        os.mkdir(s.bundle_dir)
    except BaseException:
        s.discard()
        raise
    return s


def _discard_all(skeletons: list[Skeleton]) -> None:
    for s in skeletons:
        s.discard()


def delete_leftovers(*parents: Path) -> None:
    """Delete skeletons a previous daemon left (blocking: a worker thread)."""
    for parent in parents:
        if not parent.is_dir():
            continue
        for entry in parent.iterdir():
            if entry.name.startswith(PREFIX):
                shutil.rmtree(entry, ignore_errors=True)


class SkeletonPool:
    """Keeps up to ``size`` skeletons ready; ``run`` is its task."""

    def __init__(self, containers: Path, bundles: Path, *, size: int = 2, activity: Activity | None = None) -> None:
        self.containers = containers
        self.bundles = bundles
        self.size = max(0, size)
        self.activity = activity or Activity()
        self._ready: deque[Skeleton] = deque()
        self._wanted = trio.Event()

    def __len__(self) -> int:
        return len(self._ready)

    def take_nowait(self) -> Skeleton | None:
        """A ready skeleton, or None; the pool makes the next one in a lull."""
        self._wanted.set()
        return self._ready.popleft() if self._ready else None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Delete a previous daemon's leftovers, then fill the pool and refill it after takes.

        A skeleton that cannot be made (a full disk) is tried again after the
        next take; creates make their own directories meanwhile. The ready
        ones are deleted when the task is cancelled (daemon stop).
        """
        await background.run_sync(delete_leftovers, self.containers, self.bundles)
        task_status.started()
        try:
            while True:
                while len(self._ready) < self.size:
                    await self.activity.wait_quiet()
                    try:
                        skeleton = await background.run_sync(make_skeleton, self.containers, self.bundles)
                    except OSError as exc:
                        log.warning("container directory skeleton not made", error=str(exc))
                        break
                    self._ready.append(skeleton)
                await self._wanted.wait()
                self._wanted = trio.Event()
        finally:
            left, self._ready = list(self._ready), deque()
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(_discard_all, left)
