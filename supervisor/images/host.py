"""The built-in image ``host``: the host's own system, read-only, with private scratch space.

``berth run --rm host python3 -c ...`` supervises a host program with full
isolation (namespaces, cgroups, its own /tmp and /run) and no image to build,
which is what a supervisord user wants.

Theory of operation: the rootfs is an overlay whose only lower layer is a
small *skeleton*: one mount point per top-level directory of the host, and
the host's own top-level symlinks copied verbatim (so a merged-usr host keeps
``/bin -> usr/bin``). The ``RootfsPlan`` then bind-mounts each host system
directory read-only (recursively, ``rro``, so sub-mounts are read-only too),
puts fresh tmpfs on /tmp, /run and /var/tmp, and hides berth's own data root
and exec root under empty read-only tmpfs so that a container never sees
other containers' state. /proc, /sys and /dev come from the engine as for any
image; /boot, /mnt, /media and lost+found are left out on purpose.

The image id is the digest of a fixed config document, so it is stable across
daemon restarts (compose puts image ids into its config hash).
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import shutil
import stat
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from supervisor.engine.model import DEFAULT_PATH, Mount
from supervisor.images.config import canonical_json, image_document, image_id
from supervisor.images.model import Image, ImageConfig, RootfsPlan

HOST_REPO_TAG = "host:latest"
HOST_CREATED_NS = 1_704_067_200 * 1_000_000_000  # fixed: the id must never change
HOST_CONFIG = ImageConfig(env=(f"PATH={DEFAULT_PATH}",), cmd=("/bin/sh",))
HOST_COMMENT = "berth built-in image: the host's own system, read-only"

#: Top-level host directories never bound into the container.
EXCLUDED = frozenset({"proc", "sys", "dev", "run", "tmp", "boot", "mnt", "media", "lost+found"})
#: Mount points the skeleton always has, whatever the host has.
ALWAYS_DIRS = {"proc": 0o555, "sys": 0o555, "dev": 0o755, "run": 0o755, "tmp": 0o1777}
BIND_OPTIONS = ("rbind", "ro", "rro")
SCRATCH = (("/tmp", "mode=1777"), ("/run", "mode=755"), ("/var/tmp", "mode=1777"))
MASK_OPTIONS = ("ro", "nosuid", "nodev", "noexec", "mode=755")


class EntryKind(enum.Enum):
    """What one top-level host entry becomes in the skeleton."""

    DIR = "dir"
    SYMLINK = "symlink"


@dataclass(frozen=True, slots=True)
class HostEntry:
    """One top-level entry of the host's root directory."""

    name: str
    kind: EntryKind
    mode: int = 0o755
    target: str = ""


@dataclass(frozen=True, slots=True)
class HostLayout:
    """What the host looks like from its root: the input of the plan (pure data)."""

    entries: tuple[HostEntry, ...]
    has_var_tmp: bool = True


def host_image() -> Image:
    """The ``host`` image record; its id derives from a fixed document only."""
    doc = image_document(HOST_CONFIG, diff_ids=(), created_ns=HOST_CREATED_NS, comment=HOST_COMMENT)
    return Image(
        id=image_id(canonical_json(doc)),
        repo_tags=(HOST_REPO_TAG,),
        created=HOST_CREATED_NS // 1_000_000_000,
        size=0,
        config=HOST_CONFIG,
        layers=(),
        comment=HOST_COMMENT,
        builtin=True,
    )


def scan_host(host_root: Path = Path("/")) -> HostLayout:
    """Read the host's top-level layout (blocking: a handful of lstat calls)."""
    entries = []
    for name in sorted(os.listdir(host_root)):
        st = os.lstat(host_root / name)
        if stat.S_ISLNK(st.st_mode):
            entries.append(HostEntry(name, EntryKind.SYMLINK, target=os.readlink(host_root / name)))
        elif stat.S_ISDIR(st.st_mode):
            entries.append(HostEntry(name, EntryKind.DIR, mode=stat.S_IMODE(st.st_mode)))
    has_var_tmp = (host_root / "var" / "tmp").is_dir()
    return HostLayout(tuple(entries), has_var_tmp=has_var_tmp)


def skeleton_entries(layout: HostLayout) -> tuple[HostEntry, ...]:
    """The skeleton's entries: the host's, plus the mount points every rootfs needs."""
    names = {e.name for e in layout.entries}
    extra = [HostEntry(n, EntryKind.DIR, mode=m) for n, m in ALWAYS_DIRS.items() if n not in names]
    return tuple(sorted((*layout.entries, *extra), key=lambda e: e.name))


def skeleton_key(layout: HostLayout) -> str:
    """A short digest naming the skeleton directory, so a changed host gets a new one."""
    spec = [[e.name, e.kind.value, e.mode, e.target] for e in skeleton_entries(layout)]
    return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:16]


def build_skeleton(base: Path, layout: HostLayout) -> Path:
    """Create (once) and return the skeleton directory under ``base`` (blocking).

    Built in a temporary directory and renamed into place, so a crash never
    leaves a half-built skeleton under its final name.
    """
    final = base / skeleton_key(layout)
    if final.is_dir():
        return final / "fs"
    base.mkdir(parents=True, exist_ok=True)
    staging = base / f".tmp-{uuid.uuid4().hex}"
    fs = staging / "fs"
    fs.mkdir(parents=True)
    os.chmod(fs, 0o755)
    try:
        for entry in skeleton_entries(layout):
            if entry.kind is EntryKind.SYMLINK:
                os.symlink(entry.target, fs / entry.name)
            else:
                (fs / entry.name).mkdir()
                os.chmod(fs / entry.name, entry.mode)
        os.rename(staging, final)
    except FileExistsError:
        shutil.rmtree(staging, ignore_errors=True)  # built concurrently: keep theirs
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final / "fs"


def host_rootfs_plan(skeleton: Path, layout: HostLayout, *, hide: Sequence[Path]) -> RootfsPlan:
    """The ``host`` image's rootfs: the skeleton plus read-only binds and private tmpfs.

    Args:
        skeleton: the skeleton directory (the overlay's only lower layer).
        layout: the host's top-level layout from ``scan_host``.
        hide: berth's own directories (data root, exec root); each one that
            would be visible through a bind is covered by an empty read-only tmpfs.
    """
    bound: list[str] = []
    mounts: list[Mount] = []
    scratch: list[str] = []
    for entry in layout.entries:
        if entry.kind is EntryKind.DIR and entry.name not in EXCLUDED:
            dest = f"/{entry.name}"
            bound.append(dest)
            mounts.append(Mount(destination=dest, type="bind", source=dest, options=BIND_OPTIONS))
    for dest, mode in SCRATCH:
        if dest == "/var/tmp" and not (layout.has_var_tmp and "/var" in bound):
            continue
        scratch.append(dest)
        mounts.append(
            Mount(destination=dest, type="tmpfs", source="tmpfs", options=("nosuid", "nodev", mode))
        )
    for path in hide:
        dest = str(PurePosixPath(os.path.normpath(path)))
        covering = _covering(dest, [*bound, *scratch])
        if covering in bound:  # under a private tmpfs it is invisible already
            mounts.append(
                Mount(destination=dest, type="tmpfs", source="tmpfs", options=MASK_OPTIONS)
            )
    return RootfsPlan(lowerdirs=(str(skeleton),), mounts=tuple(mounts))


def _covering(path: str, mount_points: Sequence[str]) -> str | None:
    """The innermost mount point at or above ``path`` (the one whose content shows there)."""
    above = [m for m in mount_points if path == m or path.startswith(m + "/")]
    return max(above, key=len) if above else None
