"""The volume service: the engine's and the API's one entry point for volumes and mounts.

Theory of operation:

- Volumes live in a ``VolumeStore`` (the local driver). Every change runs in a
  worker thread under one ``trio.Lock``, so "in use" checks and removals
  cannot interleave with a container registering the same volume.
- A container is *registered* once (``register``; ``resolve_mounts`` does it
  on first use): its specs are planned into mount points (``plan.py``), bind
  sources checked, volumes created on demand, anonymous names fixed, and the
  points persisted under ``<root>/.mounts/<id>.json``. Registered points are
  what makes a volume "in use" (``users``), what inspect shows and what
  ``--volumes-from`` copies; ``release`` ends a registration (``rm``, and
  ``rm -v`` removes the anonymous volumes nobody else uses).
- ``resolve_mounts`` runs at each start, after the rootfs is mounted: missing
  ``-v`` bind sources are created, a new volume is filled from the image
  (copy-up, in a worker thread), and the OCI mounts come back in Docker's
  order with inspect's ``Mounts`` entries. Volume events (create, mount,
  unmount, destroy, prune) go to the bus with Docker's attributes.
"""

from __future__ import annotations

import builtins
import os
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from supervisor._logging import get_logger
from supervisor.engine.model import ContainerSpec, Mount
from supervisor.errors import BerthError, Conflict, InvalidArgument
from supervisor.events.bus import EventBus
from supervisor.events.model import EventType
from supervisor.volumes import plan as P
from supervisor.volumes.copyup import copy_tree, is_empty_dir
from supervisor.volumes.model import (
    ANONYMOUS_LABEL,
    LOCAL_DRIVER,
    Volume,
    list_filter,
    prune_filter,
    volume_json,
)
from supervisor.volumes.safety import allows_daemon_paths, check_bind_source, scoped_path
from supervisor.volumes.specs import MountType, parse_volumes_from
from supervisor.volumes.store import VolumeStore, no_such_volume

log = get_logger(__name__)

VolumesFrom = Callable[[str], tuple[str, ContainerSpec]]
"""``--volumes-from`` lookup: a container reference → (full id, spec); raises NotFound."""

_MAX_VOLUMES_FROM_DEPTH = 16


@dataclass(frozen=True, slots=True)
class ResolvedMounts:
    """What a start needs: OCI mounts (Docker's order), inspect entries, volumes in use.

    ``rootfs_propagation`` is set when a bind asks for shared/slave propagation
    (config.json's ``linux.rootfsPropagation`` must then be that).
    """

    mounts: tuple[Mount, ...]
    inspect: builtins.list[dict[str, Any]]
    volumes_used: tuple[str, ...]
    rootfs_propagation: str | None = None


def request_of(spec: ContainerSpec) -> P.MountRequest:
    """The mount fields of a spec (``mounts``/``volumes_from`` once ContainerSpec has them)."""
    return P.MountRequest(
        binds=tuple(spec.binds),
        mounts=tuple(getattr(spec, "mounts", ()) or ()),
        volumes=tuple(spec.volumes),
        tmpfs=dict(spec.tmpfs),
        volumes_from=tuple(getattr(spec, "volumes_from", ()) or ()),
    )


def _new_name() -> str:
    return secrets.token_hex(32)


