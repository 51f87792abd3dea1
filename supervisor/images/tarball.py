"""Layer tarballs: safe extraction into a layer directory, and a busybox rootfs builder.

Rules / theory of operation for ``extract_layer`` (blocking; run it in a
worker thread):

* The input may be a plain tar or gzip/bzip2/xz compressed (sniffed from the
  magic bytes, like ``docker import``). The diff id is the sha256 of the
  *uncompressed* stream, hashed while it is extracted (one pass).
* Every path is resolved from the layer root one component at a time with
  ``openat(O_NOFOLLOW | O_DIRECTORY)``; a member whose path climbs out with
  ``..`` or passes through a symlink (say one planted by an earlier member) is
  refused, so nothing is ever written outside the layer. Leading ``/`` is
  stripped. Symlink *targets* are stored verbatim: absolute ones resolve
  inside the container at run time. Hard links resolve the same way, so they
  only ever point inside the layer.
* We run as root and keep what the tar says: numeric uid/gid, mode including
  setuid bits (chmod after chown, which would clear them), mtimes (directory
  times last, since creating children changes them), xattrs, device nodes and
  FIFOs. OCI whiteouts (``.wh.name``, ``.wh..wh..opq``) become overlayfs ones.
* A later member replaces an earlier one of the same name, as tar does.
"""

from __future__ import annotations

import bz2
import errno
import gzip
import hashlib
import io
import lzma
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from supervisor.errors import InvalidArgument

CHUNK = 1 << 20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
WHITEOUT_PREFIX = ".wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"


@dataclass(frozen=True, slots=True)
class Extracted:
    """What one extraction produced: the diff id and the bytes of file content."""

    diff_id: str
    size: int


class _Corrupt(Exception):
    """The compressed stream itself is broken (raised from inside tarfile's reads)."""


