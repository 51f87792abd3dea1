"""The local volume driver on disk: ``<root>/<name>/_data`` plus a small metadata file.

Layout (``root`` is ``<data-root>/volumes``)::

    <root>/<name>/_data             the volume's content (the bind source)
    <root>/<name>/volume.json       Volume.to_json(), replaced atomically
    <root>/.mounts/<container>.json a container's registered mount points

Volume names match ``[a-zA-Z0-9][a-zA-Z0-9_.-]+``, so they can never be
``.mounts`` nor contain ``/`` or ``..``: a volume's ``_data`` path is fixed by
its name and nothing a request says can point elsewhere.

Synchronous and blocking: the volume service calls it from worker threads
(``trio.to_thread.run_sync``); a lock keeps concurrent threads consistent.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import shutil
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from supervisor._logging import get_logger
from supervisor.errors import InvalidArgument, NotFound
from supervisor.volumes.model import LOCAL_DRIVER, Volume
from supervisor.volumes.specs import check_volume_name, valid_volume_name

log = get_logger(__name__)

META = "volume.json"
DATA = "_data"
MOUNTS_DIR = ".mounts"
# The local driver's options, as moby's ``validOpts`` (type/device/o mount a
# filesystem at the volume's first use; berth does not do that yet).
_LOCAL_OPTIONS = frozenset({"type", "device", "o", "size"})


def no_such_volume(name: str) -> NotFound:
    return NotFound(f"get {name}: no such volume")


def write_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temp file, fsync, rename over ``path``, fsync the directory."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_options(name: str, driver: str, options: Mapping[str, str]) -> None:
    """Refuse drivers other than local and options berth cannot honour.

    Raises:
        InvalidArgument: an unknown driver, option key, or any option at all
            (mounting a device for a volume is not implemented yet).
    """
    if driver not in ("", LOCAL_DRIVER):
        msg = f"create {name}: volume driver {driver!r} is not supported: berth has only the local driver"
        raise InvalidArgument(msg)
    for key in options:
        if key not in _LOCAL_OPTIONS:
            msg = f'create {name}: invalid option key: "{key}"'
            raise InvalidArgument(msg)
    if options:
        msg = (
            f"create {name}: local volume options ({', '.join(sorted(options))}) are not "
            "supported by berth yet"
        )
        raise InvalidArgument(msg)


class VolumeStore:
    """Volumes of the local driver, kept in memory and persisted under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._volumes: dict[str, Volume] = {}
        self._lock = threading.Lock()

    # --- paths --------------------------------------------------------------------

    def data_path(self, name: str) -> Path:
        """The volume's content directory (its mountpoint); ``name`` must be valid."""
        if not valid_volume_name(name):
            check_volume_name(name)
        return self.root / name / DATA

    def _mounts_dir(self) -> Path:
        return self.root / MOUNTS_DIR

    # --- load ---------------------------------------------------------------------

    def load(self) -> None:
        """Read every volume's metadata (a directory without one is adopted as a bare volume)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o701)
        self._mounts_dir().mkdir(exist_ok=True, mode=0o700)
        found: dict[str, Volume] = {}
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
            if not entry.is_dir(follow_symlinks=False) or not valid_volume_name(entry.name):
                continue
            meta = Path(entry.path) / META
            try:
                volume = Volume.from_json(json.loads(meta.read_text()))
            except FileNotFoundError:
                st = os.stat(entry.path, follow_symlinks=False)
                volume = Volume(name=entry.name, created_at=st.st_ctime_ns)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.error("unreadable volume metadata, skipped", volume=entry.name, error=str(exc))
                continue
            if volume.name != entry.name:
                log.error("volume metadata names another volume, skipped", volume=entry.name)
                continue
            found[entry.name] = volume
        with self._lock:
            self._volumes = found

    # --- queries --------------------------------------------------------------------

    def get(self, name: str) -> Volume:
        """Raises NotFound("get NAME: no such volume")."""
        try:
            return self._volumes[name]
        except KeyError:
            raise no_such_volume(name) from None

    def exists(self, name: str) -> bool:
        return name in self._volumes

    def list(self) -> builtins.list[Volume]:
        return sorted(self._volumes.values(), key=lambda v: v.name)

    # --- changes --------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        now: int,
        labels: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
        driver: str = LOCAL_DRIVER,
    ) -> tuple[Volume, bool]:
        """Create ``name`` or return the existing one (Docker ignores the new labels then).

        Returns:
            (the volume, True if it was created now)

        Raises:
            InvalidArgument: a bad name, driver or option.
        """
        check_volume_name(name)
        check_options(name, driver, options or {})
        with self._lock:
            existing = self._volumes.get(name)
            if existing is not None:
                return existing, False
            volume = Volume(
                name=name, created_at=now, labels=dict(labels or {}), options=dict(options or {})
            )
            directory = self.root / name
            directory.mkdir(mode=0o701, exist_ok=True)
            (directory / DATA).mkdir(mode=0o755, exist_ok=True)
            write_atomic(directory / META, volume.to_json())
            self._volumes[name] = volume
            return volume, True

    def mark_populated(self, name: str) -> Volume:
        with self._lock:
            volume = self.get(name)
            if not volume.populated:
                volume = Volume(
                    name=volume.name, created_at=volume.created_at, labels=volume.labels,
                    options=volume.options, driver=volume.driver, populated=True,
                )  # fmt: skip
                write_atomic(self.root / name / META, volume.to_json())
                self._volumes[name] = volume
            return volume

    def delete(self, name: str) -> int:
        """Remove the volume and its content; return the bytes its content used."""
        with self._lock:
            self.get(name)
            directory = self.root / name
            size = disk_usage(directory / DATA)
            # Metadata first: a crash half-way leaves a bare directory, adopted at load.
            with contextlib.suppress(FileNotFoundError):
                (directory / META).unlink()
            del self._volumes[name]
        shutil.rmtree(directory, ignore_errors=True)
        return size

    # --- container registrations ------------------------------------------------------

    def save_mounts(self, container_id: str, points: builtins.list[dict[str, Any]]) -> None:
        write_atomic(self._mounts_dir() / f"{_check_id(container_id)}.json", points)

    def drop_mounts(self, container_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self._mounts_dir() / f"{_check_id(container_id)}.json").unlink()

    def load_mounts(self) -> dict[str, builtins.list[dict[str, Any]]]:
        out: dict[str, builtins.list[dict[str, Any]]] = {}
        directory = self._mounts_dir()
        if not directory.is_dir():
            return out
        for path in directory.glob("*.json"):
            try:
                out[path.stem] = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                log.error("unreadable mount record, skipped", container_id=path.stem, error=str(exc))
        return out


def _check_id(container_id: str) -> str:
    if not container_id or not all(c.isalnum() for c in container_id):
        msg = f"invalid container id: {container_id!r}"
        raise InvalidArgument(msg)
    return container_id


def disk_usage(path: Path) -> int:
    """Bytes used by files under ``path`` (each inode counted once; symlinks not followed)."""
    total = 0
    seen: set[tuple[int, int]] = set()
    stack = [str(path)]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            total += st.st_size
    return total
