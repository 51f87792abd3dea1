"""Where a container's cgroup lives, and how to read the few files the engine needs.

Theory of operation: the host has one of three cgroup layouts.

* ``V1``: /sys/fs/cgroup is a tmpfs with one ``cgroup`` mount per hierarchy.
* ``HYBRID``: the same, plus a ``cgroup2`` mount (usually
  /sys/fs/cgroup/unified) that holds few or no controllers. runc treats this
  as v1 (it only checks whether /sys/fs/cgroup itself is cgroup2), and also
  creates the container's directory in the unified tree.
* ``V2``: /sys/fs/cgroup is the single ``cgroup2`` tree.

Everything here is pure: callers pass the texts of /proc/self/mountinfo,
/proc/self/cgroup and of cgroup files, and get back paths and values. Reading
the files (in a thread) is the shell's job.

cgroupsPath in the OCI spec is absolute ("/berth/<id>"); runc's cgroupfs
driver puts it under every hierarchy's mountpoint, independent of the
daemon's own cgroup. On v2 the same string names a single directory.
"""

from __future__ import annotations

import enum
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from supervisor.errors import InvalidArgument

#: The v1 hierarchies runc 1.1's cgroupfs driver joins (fs.subsystems + name=systemd).
RUNC_V1_CONTROLLERS: tuple[str, ...] = (
    "cpuset",
    "devices",
    "memory",
    "cpu",
    "cpuacct",
    "pids",
    "blkio",
    "hugetlb",
    "net_cls",
    "net_prio",
    "perf_event",
    "freezer",
    "rdma",
    "misc",
    "name=systemd",
)

#: Key of the unified (cgroup2) directory in ``container_cgroup_dirs``, as runc names it.
UNIFIED = ""


class CgroupVersion(enum.Enum):
    """The host's cgroup layout."""

    V1 = "v1"
    HYBRID = "hybrid"
    V2 = "v2"

    @property
    def is_v2(self) -> bool:
        """True only when runc drives the unified tree (cgroup files are v2 files)."""
        return self is CgroupVersion.V2


class FreezerState(enum.Enum):
    """cgroup v1 ``freezer.state`` values."""

    THAWED = "THAWED"
    FREEZING = "FREEZING"
    FROZEN = "FROZEN"


@dataclass(frozen=True, slots=True)
class CgroupLayout:
    """The host's cgroup mounts, as seen from the daemon's mount namespace.

    ``controllers`` maps each v1 controller (and ``name=systemd``) to its
    mountpoint; ``unified`` is the cgroup2 mountpoint if any; ``own`` is the
    daemon's /proc/self/cgroup (controller → path, ``""`` for the v2 line).
    """

    version: CgroupVersion
    controllers: Mapping[str, Path] = field(default_factory=dict)
    unified: Path | None = None
    own: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MountInfo:
    """One /proc/self/mountinfo line (the fields this module needs)."""

    mount_id: int
    parent_id: int
    root: str
    mountpoint: str
    fstype: str
    source: str
    super_options: tuple[str, ...]


_OCTAL = re.compile(r"\\([0-7]{3})")


def _unescape(text: str) -> str:
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), text)


_MOUNTINFO, _CGROUP, _FLAT = "mountinfo", "cgroup", "flat-keyed"


def _bad(what: str, line: str) -> InvalidArgument:
    return InvalidArgument(f"malformed {what} line: {line[:200]!r}")


def parse_mountinfo(text: str) -> tuple[MountInfo, ...]:
    """Parse /proc/self/mountinfo (proc(5)); blank lines are ignored.

    Raises:
        InvalidArgument: a line without the ``-`` separator or numeric ids.
    """
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split(" ")
        try:
            sep = fields.index("-", 6)
        except ValueError:
            raise _bad(_MOUNTINFO, line) from None
        if len(fields) < sep + 3 or not all(f.isascii() and f.isdigit() for f in fields[:2]):
            raise _bad(_MOUNTINFO, line)
        out.append(
            MountInfo(
                mount_id=int(fields[0]),
                parent_id=int(fields[1]),
                root=_unescape(fields[3]),
                mountpoint=_unescape(fields[4]),
                fstype=fields[sep + 1],
                source=_unescape(fields[sep + 2]),
                super_options=tuple(fields[sep + 3].split(",")) if len(fields) > sep + 3 else (),
            )
        )
    return tuple(out)


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """Parse /proc/<pid>/cgroup into controller → path (``""`` for the v2 ``0::`` line).

    Raises:
        InvalidArgument: a line that is not ``id:controllers:path``.
    """
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split(":", 2)
        if len(parts) != 3 or not parts[0].isascii() or not parts[0].isdigit():
            raise _bad(_CGROUP, line)
        _, controllers, path = parts
        if not path.startswith("/"):
            raise _bad(_CGROUP, line)
        if controllers == "":
            out[UNIFIED] = path
        for c in controllers.split(","):
            if c:
                out[c] = path
    return out