class _HashingReader(io.RawIOBase):
    """Reads the decompressed stream, hashing every byte that passes."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._inner.read(size)
        except (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError) as exc:
            raise _Corrupt(str(exc) or type(exc).__name__) from exc
        self.sha.update(data)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


def _decompressed(raw: IO[bytes]) -> IO[bytes]:
    """Wrap ``raw`` in the decompressor its magic bytes name (none for plain tar)."""
    head = raw.read(6)
    raw.seek(0)
    if head.startswith(b"\x1f\x8b"):
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    if head.startswith(b"BZh"):
        return bz2.BZ2File(raw, mode="rb")
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(raw, mode="rb")
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        msg = "invalid tar archive: zstd compression is not supported; use gzip, bzip2 or xz"
        raise InvalidArgument(msg)
    return raw


def extract_layer(raw: IO[bytes], dest: Path) -> Extracted:
    """Extract a (possibly compressed) tar stream into the empty directory ``dest``.

    Args:
        raw: the upload, seekable, positioned at its start.
        dest: an existing empty directory; the caller removes it on failure.

    Raises:
        InvalidArgument: the upload is not a tar (or is corrupt), or a member
            tries to escape the layer root.
    """
    reader = _HashingReader(_decompressed(raw))
    extractor = _Extractor(dest)
    try:
        try:
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                for member in tar:
                    extractor.add(member, tar)
            reader.drain()
        except _Corrupt as exc:
            msg = f"invalid tar archive: corrupt compressed data ({exc})"
            raise InvalidArgument(msg) from exc
        except tarfile.TarError as exc:
            msg = f"invalid tar archive: {exc}"
            raise InvalidArgument(msg) from exc
        extractor.finish()
    finally:
        extractor.close()
    return Extracted(diff_id="sha256:" + reader.sha.hexdigest(), size=extractor.size)


class _Extractor:
    """Applies tar members below one root fd without ever following a symlink."""

    def __init__(self, root: Path) -> None:
        self.root_fd = os.open(root, _DIR_FLAGS)
        self.size = 0
        self._dir_times: dict[tuple[str, ...], int] = {}
        self._cache: tuple[tuple[str, ...], int] | None = None

    def close(self) -> None:
        self._drop_cache()
        os.close(self.root_fd)

    # --- paths ---------------------------------------------------------------

    @staticmethod
    def _clean(name: str, what: str) -> tuple[str, ...]:
        parts: list[str] = []
        for comp in name.split("/"):
            if comp in ("", "."):
                continue
            if comp == "..":
                if not parts:
                    msg = f"invalid tar archive: {what} {name!r} escapes the image root"
                    raise InvalidArgument(msg)
                parts.pop()
            else:
                parts.append(comp)
        return tuple(parts)

    def _drop_cache(self) -> None:
        if self._cache is not None:
            os.close(self._cache[1])
            self._cache = None

    def _walk(self, parts: tuple[str, ...], *, create: bool, member: str) -> int:
        """An fd (borrowed: do not close) for the directory ``parts`` below the root."""
        if not parts:
            return self.root_fd
        if self._cache is not None and self._cache[0] == parts:
            return self._cache[1]
        fd = self.root_fd
        try:
            for i, comp in enumerate(parts):
                try:
                    nfd = os.open(comp, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    os.mkdir(comp, 0o755, dir_fd=fd)
                    nfd = os.open(comp, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                        raise
                    prefix = "/".join(parts[: i + 1])
                    kind = (
                        "symlink"
                        if stat.S_ISLNK(os.lstat(comp, dir_fd=fd).st_mode)
                        else "non-directory"
                    )
                    msg = f"invalid tar archive: member {member!r} would be written through the {kind} {prefix!r}"
                    raise InvalidArgument(msg) from exc
                if fd != self.root_fd:
                    os.close(fd)
                fd = nfd
        except BaseException:
            if fd != self.root_fd:
                os.close(fd)
            raise
        self._drop_cache()
        self._cache = (parts, fd)
        return fd

    # --- members -------------------------------------------------------------

    def add(self, member: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        parts = self._clean(member.name, "member")
        if not parts:
            if member.isdir():
                self._own(self.root_fd, None, member)
                self._dir_times[()] = _mtime_ns(member)
            return
        pfd = self._walk(parts[:-1], create=True, member=member.name)
        leaf = parts[-1]
        if leaf == WHITEOUT_OPAQUE:
            os.setxattr(pfd, "trusted.overlay.opaque", b"y")
            return
        if leaf.startswith(WHITEOUT_PREFIX):
            leaf = leaf[len(WHITEOUT_PREFIX) :]
            self._make_room(pfd, leaf, keep_dir=False)
            os.mknod(leaf, stat.S_IFCHR | 0o600, os.makedev(0, 0), dir_fd=pfd)
            return
        self._make_room(pfd, leaf, keep_dir=member.isdir())
        if member.isreg():
            self._file(pfd, leaf, member, tar)
        elif member.isdir():
            if not _exists(pfd, leaf):
                os.mkdir(leaf, 0o700, dir_fd=pfd)
            dfd = os.open(leaf, _DIR_FLAGS, dir_fd=pfd)
            try:
                self._own(dfd, None, member)
            finally:
                os.close(dfd)
            self._dir_times[parts] = _mtime_ns(member)
        elif member.issym():
            os.symlink(member.linkname, leaf, dir_fd=pfd)
            os.chown(leaf, member.uid, member.gid, dir_fd=pfd, follow_symlinks=False)
            ns = _mtime_ns(member)
            os.utime(leaf, ns=(ns, ns), dir_fd=pfd, follow_symlinks=False)
        elif member.islnk():
            self._hardlink(parts, member)
        elif member.ischr() or member.isblk() or member.isfifo():
            kind = (
                stat.S_IFCHR if member.ischr() else stat.S_IFBLK if member.isblk() else stat.S_IFIFO
            )
            dev = os.makedev(member.devmajor, member.devminor) if not member.isfifo() else 0
            os.mknod(leaf, kind | (member.mode & 0o777), dev, dir_fd=pfd)
            os.chown(leaf, member.uid, member.gid, dir_fd=pfd, follow_symlinks=False)
            os.chmod(leaf, member.mode & 0o7777, dir_fd=pfd)
            ns = _mtime_ns(member)
            os.utime(leaf, ns=(ns, ns), dir_fd=pfd, follow_symlinks=False)
        # Other types (GNU volume headers and the like) carry no file: skip them.

    def _make_room(self, pfd: int, leaf: str, *, keep_dir: bool) -> None:
        """Remove an earlier entry named ``leaf`` unless it is a directory we keep."""
        try:
            st = os.lstat(leaf, dir_fd=pfd)
        except FileNotFoundError:
            return
        # The cached fd is ``pfd`` itself (the parent), never something below
        # ``leaf``, so removing ``leaf`` cannot leave the cache stale.
        if stat.S_ISDIR(st.st_mode):
            if keep_dir:
                return
            shutil.rmtree(leaf, dir_fd=pfd)
        else:
            os.unlink(leaf, dir_fd=pfd)

    def _file(self, pfd: int, leaf: str, member: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(leaf, flags, 0o600, dir_fd=pfd)
        try:
            src = tar.extractfile(member)
            if src is not None:
                while chunk := src.read(CHUNK):
                    _write_all(fd, chunk)
            self._own(fd, member.size, member)
        finally:
            os.close(fd)
        self.size += member.size

    def _hardlink(self, parts: tuple[str, ...], member: tarfile.TarInfo) -> None:
        target = self._clean(member.linkname, "hard link target of")
        if not target:
            msg = f"invalid tar archive: hard link {member.name!r} points at the image root"
            raise InvalidArgument(msg)
        try:
            # The walk may replace the cached parent fd, so take it last.
            tfd = self._walk(target[:-1], create=False, member=member.name)
            tdir = os.dup(tfd)
        except FileNotFoundError as exc:
            msg = f"invalid tar archive: hard link {member.name!r} to missing {member.linkname!r}"
            raise InvalidArgument(msg) from exc
        try:
            pfd = self._walk(parts[:-1], create=True, member=member.name)
            os.link(target[-1], parts[-1], src_dir_fd=tdir, dst_dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError as exc:
            msg = f"invalid tar archive: hard link {member.name!r} to missing {member.linkname!r}"
            raise InvalidArgument(msg) from exc
        except PermissionError as exc:
            msg = f"invalid tar archive: hard link {member.name!r} to a directory"
            raise InvalidArgument(msg) from exc
        finally:
            os.close(tdir)

    @staticmethod
    def _own(fd: int, size: int | None, member: tarfile.TarInfo) -> None:
        """Ownership, then mode (chown clears setuid), xattrs, then times (files only)."""
        os.fchown(fd, member.uid, member.gid)
        os.fchmod(fd, member.mode & 0o7777)
        for key, value in member.pax_headers.items():
            if key.startswith("SCHILY.xattr."):
                try:
                    os.setxattr(
                        fd, key[len("SCHILY.xattr.") :], value.encode("utf-8", "surrogateescape")
                    )
                except OSError as exc:
                    if exc.errno not in (errno.ENOTSUP, errno.EPERM, errno.EINVAL):
                        raise
        if size is not None:
            ns = _mtime_ns(member)
            os.utime(fd, ns=(ns, ns))

    def finish(self) -> None:
        """Set directory times last: creating their children changed them."""
        for parts, ns in sorted(self._dir_times.items(), key=lambda kv: -len(kv[0])):
            try:
                fd = self._walk(parts, create=False, member="/".join(parts))
            except (FileNotFoundError, InvalidArgument):
                continue  # replaced by a later member
            os.utime(fd, ns=(ns, ns))


def _exists(pfd: int, leaf: str) -> bool:
    try:
        os.lstat(leaf, dir_fd=pfd)
    except FileNotFoundError:
        return False
    return True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _mtime_ns(member: tarfile.TarInfo) -> int:
    return int(member.mtime * 1_000_000_000)


# --- a busybox rootfs, built from the host's busybox-static ---------------------

PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = "root:x:0:\nnogroup:x:65534:\n"
_DIRS = {
    "bin": 0o755,
    "sbin": 0o755,
    "usr": 0o755,
    "usr/bin": 0o755,
    "usr/sbin": 0o755,
    "etc": 0o755,
    "root": 0o700,
    "home": 0o755,
    "var": 0o755,
    "tmp": 0o1777,
    "proc": 0o555,
    "sys": 0o555,
    "dev": 0o755,
}


def build_busybox_tarball(path: Path, *, busybox: Path = Path("/bin/busybox")) -> None:
    """Write a minimal busybox rootfs tar to ``path`` (deterministic for a given binary).

    The tar holds ``/bin/busybox`` (the host's static build), a symlink for
    every applet at the path busybox itself lists, ``/etc/passwd`` (root,
    nobody), ``/etc/group`` and the usual empty mount points. Identical input
    gives an identical tar, so re-importing reuses the layer.

    Raises:
        FileNotFoundError: busybox is not installed (``apt-get install busybox-static``).
    """
    real = busybox.resolve(strict=True)
    binary = real.read_bytes()
    mtime = int(real.stat().st_mtime)
    listing = subprocess.run([str(real), "--list-full"], capture_output=True, text=True, check=True)
    applets = sorted({line.strip() for line in listing.stdout.splitlines() if line.strip()})

    def info(name: str, kind: bytes, mode: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.size, ti.linkname, ti.mtime = kind, mode, size, link, mtime
        ti.uname = ti.gname = "root"
        return ti

    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, mode in _DIRS.items():
            tar.addfile(info(name, tarfile.DIRTYPE, mode))
        tar.addfile(info("bin/busybox", tarfile.REGTYPE, 0o755, len(binary)), io.BytesIO(binary))
        for applet in applets:
            if applet != "bin/busybox" and applet.split("/")[0] in ("bin", "sbin", "usr"):
                tar.addfile(info(applet, tarfile.SYMTYPE, 0o777, link="/bin/busybox"))
        for name, text in (("etc/passwd", PASSWD), ("etc/group", GROUP)):
            data = text.encode()
            tar.addfile(info(name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))


def main(argv: list[str] | None = None, *, out: Callable[[str], object] = print) -> int:
    """``python -m supervisor.images.tarball OUT.tar``: write the busybox rootfs tar."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        out("usage: python -m supervisor.images.tarball OUT.tar")
        return 2
    build_busybox_tarball(Path(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
