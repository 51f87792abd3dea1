"""Docker's copy-up: a new volume is filled with the image's content at its mount path.

moby ``copyExistingContents``: only into an empty volume; a full copy that
keeps ownership, modes, times, symlinks (as links, never followed), hard
links, fifos and device nodes; then the volume's root takes the source
directory's owner and mode. Extended attributes are copied where the
filesystem takes them (overlayfs' own ``trusted.overlay.*`` never).

Blocking: run it in a worker thread. The source is resolved with
``safety.scoped_path`` by the caller; below it nothing is followed.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from supervisor.errors import InvalidArgument

_CHUNK = 1 << 20


def is_empty_dir(path: Path) -> bool:
    with os.scandir(path) as entries:
        return next(entries, None) is None


def copy_tree(source: Path, destination: Path) -> None:
    """Copy the content of directory ``source`` into the existing, empty ``destination``.

    Raises:
        InvalidArgument: ``source`` exists but is not a directory (a volume
            cannot be mounted over a file: Docker's message).
    """
    st = os.lstat(source)
    if not stat.S_ISDIR(st.st_mode):
        msg = f"cannot mount volume over existing file, file exists {source}"
        raise InvalidArgument(msg)
    links: dict[tuple[int, int], str] = {}
    _copy_dir_content(str(source), str(destination), links)
    _copy_metadata(str(source), str(destination), st)


def _copy_dir_content(src: str, dst: str, links: dict[tuple[int, int], str]) -> None:
    with os.scandir(src) as it:
        entries = list(it)
    for entry in entries:
        s = entry.path
        d = os.path.join(dst, entry.name)
        st = entry.stat(follow_symlinks=False)
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            os.mkdir(d, 0o700)
            _copy_dir_content(s, d, links)
        elif stat.S_ISLNK(mode):
            os.symlink(os.readlink(s), d)
        elif stat.S_ISREG(mode):
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in links:
                os.link(links[key], d)
                continue
            _copy_file(s, d)
            if st.st_nlink > 1:
                links[key] = d
        elif stat.S_ISFIFO(mode):
            os.mkfifo(d, 0o600)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            os.mknod(d, stat.S_IFMT(mode) | 0o600, st.st_rdev)
        else:
            continue  # sockets are not copied
        _copy_metadata(s, d, st)


def _copy_file(src: str, dst: str) -> None:
    fin = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        fout = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            while True:
                try:
                    n = os.copy_file_range(fin, fout, _CHUNK)
                except OSError:
                    n = _copy_plain(fin, fout)
                    break
                if n == 0:
                    break
        finally:
            os.close(fout)
    finally:
        os.close(fin)


def _copy_plain(fin: int, fout: int) -> int:
    total = 0
    while chunk := os.read(fin, _CHUNK):
        os.write(fout, chunk)
        total += len(chunk)
    return total


def _copy_metadata(src: str, dst: str, st: os.stat_result) -> None:
    is_link = stat.S_ISLNK(st.st_mode)
    _copy_xattrs(src, dst)
    os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
    if not is_link:
        os.chmod(dst, stat.S_IMODE(st.st_mode))
    with contextlib.suppress(OSError):
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _copy_xattrs(src: str, dst: str) -> None:
    try:
        names = os.listxattr(src, follow_symlinks=False)
    except OSError:
        return
    for name in names:
        if name.startswith("trusted.overlay."):
            continue
        with contextlib.suppress(OSError):
            os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=False), follow_symlinks=False)


__all__ = ["copy_tree", "is_empty_dir"]