def detect_layout(mountinfo_text: str, proc_self_cgroup_text: str) -> CgroupLayout:
    """Work out the host's cgroup layout from the two /proc texts.

    Raises:
        InvalidArgument: malformed input, or no cgroup filesystem mounted.
    """
    controllers: dict[str, Path] = {}
    unified: Path | None = None
    for m in parse_mountinfo(mountinfo_text):
        if m.fstype == "cgroup":
            for opt in m.super_options:
                if opt in RUNC_V1_CONTROLLERS or opt.startswith("name="):
                    # The first mount of a hierarchy wins (bind mounts repeat it).
                    controllers.setdefault(opt, Path(m.mountpoint))
        elif m.fstype == "cgroup2" and unified is None:
            unified = Path(m.mountpoint)
    own = parse_proc_cgroup(proc_self_cgroup_text)
    if controllers:
        version = CgroupVersion.HYBRID if unified is not None else CgroupVersion.V1
    elif unified is not None:
        version = CgroupVersion.V2
    else:
        msg = "no cgroup filesystem is mounted (neither cgroup nor cgroup2 in mountinfo)"
        raise InvalidArgument(msg)
    return CgroupLayout(version=version, controllers=controllers, unified=unified, own=own)


def _relative(cgroups_path: str) -> str:
    if not cgroups_path.startswith("/"):
        msg = f"cgroups path must be absolute: {cgroups_path!r}"
        raise InvalidArgument(msg)
    norm = posixpath.normpath(cgroups_path)
    if norm != cgroups_path.rstrip("/") or ".." in norm.split("/") or norm == "/":
        msg = f"invalid cgroups path: {cgroups_path!r}"
        raise InvalidArgument(msg)
    return norm.lstrip("/")


def container_cgroup_dirs(layout: CgroupLayout, cgroups_path: str) -> dict[str, Path]:
    """The directories runc creates for a container with this ``cgroupsPath``.

    For v1/hybrid: one entry per mounted hierarchy runc joins, keyed by
    controller (controllers co-mounted, like ``cpu,cpuacct``, share a dir),
    plus ``UNIFIED`` (``""``) for the cgroup2 tree on hybrid hosts. For v2: the
    single ``UNIFIED`` entry. Remove ``set(dirs.values())`` after ``runc delete``.

    Raises:
        InvalidArgument: a relative path or one with ``..``.
    """
    rel = _relative(cgroups_path)
    dirs: dict[str, Path] = {}
    if layout.version is not CgroupVersion.V2:
        for name, mountpoint in layout.controllers.items():
            if name in RUNC_V1_CONTROLLERS:
                dirs[name] = mountpoint / rel
    if layout.unified is not None:
        dirs[UNIFIED] = layout.unified / rel
    return dirs


@dataclass(frozen=True, slots=True)
class CgroupFiles:
    """The files the engine reads or writes for one container.

    ``freezer_control`` takes ``freeze_value(...)``; ``frozen_probe`` is
    what ``parse_frozen`` reads (v1 ``freezer.state``, v2 ``cgroup.events``).
    ``oom_events`` is v1 ``memory.oom_control`` / v2 ``memory.events``.
    """

    v2: bool
    procs: Path
    freezer_control: Path | None
    frozen_probe: Path | None
    pids_current: Path | None
    pids_max: Path | None
    memory_limit: Path | None
    oom_events: Path | None


