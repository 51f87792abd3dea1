"""Path safety for mounts: daemon paths a bind may not expose, and scoped symlink resolution.

Two rules:

1. A bind source may not be the daemon's data root, exec root or API socket,
   a parent of one of them, or a path inside the data or exec root: any of
   those would hand a container the daemon's state or its socket (root on the
   host). ``/`` is therefore refused too. The opt-in is explicit, per
   container (the label ``berth.allow-daemon-paths=true``) or daemon-wide
   (``VolumeService(allow_daemon_paths=True)``). Paths are compared after
   ``realpath``, so a symlink to the data root is caught.
2. Image content copied into a new volume is read from ``<rootfs>/<target>``
   with every symlink resolved *inside* the rootfs (``scoped_path``, what
   filepath-securejoin does for Docker): an image whose ``/data`` is a link to
   ``/etc`` copies the image's ``/etc``, never the host's.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path

from supervisor.errors import InvalidArgument

ALLOW_DAEMON_PATHS_LABEL = "berth.allow-daemon-paths"
MAX_SYMLINKS = 255


def allows_daemon_paths(labels: Mapping[str, str]) -> bool:
    return labels.get(ALLOW_DAEMON_PATHS_LABEL, "").lower() in ("1", "true", "yes")


def _within(child: str, parent: str) -> bool:
    return child == parent or child.startswith(parent.rstrip("/") + "/")


def check_bind_source(
    source: str, *, state_dirs: Iterable[Path], sockets: Iterable[Path]
) -> None:
    """Refuse a bind of the daemon's own state or socket (see the module rules).

    Args:
        source: the bind's host path (it may not exist yet: its nearest
            existing parent is resolved).
        state_dirs: the data root and exec root.
        sockets: the API socket path(s).

    Raises:
        InvalidArgument: the source exposes one of them.
    """
    real = _realpath(source)
    for directory in state_dirs:
        protected = _realpath(str(directory))
        if _within(protected, real) or _within(real, protected):
            raise _refused(source, protected)
    for sock in sockets:
        protected = _realpath(str(sock))
        if _within(protected, real):
            raise _refused(source, protected)


def _refused(source: str, protected: str) -> InvalidArgument:
    msg = (
        f'invalid mount config for type "bind": bind source path {source} exposes the '
        f"daemon's own state ({protected}); set the label {ALLOW_DAEMON_PATHS_LABEL}=true "
        "on the container to allow it"
    )
    return InvalidArgument(msg)


def _realpath(path: str) -> str:
    """``realpath`` of the longest existing prefix, with the missing rest appended."""
    head, tail = path, ""
    while head not in ("", "/") and not os.path.lexists(head):
        head, rest = os.path.split(head)
        tail = os.path.join(rest, tail) if tail else rest
    real = os.path.realpath(head or "/")
    return os.path.normpath(os.path.join(real, tail)) if tail else real


def scoped_path(root: Path, unsafe: str) -> Path:
    """``root`` joined with ``unsafe``, every symlink resolved as if ``root`` were ``/``.

    The result is always ``root`` or below it. Missing components are kept as
    they are (the result may not exist).

    Raises:
        InvalidArgument: more than 255 symlinks (a loop).
    """
    base = str(root)
    parts = deque(unsafe.split("/"))
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.popleft()
        if part in ("", "."):
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(base, *resolved, part)
        try:
            st = os.lstat(candidate)
        except OSError:
            resolved.append(part)
            continue
        if stat.S_ISLNK(st.st_mode):
            links += 1
            if links > MAX_SYMLINKS:
                msg = f"too many symlinks resolving {unsafe} in the image"
                raise InvalidArgument(msg)
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts.extendleft(reversed(target.split("/")))
            continue
        resolved.append(part)
    return Path(base, *resolved)


__all__ = ["ALLOW_DAEMON_PATHS_LABEL", "allows_daemon_paths", "check_bind_source", "scoped_path"]
