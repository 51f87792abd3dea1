"""A new container's rootfs is mounted right after create, while its client sends the start.

``docker run`` is four requests: create, attach, wait, start. Between the
create's answer and the start the daemon waits a few milliseconds on the
client; mounting the overlay then takes the mount (about 1 ms of kernel work
and a worker-thread hop) off the start's critical path. The start finds the
rootfs mounted and only writes the bundle.

Rules, so that the mount never outlives its use:

- It runs under the container's lock: a start (or a removal) that comes
  first finds nothing mounted and does as before; one that comes while it
  mounts waits for it.
- A start takes it (``take_early_mount``). Not taken within ``EARLY_TTL``
  (``docker create`` with no start soon after), it is unmounted again; a
  removal unmounts it as any rootfs; a daemon stop unmounts it on the way out.
- Containers whose volumes are filled from the image (copy-up) are mounted at
  start as before: their mount points are resolved against the mounted rootfs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from supervisor._logging import get_logger
from supervisor.activity import Activity
from supervisor.engine.cgroups import parse_mountinfo
from supervisor.engine.container import Container
from supervisor.engine.model import Status
from supervisor.errors import BerthError

if TYPE_CHECKING:
    from supervisor.engine.paths import EnginePaths

log = get_logger(__name__)


def _mounted(targets: list[Path]) -> list[Path]:
    """Those of ``targets`` that are mount points in this mount namespace (worker thread)."""
    with open("/proc/self/mountinfo") as f:
        points = {m.mountpoint for m in parse_mountinfo(f.read())}
    return [t for t in targets if os.path.realpath(t) in points]

EARLY_TTL = 10.0  # seconds an early mount waits for its start before it is given back
EARLY_DELAY = 0.001  # seconds after create before mounting (a start already under way goes first)


class EarlyMountMixin:
    """Mount created containers' rootfs ahead of their start; mixed into ``Engine``."""

    # Provided by Engine.
    paths: EnginePaths
    images: Any
    mounter: Any
    volumes: Any
    activity: Activity
    _containers: dict[str, Container]
    _nursery: trio.Nursery | None

    def _mount_early_soon(self, c: Container) -> None:
        """After create: mount ``c``'s rootfs in the background if nothing needs it unmounted."""
        if self._nursery is None:
            return
        if self.volumes is not None and self.volumes.needs_rootfs(c.id):
            return  # copy-up volumes are resolved against the rootfs at start
        claimed = c.early_claimed = trio.Event()
        self._nursery.start_soon(self._mount_early, c, claimed)

    async def _mount_early(self, c: Container, claimed: trio.Event) -> None:
        try:
            # A client that sends its start at once (the API, compose) is let in first: its
            # start mounts and writes the bundle in one worker-thread call, where waiting for
            # this mount would cost it a second one. docker run's start comes milliseconds later.
            await trio.sleep(EARLY_DELAY)
            if c.lock.locked() or not await self._mount_now(c):
                return
            with trio.move_on_after(EARLY_TTL):
                await claimed.wait()
        finally:
            # Not taken by a start (a daemon stop, or no start within the TTL): give it back.
            with trio.CancelScope(shield=True):
                await self._give_back_early(c)

    async def _mount_now(self, c: Container) -> bool:
        """Mount ``c``'s rootfs if it still waits for its start; never raises (the start reports errors)."""
        async with c.lock:
            if c.id not in self._containers or c.state.status is not Status.CREATED or c.rootfs_mounted:
                return False  # started, removed or mounted meanwhile
            with self.activity.busy():
                c.rootfs_mounted = True  # first: the mount must never be forgotten
                try:
                    spec = c.record.spec
                    plan = self.images.rootfs_plan(self.images.resolve(spec.image_id or spec.image))
                    await self.mounter.mount(
                        plan, upper=self.paths.upper(c.id), work=self.paths.work(c.id),
                        target=self.paths.rootfs(c.id),
                    )
                except Exception as exc:
                    # An image removed meanwhile, a full disk...: the start mounts and says why.
                    error = exc.message if isinstance(exc, BerthError) else repr(exc)
                    log.debug("early mount failed", container_id=c.id, error=error)
                    with contextlib.suppress(BerthError):
                        await self.mounter.unmount(self.paths.rootfs(c.id))
                    c.rootfs_mounted = False
                    return False
            c.mounted_early = True
            return True

    async def _give_back_early(self, c: Container) -> None:
        if not c.mounted_early:
            return
        async with c.lock:
            if not c.mounted_early:
                return
            c.mounted_early = False
            if c.id in self._containers and c.state.status is Status.CREATED:
                try:
                    await self.mounter.unmount(self.paths.rootfs(c.id))
                except BerthError as exc:
                    # Still marked mounted: its start or removal unmounts it.
                    log.error("early mount not given back", container_id=c.id, error=exc.message)
                    return
                c.rootfs_mounted = False

    async def _unmount_left_behind(self, containers: list[Container], orphans: Sequence[str] = ()) -> None:
        """At daemon start: unmount the rootfs a crashed daemon left mounted for containers not running.

        (An early mount waiting for its start, a removal cut short, or a
        container whose record never reached the disk: ``orphans``.) Their
        next start mounts afresh instead of on top.
        """
        targets = {self.paths.rootfs(c.id): c for c in containers if not c.state.running}
        wanted = [*targets, *(self.paths.rootfs(cid) for cid in orphans)]
        if not wanted:
            return
        stuck: set[Path] = set()
        for target in await trio.to_thread.run_sync(_mounted, wanted):
            try:
                await self.mounter.unmount(target)
            except BerthError as exc:
                # That container's next start or removal tries again; the daemon starts anyway.
                log.error("rootfs left mounted by a previous daemon stays", path=str(target), error=exc.message)
                stuck.add(target)
        for target, c in targets.items():
            c.rootfs_mounted = target in stuck

    @staticmethod
    def take_early_mount(c: Container) -> bool:
        """A start (holding ``c.lock``) takes the early mount: True if the rootfs is mounted already."""
        taken = c.mounted_early
        c.mounted_early = False
        if c.early_claimed is not None:
            c.early_claimed.set()
        return taken