def container_cgroup_files(layout: CgroupLayout, cgroups_path: str) -> CgroupFiles:
    """Paths of the freezer, pids and memory files for a container's cgroup.

    A file whose controller is not mounted (v1) is None.

    Raises:
        InvalidArgument: as ``container_cgroup_dirs``.
    """
    dirs = container_cgroup_dirs(layout, cgroups_path)
    if layout.version.is_v2:
        d = dirs[UNIFIED]
        return CgroupFiles(
            v2=True,
            procs=d / "cgroup.procs",
            freezer_control=d / "cgroup.freeze",
            frozen_probe=d / "cgroup.events",
            pids_current=d / "pids.current",
            pids_max=d / "pids.max",
            memory_limit=d / "memory.max",
            oom_events=d / "memory.events",
        )

    def f(controller: str, name: str) -> Path | None:
        d = dirs.get(controller)
        return None if d is None else d / name

    procs = f("pids", "cgroup.procs") or f("memory", "cgroup.procs")
    if procs is None:
        procs = next(iter(dirs.values())) / "cgroup.procs"
    return CgroupFiles(
        v2=False,
        procs=procs,
        freezer_control=f("freezer", "freezer.state"),
        frozen_probe=f("freezer", "freezer.state"),
        pids_current=f("pids", "pids.current"),
        pids_max=f("pids", "pids.max"),
        memory_limit=f("memory", "memory.limit_in_bytes"),
        oom_events=f("memory", "memory.oom_control"),
    )


def swap_limit_probe(layout: CgroupLayout) -> Path | None:
    """The file whose existence tells whether swap can be limited (Docker's ``SwapLimit``).

    v1: ``memory.memsw.limit_in_bytes`` at the memory mount (missing when the
    kernel runs without swap accounting). v2: ``memory.swap.max`` in the
    daemon's own cgroup (the root cgroup has none). None: no memory controller.
    """
    if layout.version.is_v2:
        if layout.unified is None:
            return None
        own = layout.own.get(UNIFIED, "/").lstrip("/")
        return layout.unified / own / "memory.swap.max"
    mem = layout.controllers.get("memory")
    return None if mem is None else mem / "memory.memsw.limit_in_bytes"


def parse_flat_keyed(text: str) -> dict[str, int]:
    """Parse a "key value" per line cgroup file (cgroup.events, memory.events, oom_control).

    Raises:
        InvalidArgument: a line that is not ``key <integer>``.
    """
    out: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise _bad(_FLAT, line)
        value = fields[1]
        body = value[1:] if value[:1] == "-" else value
        if not (body.isascii() and body.isdigit()):
            raise _bad(_FLAT, line)
        out[fields[0]] = int(value)
    return out


def parse_freezer_state(text: str) -> FreezerState:
    """Parse v1 ``freezer.state``.

    Raises:
        InvalidArgument: not THAWED, FREEZING or FROZEN.
    """
    value = text.strip()
    try:
        return FreezerState(value)
    except ValueError:
        msg = f"unknown freezer state: {value[:40]!r}"
        raise InvalidArgument(msg) from None


def parse_frozen(v2: bool, text: str) -> bool:
    """Whether the cgroup is frozen, from ``CgroupFiles.frozen_probe``'s text.

    v1: ``freezer.state`` reads FROZEN (FREEZING is not frozen yet).
    v2: ``cgroup.events`` has ``frozen 1`` (``cgroup.freeze`` only says what
    was asked for; the kernel reports completion in ``cgroup.events``).
    """
    if v2:
        return parse_flat_keyed(text).get("frozen", 0) == 1
    return parse_freezer_state(text) is FreezerState.FROZEN


def freeze_value(v2: bool, frozen: bool) -> str:
    """What to write to ``CgroupFiles.freezer_control`` to freeze or thaw."""
    if v2:
        return "1" if frozen else "0"
    return FreezerState.FROZEN.value if frozen else FreezerState.THAWED.value


def oom_kill_count(text: str) -> int:
    """The ``oom_kill`` counter of v1 memory.oom_control or v2 memory.events (0 if absent)."""
    return parse_flat_keyed(text).get("oom_kill", 0)


def parse_limit(text: str) -> int | None:
    """Parse a limit file (pids.max, memory.max, cpu.max's first field): ``max`` → None.

    Raises:
        InvalidArgument: neither ``max`` nor an integer.
    """
    value = text.split()[0] if text.split() else ""
    if value == "max":
        return None
    if not (value.isascii() and value.isdigit()):
        msg = f"invalid cgroup limit value: {text[:40]!r}"
        raise InvalidArgument(msg)
    return int(value)


def cpu_shares_to_weight(shares: int) -> int:
    """runc's conversion of Docker's cpu.shares (2..262144) to v2 cpu.weight (1..10000).

    ``weight = 1 + (shares - 2) * 9999 // 262142``; 0 ("not set") stays 0.
    The spec keeps ``shares``: runc converts when it writes cpu.weight on v2.
    """
    if shares == 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142