class VolumeService:
    """Volumes (create/list/remove/prune) and container mounts (register/resolve/release)."""

    def __init__(
        self,
        store: VolumeStore,
        bus: EventBus,
        *,
        state_dirs: Sequence[Path] = (),
        sockets: Sequence[Path] = (),
        allow_daemon_paths: bool = False,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.store = store
        self.bus = bus
        self._state_dirs = tuple(state_dirs)
        self._sockets = tuple(sockets)
        self._allow_daemon_paths = allow_daemon_paths
        self._clock = clock
        self._points: dict[str, list[P.MountPoint]] = {}
        self._mounted: dict[str, list[P.MountPoint]] = {}
        self._lock = trio.Lock()

    async def load(self) -> None:
        """Read the volumes and the containers' registrations from disk."""
        await trio.to_thread.run_sync(self.store.load)
        records = await trio.to_thread.run_sync(self.store.load_mounts)
        for cid, items in records.items():
            try:
                self._points[cid] = [P.MountPoint.from_json(item) for item in items]
            except (KeyError, ValueError, TypeError) as exc:
                log.error("bad mount record, ignored", container_id=cid, error=str(exc))

    async def reconcile(self, known_container_ids: Iterable[str]) -> None:
        """Forget registrations of containers that no longer exist (after a crash)."""
        known = set(known_container_ids)
        async with self._lock:
            for cid in [c for c in self._points if c not in known]:
                del self._points[cid]
                await trio.to_thread.run_sync(self.store.drop_mounts, cid)

    # --- volumes --------------------------------------------------------------------

    def _publish(self, action: str, name: str, **attrs: str) -> None:
        self.bus.publish(EventType.VOLUME, action, name, {"driver": LOCAL_DRIVER, **attrs})

    def volume_path(self, name: str) -> str:
        return str(self.store.data_path(name))

    def get(self, name: str) -> Volume:
        """Raises NotFound("get NAME: no such volume")."""
        return self.store.get(name)

    def view(self, volume: Volume) -> dict[str, Any]:
        """Docker's Volume object."""
        return volume_json(volume, self.volume_path(volume.name))

    def users(self, name: str) -> builtins.list[str]:
        """Ids of the containers whose registered mounts use volume ``name``."""
        return [
            cid
            for cid, points in self._points.items()
            if any(p.type is MountType.VOLUME and p.name == name for p in points)
        ]

    def list(self, filters: Mapping[str, Sequence[str]] | None = None) -> builtins.list[Volume]:
        """Volumes matching Docker's list filters (name, label, driver, dangling)."""
        keep = list_filter(filters or {})
        return [v for v in self.store.list() if keep(v, bool(self.users(v.name)))]

    async def create(
        self,
        name: str | None = None,
        *,
        driver: str = "",
        labels: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
    ) -> Volume:
        """``POST /volumes/create``: a new volume, or the existing one of that name."""
        async with self._lock:
            volume, created = await trio.to_thread.run_sync(
                lambda: self.store.create(
                    name or _new_name(), now=self._clock(), labels=labels, options=options,
                    driver=driver or LOCAL_DRIVER,
                )
            )
        if created:
            self._publish("create", volume.name)
        return volume

    async def remove(self, name: str, *, force: bool = False) -> None:
        """Remove an unused volume (force: a missing one is no error).

        Raises:
            NotFound: "get NAME: no such volume".
            Conflict: "remove NAME: volume is in use - [ids]".
        """
        async with self._lock:
            if not self.store.exists(name):
                if force:
                    return
                raise no_such_volume(name)
            users = self.users(name)
            if users:
                msg = f"remove {name}: volume is in use - [{', '.join(users)}]"
                raise Conflict(msg)
            await trio.to_thread.run_sync(self.store.delete, name)
        self._publish("destroy", name)

    async def prune(
        self, filters: Mapping[str, Sequence[str]] | None = None, *, only_anonymous_default: bool = True
    ) -> dict[str, Any]:
        """``POST /volumes/prune``: remove unused volumes (anonymous only unless all=true)."""
        keep = prune_filter(filters or {}, only_anonymous_default=only_anonymous_default)
        deleted: builtins.list[str] = []
        reclaimed = 0
        async with self._lock:
            for volume in self.store.list():
                if not keep(volume, bool(self.users(volume.name))):
                    continue
                reclaimed += await trio.to_thread.run_sync(self.store.delete, volume.name)
                deleted.append(volume.name)
                self._publish("destroy", volume.name)
        self.bus.publish(EventType.VOLUME, "prune", "", {"reclaimed": str(reclaimed)})
        return {"VolumesDeleted": deleted, "SpaceReclaimed": reclaimed}

    # --- containers -------------------------------------------------------------------

    async def register(
        self, container_id: str, spec: ContainerSpec, *, volumes_from: VolumesFrom
    ) -> builtins.list[P.MountPoint]:
        """Plan and record ``container_id``'s mount points (once; later calls return them).

        Call it at create for Docker's behaviour (errors and anonymous volumes
        appear at ``docker create``); ``resolve_mounts`` calls it otherwise.

        Raises:
            InvalidArgument: bad specs, duplicates, a missing ``--mount`` bind
                source, a bind of the daemon's own paths.
            NotFound: a ``--volumes-from`` container that does not exist.
        """
        async with self._lock:
            return await self._register(container_id, spec, volumes_from, 0)

    async def _register(
        self, cid: str, spec: ContainerSpec, volumes_from: VolumesFrom, depth: int
    ) -> builtins.list[P.MountPoint]:
        known = self._points.get(cid)
        if known is not None:
            return known
        if depth > _MAX_VOLUMES_FROM_DEPTH:
            msg = "--volumes-from chain too deep"
            raise InvalidArgument(msg)
        request = request_of(spec)
        inherited = []
        for item in request.volumes_from:
            ref, mode = parse_volumes_from(item)
            other_id, other_spec = volumes_from(ref)
            if other_id == cid:
                msg = f"cannot use volumes from container {ref}: it is the container itself"
                raise InvalidArgument(msg)
            other = await self._register(other_id, other_spec, volumes_from, depth + 1)
            inherited.append((other, mode))
        points = P.plan_mount_points(request, inherited=inherited, new_name=_new_name)
        allow = self._allow_daemon_paths or allows_daemon_paths(spec.labels)
        # No mount points (the common case): nothing to check or record, no thread hop.
        created = await trio.to_thread.run_sync(self._register_sync, cid, points, allow) if points else []
        for name in created:
            self._publish("create", name)
        self._points[cid] = points
        return points

    def _check_bind(self, point: P.MountPoint, allow: bool) -> None:
        if not allow:
            check_bind_source(point.source, state_dirs=self._state_dirs, sockets=self._sockets)
        if not point.create_source and not os.path.lexists(point.source):
            msg = f'invalid mount config for type "bind": bind source path does not exist: {point.source}'
            raise InvalidArgument(msg)

    def _register_sync(self, cid: str, points: builtins.list[P.MountPoint], allow: bool) -> builtins.list[str]:
        for p in points:
            if p.type is MountType.BIND:
                self._check_bind(p, allow)
        created = []
        now = self._clock()
        for p in points:
            if p.type is not MountType.VOLUME:
                continue
            labels = p.labels if p.named else {**p.labels, ANONYMOUS_LABEL: ""}
            _, new = self.store.create(p.name, now=now, labels=labels, options=p.driver_opts)
            if new:
                created.append(p.name)
        if points:
            # A container without mount points has no file (the common case, one fsync
            # less on create); after a daemon restart its empty plan is made again.
            self.store.save_mounts(cid, [p.to_json() for p in points])
        return created

    def needs_rootfs(self, container_id: str) -> bool:
        """Whether ``resolve_mounts`` needs the mounted rootfs (False: no mount points, nothing to prepare).

        Unknown containers (not registered yet) answer True.
        """
        points = self._points.get(container_id)
        return points is None or bool(points)

    async def resolve_mounts(
        self,
        container_id: str,
        spec: ContainerSpec,
        *,
        image_rootfs: Path | None,
        volumes_from: VolumesFrom,
        image_mounts: Sequence[Mount] = (),
    ) -> ResolvedMounts:
        """Everything a start needs; call it after the rootfs is mounted, before the bundle.

        Args:
            container_id: the container.
            spec: its spec (registered on first use).
            image_rootfs: the mounted rootfs that copy-up reads from (None: no copy-up).
            volumes_from: the ``--volumes-from`` lookup.
            image_mounts: the image's own mounts (``RootfsPlan.mounts``): a
                path under one of their binds is copied from that bind's source.

        Raises:
            InvalidArgument: as ``register``; a volume over an image file.
        """
        async with self._lock:
            points = await self._register(container_id, spec, volumes_from, 0)
            allow = self._allow_daemon_paths or allows_daemon_paths(spec.labels)
            if points:
                await trio.to_thread.run_sync(
                    self._prepare_sync, points, image_rootfs, tuple(image_mounts), allow
                )
        mounts = P.oci_mounts(points, spec.tmpfs, self.volume_path)
        used = P.volume_names(points)
        mounted = [p for p in points if p.type is MountType.VOLUME]
        for p in mounted:
            self._publish(
                "mount", p.name, container=container_id, destination=p.destination,
                **{"read/write": "true" if p.rw else "false"}, propagation=p.propagation,
            )  # fmt: skip
        self._mounted[container_id] = mounted
        return ResolvedMounts(
            mounts=mounts,
            inspect=P.inspect_entries(points, self.volume_path),
            volumes_used=used,
            rootfs_propagation=P.rootfs_propagation(points),
        )

    def _prepare_sync(
        self,
        points: builtins.list[P.MountPoint],
        rootfs: Path | None,
        image_mounts: tuple[Mount, ...],
        allow: bool,
    ) -> None:
        for p in points:
            if p.type is MountType.BIND:
                self._check_bind(p, allow)
                if p.create_source and not os.path.lexists(p.source):
                    os.makedirs(p.source, mode=0o755, exist_ok=True)
            elif p.type is MountType.VOLUME:
                self._prepare_volume(p, rootfs, image_mounts)

    def _prepare_volume(
        self, p: P.MountPoint, rootfs: Path | None, image_mounts: tuple[Mount, ...]
    ) -> None:
        data = self.store.data_path(p.name)
        data.mkdir(parents=True, exist_ok=True, mode=0o755)
        volume = self.store.get(p.name)
        if not p.copy_data or rootfs is None or volume.populated:
            return
        if not is_empty_dir(data):
            self.store.mark_populated(p.name)
            return
        source = _image_source(rootfs, image_mounts, p.destination)
        if not os.path.lexists(source):
            return  # nothing to copy: a later container may still fill it
        copy_tree(source, data)
        self.store.mark_populated(p.name)
        log.info("volume filled from the image", volume=p.name, destination=p.destination)

    def inspect_mounts(self, container_id: str) -> builtins.list[dict[str, Any]]:
        """Inspect's ``Mounts`` for a registered container ([] if it is not registered)."""
        return P.inspect_entries(self._points.get(container_id, []), self.volume_path)

    def volumes_used(self, container_id: str) -> tuple[str, ...]:
        return P.volume_names(self._points.get(container_id, []))

    def unmounted(self, container_id: str) -> None:
        """Publish ``unmount`` for the volumes of a run that ended (call after each exit)."""
        for p in self._mounted.pop(container_id, []):
            self._publish("unmount", p.name, container=container_id)

    async def release(self, container_id: str, *, remove_anonymous: bool) -> None:
        """The container is removed: forget its mounts; with ``rm -v`` remove its anonymous volumes.

        An anonymous volume still used by another container (``--volumes-from``)
        is kept, as Docker does; other removal errors are logged, not raised.
        """
        self.unmounted(container_id)
        removed = []
        async with self._lock:
            points = self._points.pop(container_id, None)
            if points is None:
                return
            if points:  # an empty plan has no file (see ``_register_sync``)
                await trio.to_thread.run_sync(self.store.drop_mounts, container_id)
            if not remove_anonymous:
                return
            for p in points:
                if p.type is not MountType.VOLUME or p.named or self.users(p.name):
                    continue
                if not self.store.exists(p.name):
                    continue
                try:
                    await trio.to_thread.run_sync(self.store.delete, p.name)
                except (OSError, BerthError) as exc:
                    log.error("anonymous volume not removed", volume=p.name, error=str(exc))
                    continue
                removed.append(p.name)
        for name in removed:
            self._publish("destroy", name)


def _image_source(rootfs: Path, image_mounts: tuple[Mount, ...], destination: str) -> Path:
    """Where the image's content at ``destination`` is, resolved inside its root."""
    best: Mount | None = None
    for m in image_mounts:
        d = m.destination.rstrip("/") or "/"
        if m.type == "bind" and (destination == d or destination.startswith(d + "/")):
            if best is None or len(d) > len(best.destination):
                best = m
    if best is not None:
        rest = destination[len(best.destination.rstrip("/")):]
        return scoped_path(Path(best.source), rest)
    return scoped_path(rootfs, destination)


__all__ = ["ResolvedMounts", "VolumeService", "VolumesFrom", "request_of"]
