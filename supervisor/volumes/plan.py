"""A container's mount points: registered once, turned into OCI mounts at every start.

Theory of operation (moby ``registerMountPoints`` + ``setupMounts``):

1. ``plan_mount_points`` merges, in Docker's order, ``--volumes-from`` (the
   other container's points, with the mode applied), ``Binds``, ``Mounts``,
   then the anonymous volumes of ``Config.Volumes`` (the image's ``VOLUME``
   and ``-v /path``) for destinations nothing else covers. Two binds or
   mounts on one destination are "Duplicate mount point: X". Anonymous
   volumes get their 64-hex name here, so the plan is registered (persisted)
   once and reused at every start.
2. ``oci_mounts`` turns the points plus ``HostConfig.Tmpfs`` into OCI mounts
   sorted by destination depth (parents before children), as moby sorts its
   user mounts; a ``--tmpfs`` wins over a point on the same destination.
3. ``inspect_entry`` is Docker's ``Mounts[]`` entry of a point.

Pure: no I/O. Where a volume's directory is comes in as a function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from supervisor.engine.model import Mount
from supervisor.engine.spec import merge_tmpfs_options
from supervisor.errors import InvalidArgument
from supervisor.volumes.specs import (
    MountSpec,
    MountType,
    anonymous_volume,
    parse_api_mount,
    parse_bind,
    read_write,
    tmpfs_mount,
)

_TMPFS_DEFAULTS = ("noexec", "nosuid", "nodev", "rprivate")


@dataclass(frozen=True, slots=True)
class MountPoint:
    """One registered mount point of a container (moby's ``MountPoint``).

    ``named``: the request named the volume (kept by ``rm -v``);
    ``copy_data``: fill a new volume from the image at first use;
    ``create_source``: a missing bind source is created (``-v``).
    """

    type: MountType
    destination: str
    source: str = ""
    name: str = ""
    driver: str = ""
    mode: str = ""
    rw: bool = True
    propagation: str = ""
    copy_data: bool = False
    named: bool = False
    create_source: bool = False
    nonrecursive: bool = False
    tmpfs_data: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    driver_opts: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type.value, "destination": self.destination, "source": self.source,
            "name": self.name, "driver": self.driver, "mode": self.mode, "rw": self.rw,
            "propagation": self.propagation, "copy_data": self.copy_data, "named": self.named,
            "create_source": self.create_source, "nonrecursive": self.nonrecursive,
            "tmpfs_data": self.tmpfs_data, "labels": dict(self.labels),
            "driver_opts": dict(self.driver_opts),
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MountPoint:
        return cls(
            type=MountType(data["type"]), destination=data["destination"],
            source=data.get("source", ""), name=data.get("name", ""),
            driver=data.get("driver", ""), mode=data.get("mode", ""), rw=data.get("rw", True),
            propagation=data.get("propagation", ""), copy_data=data.get("copy_data", False),
            named=data.get("named", False), create_source=data.get("create_source", False),
            nonrecursive=data.get("nonrecursive", False), tmpfs_data=data.get("tmpfs_data", ""),
            labels=dict(data.get("labels") or {}), driver_opts=dict(data.get("driver_opts") or {}),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class MountRequest:
    """The mount-related fields of a create request, already split by kind.

    ``mounts`` holds ``HostConfig.Mounts`` objects (JSON), ``volumes`` the
    ``Config.Volumes`` keys, ``tmpfs`` ``HostConfig.Tmpfs``.
    """

    binds: tuple[str, ...] = ()
    mounts: tuple[Mapping[str, Any], ...] = ()
    volumes: tuple[str, ...] = ()
    tmpfs: Mapping[str, str] = field(default_factory=dict)
    volumes_from: tuple[str, ...] = ()


def _duplicate(destination: str) -> InvalidArgument:
    return InvalidArgument(f"Duplicate mount point: {destination}")


def _point_of(spec: MountSpec, new_name: Callable[[], str]) -> MountPoint:
    if spec.type is MountType.BIND:
        return MountPoint(
            type=spec.type, destination=spec.target, source=spec.source, mode=spec.mode,
            rw=not spec.read_only, propagation=spec.propagation,
            create_source=spec.create_source, nonrecursive=spec.nonrecursive,
        )  # fmt: skip
    if spec.type is MountType.TMPFS:
        return MountPoint(
            type=spec.type, destination=spec.target, rw=not spec.read_only,
            tmpfs_data=spec.tmpfs_data,
        )  # fmt: skip
    return MountPoint(
        type=MountType.VOLUME, destination=spec.target, name=spec.source or new_name(),
        driver="local", mode=spec.mode or "z", rw=not spec.read_only,
        copy_data=not spec.nocopy, named=bool(spec.source), labels=spec.labels,
        driver_opts=spec.driver_opts,
    )  # fmt: skip


def validate_request(request: MountRequest) -> None:
    """Everything ``plan_mount_points`` refuses that needs no other container or disk.

    Raises:
        InvalidArgument: Docker's messages.
    """
    plan_mount_points(request, inherited=(), new_name=lambda: "0" * 64)


def plan_mount_points(
    request: MountRequest,
    *,
    inherited: Sequence[tuple[Sequence[MountPoint], str]],
    new_name: Callable[[], str],
) -> list[MountPoint]:
    """The container's mount points in Docker's registration order.

    Args:
        request: the create request's mount fields.
        inherited: for each ``--volumes-from``, the other container's points
            and the mode (``rw``/``ro``) it was named with.
        new_name: a fresh anonymous volume name (64 hex digits).

    Raises:
        InvalidArgument: a bad spec or "Duplicate mount point: X".
    """
    points: dict[str, MountPoint] = {}
    for source_points, mode in inherited:
        rw = read_write(mode)
        for p in source_points:
            points[p.destination] = replace(
                p, rw=p.rw and rw, mode="", copy_data=False, create_source=False
            )
    tmpfs = {tmpfs_mount(dest, data).target: data for dest, data in request.tmpfs.items()}
    taken: set[str] = set()
    for raw in request.binds:
        spec = parse_bind(raw)
        if spec.target in taken or spec.target in tmpfs:
            raise _duplicate(spec.target)
        taken.add(spec.target)
        points[spec.target] = _point_of(spec, new_name)
    for obj in request.mounts:
        spec = parse_api_mount(obj)
        if spec.target in taken:
            raise _duplicate(str(obj.get("Target", spec.target)))
        taken.add(spec.target)
        points[spec.target] = _point_of(spec, new_name)
    for path in request.volumes:
        spec = anonymous_volume(path)
        if spec.target in points or spec.target in tmpfs:
            continue
        points[spec.target] = replace(_point_of(spec, new_name), mode="")
    return list(points.values())


def volume_names(points: Iterable[MountPoint]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.name for p in points if p.type is MountType.VOLUME))


def _depth(destination: str) -> int:
    return len([part for part in destination.split("/") if part])


def oci_mounts(
    points: Sequence[MountPoint],
    tmpfs: Mapping[str, str],
    volume_path: Callable[[str], str],
) -> tuple[Mount, ...]:
    """OCI mounts for the points and ``--tmpfs``, parents before children.

    Raises:
        InvalidArgument: a tmpfs option the kernel does not take.
    """
    out: list[Mount] = []
    tmpfs_targets = {tmpfs_mount(dest, data).target: data for dest, data in tmpfs.items()}
    for p in points:
        if p.destination in tmpfs_targets:
            continue
        if p.type is MountType.TMPFS:
            out.append(_tmpfs(p.destination, p.tmpfs_data))
            continue
        source = volume_path(p.name) if p.type is MountType.VOLUME else p.source
        options = ["bind" if p.nonrecursive else "rbind"]
        if not p.rw:
            options.append("ro")
        if p.propagation:
            options.append(p.propagation)
        out.append(Mount(destination=p.destination, type="bind", source=source, options=tuple(options)))
    for dest in sorted(tmpfs_targets):
        out.append(_tmpfs(dest, tmpfs_targets[dest]))
    return tuple(sorted(out, key=lambda m: _depth(m.destination)))


def _tmpfs(destination: str, data: str) -> Mount:
    options = merge_tmpfs_options([*_TMPFS_DEFAULTS, *data.split(",")])
    return Mount(destination=destination, type="tmpfs", source="tmpfs", options=options)


def inspect_entry(point: MountPoint, volume_path: Callable[[str], str]) -> dict[str, Any]:
    """Docker's ``Mounts[]`` entry (``types.MountPoint``; Name/Driver omitted when empty)."""
    entry: dict[str, Any] = {"Type": point.type.value}
    if point.type is MountType.VOLUME:
        entry["Name"] = point.name
        entry["Source"] = volume_path(point.name)
    else:
        entry["Source"] = point.source
    entry["Destination"] = point.destination
    if point.driver:
        entry["Driver"] = point.driver
    entry["Mode"] = point.mode
    entry["RW"] = point.rw
    entry["Propagation"] = point.propagation
    return entry


def inspect_entries(points: Sequence[MountPoint], volume_path: Callable[[str], str]) -> list[dict[str, Any]]:
    return [inspect_entry(p, volume_path) for p in sorted(points, key=lambda p: p.destination)]


def rootfs_propagation(points: Sequence[MountPoint]) -> str | None:
    """moby: a shared bind needs a shared rootfs, a slave one at least rslave."""
    modes = {p.propagation for p in points if p.type is MountType.BIND}
    if modes & {"shared", "rshared"}:
        return "rshared"
    if modes & {"slave", "rslave"}:
        return "rslave"
    return None


__all__ = [
    "MountPoint",
    "MountRequest",
    "inspect_entries",
    "inspect_entry",
    "oci_mounts",
    "plan_mount_points",
    "rootfs_propagation",
    "validate_request",
    "volume_names",
]
