"""A sealed in-memory copy of runc, so that runc skips cloning itself on every start.

runc guards against CVE-2019-5736 (a container overwriting the host's runc
through ``/proc/self/exe``) by cloning its own binary before it enters a
container. runc 1.1 as Debian builds it bind-mounts itself read-only and
executes ``runc init`` a second time (one more Go start-up, about 1.5 ms per
container start or exec here); other builds copy the whole binary (~10 MB)
into a memfd. runc skips both when it already runs from a memfd that carries
all four write seals: its ``is_self_cloned`` check (libcontainer/nsenter/
cloned_binary.c) accepts that as safe, since nothing can write to such a file,
and runc's own ``memfd-bind`` tool is built on it.

So the daemon makes that copy once and executes runc as ``/proc/self/fd/N``
(the fd passed to the child): the same protection, without the per-start cost.
The copy follows the file on disk: a binary replaced by a package upgrade is
copied again before the next start (:meth:`SealedBinary.changed`).
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass

# F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE: runc's RUNC_MEMFD_SEALS.
SEALS = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE

Stamp = tuple[int, int, int, int]


def stamp_of(path: str) -> Stamp:
    """What identifies one version of the file: device, inode, size, mtime."""
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass(frozen=True, slots=True)
class SealedBinary:
    """An executable sealed memfd holding a copy of ``source`` as it was at ``stamp``."""

    source: str
    fd: int
    stamp: Stamp

    @property
    def exe(self) -> str:
        """The path a child process executes (it must inherit ``fd``)."""
        return f"/proc/self/fd/{self.fd}"

    def changed(self) -> bool:
        """Whether the file on disk is no longer the one copied (or is gone)."""
        try:
            return stamp_of(self.source) != self.stamp
        except OSError:
            return True

    def close(self) -> None:
        os.close(self.fd)


def seal_copy(source: str) -> SealedBinary:
    """Copy ``source`` into a new memfd and seal it against every write (blocking: a worker thread).

    Raises:
        OSError: the file cannot be read, or the kernel lacks sealable memfds.
    """
    fd = os.memfd_create(os.path.basename(source), os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        with open(source, "rb") as f:
            stamp = stamp_of(source)
            size = os.fstat(f.fileno()).st_size
            copied = 0
            while copied < size:
                n = os.sendfile(fd, f.fileno(), copied, size - copied)
                if n == 0:
                    break
                copied += n
        if copied != size or stamp_of(source) != stamp:
            msg = f"{source} changed while it was copied"
            raise OSError(msg)
        os.fchmod(fd, 0o555)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, SEALS)
    except BaseException:
        os.close(fd)
        raise
    return SealedBinary(source, fd, stamp)
