"""The rotating set of json-file files of one container (blocking I/O: call from worker threads).

Rules (moby loggerutils/logfile.go, docker-semantics.md §2.2):

- Rotation is checked BEFORE each entry is written: when the current file
  has reached ``max-size`` it is rotated, so a file exceeds ``max-size`` by at
  most one entry. A batch is cut at the entry that crosses the limit.
- ``max-file`` ≥ 2: ``<name>.<max-file-1>[.gz]`` is deleted, ``.i`` moves to
  ``.i+1``, the current file becomes ``.1`` and a new empty one is created.
  ``max-file`` = 1: the current file is unlinked and recreated.
- With ``compress``, ``.1`` is gzipped to ``.1.gz`` later (``compress_rotated``,
  run by the writer in its own thread); the gzip header's Extra field holds
  ``{"lastTime": <RFC3339Nano of the last entry>}`` so readers can skip whole
  files for ``since``. A rotation waits for a compression still running.
- Readers get a consistent set of open files (oldest → newest) from
  ``snapshot``: renames and opens happen under one lock, and an open file stays
  readable after it is renamed or unlinked.

Files are created with mode 0640.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supervisor.logs.jsonfile import LogFormatError, decode_line, format_time, parse_time
from supervisor.logs.options import JsonFileOptions

FILE_MODE = 0o640
BLOCK = 64 * 1024
GZIP_LEVEL = 1

WriteFn = Callable[[int, Any], int]  # os.write: (fd, buffer) -> bytes written


@dataclass(frozen=True, slots=True)
class SnapshotFile:
    """One file of a snapshot: an open fd and how many bytes of it to read."""

    path: Path
    fd: int
    size: int
    compressed: bool
    last_time_ns: int | None = None  # from the gzip header, if any


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every file, oldest first; the last one is the current file."""

    files: tuple[SnapshotFile, ...]
    rotations: int

    def close(self) -> None:
        for f in self.files:
            with contextlib.suppress(OSError):
                os.close(f.fd)


def rotated_name(path: Path, index: int, compressed: bool = False) -> Path:
    """``<name>.<index>`` or ``<name>.<index>.gz``."""
    return path.with_name(f"{path.name}.{index}{'.gz' if compressed else ''}")


def list_rotated(path: Path) -> list[tuple[int, Path, bool]]:
    """Existing rotated files as (index, path, compressed), OLDEST first (highest index)."""
    pattern = re.compile(re.escape(path.name) + r"\.(\d+)(\.gz)?")
    found: dict[int, tuple[Path, bool]] = {}
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        return []
    for name in names:
        m = pattern.fullmatch(name)
        if m is None:
            continue
        index, gz = int(m.group(1)), bool(m.group(2))
        if index in found and not found[index][1]:
            continue  # prefer the plain file while its compression finishes
        found[index] = (path.parent / name, gz)
    return [(i, found[i][0], found[i][1]) for i in sorted(found, reverse=True)]


class LogFiles:
    """Writes one container's log with rotation; hands readers consistent snapshots."""

    def __init__(self, path: Path, options: JsonFileOptions, *, write: WriteFn = os.write) -> None:
        self.path = path
        self.options = options
        self._write = write
        self._fd: int | None = None
        self.size = 0
        self.rotations = 0
        self._lock = threading.Lock()
        self._compressing = threading.Lock()
        self._to_compress: int | None = None  # lastTime of the file waiting to be compressed

    # ---------------------------------------------------------------- writing

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def open(self) -> None:
        """Open (or create) the current file for appending."""
        with self._lock:
            if self._fd is None:
                self._open_current()

    def _open_current(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        os.fchmod(fd, FILE_MODE)
        self._fd = fd
        self.size = os.fstat(fd).st_size

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def write(self, data: bytes) -> bool:
        """Append whole json-file lines, rotating first whenever the file is full.

        Returns:
            True if a rotated file now waits for ``compress_rotated``.

        Raises:
            OSError: the write failed (ENOSPC...); bytes before the failure may be written.
        """
        if self._fd is None:
            self.open()
        max_size = self.options.max_size
        pos = 0
        end = len(data)
        while pos < end:
            if 0 < max_size <= self.size:
                self._rotate()
            if max_size <= 0:
                cut = end
            else:
                room = max(max_size - self.size, 1)
                if end - pos <= room:
                    cut = end
                else:
                    nl = data.find(b"\n", pos + room - 1)
                    cut = end if nl < 0 else nl + 1
            self._write_all(data[pos:cut] if pos or cut != end else data)
            pos = cut
        return self._to_compress is not None

    def _write_all(self, chunk: bytes) -> None:
        assert self._fd is not None
        view = memoryview(chunk)
        while view:
            n = self._write(self._fd, view)
            self.size += n
            view = view[n:]

    def _last_time(self) -> int:
        """The time of the last entry of the current file (for the gzip header)."""
        assert self._fd is not None
        start = max(0, self.size - BLOCK)
        tail = os.pread(self._fd, self.size - start, start) if self.size else b""
        for raw in reversed(tail.rstrip(b"\n").split(b"\n")):
            try:
                return decode_line(raw).time_ns
            except LogFormatError:
                continue
        return time.time_ns()

    def _rotate(self) -> None:
        compress = self.options.compress
        last_time = self._last_time() if compress else None
        with self._compressing, self._lock:
            assert self._fd is not None
            os.close(self._fd)
            self._fd = None
            max_file = self.options.max_file
            if max_file <= 1:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)
            else:
                for gz in (False, True):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(rotated_name(self.path, max_file - 1, gz))
                for i in range(max_file - 2, 0, -1):
                    for gz in (False, True):
                        with contextlib.suppress(FileNotFoundError):
                            os.rename(rotated_name(self.path, i, gz), rotated_name(self.path, i + 1, gz))
                os.rename(self.path, rotated_name(self.path, 1))
                if compress:
                    self._to_compress = last_time
            self.rotations += 1
            self._open_current()

    def compress_rotated(self) -> None:
        """Gzip ``.1`` into ``.1.gz`` (Extra = {"lastTime": ...}), then delete ``.1``."""
        with self._compressing:
            last_time = self._to_compress
            self._to_compress = None
            if last_time is None:
                return
            source = rotated_name(self.path, 1)
            target = rotated_name(self.path, 1, True)
            tmp = target.with_name(target.name + ".tmp")
            try:
                write_gzip(source, tmp, {"lastTime": format_time(last_time)})
            except FileNotFoundError:
                return
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            with self._lock:
                os.rename(tmp, target)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(source)

    # ---------------------------------------------------------------- reading

    def snapshot(self) -> Snapshot:
        """Open every file, oldest first, under the rotation lock."""
        with self._lock:
            return snapshot_of(self.path, self.rotations)

    def open_current(self) -> tuple[int, int]:
        """(fd of the current file, rotation count it belongs to), for a follower."""
        with self._lock:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            return fd, self.rotations


def snapshot_of(path: Path, rotations: int = 0) -> Snapshot:
    """Open ``path``'s rotated files and ``path`` itself (missing ones are left out)."""
    files: list[SnapshotFile] = []
    try:
        for _, p, gz in list_rotated(path):
            try:
                fd = os.open(p, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            last = None
            if gz:
                with contextlib.suppress(OSError, ValueError, LogFormatError):
                    last = gzip_last_time(fd)
            files.append(SnapshotFile(p, fd, os.fstat(fd).st_size, gz, last))
        with contextlib.suppress(FileNotFoundError):
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            files.append(SnapshotFile(path, fd, os.fstat(fd).st_size, False))
    except BaseException:
        Snapshot(tuple(files), rotations).close()
        raise
    return Snapshot(tuple(files), rotations)


# ---------------------------------------------------------------- gzip with an Extra field


def write_gzip(source: Path, target: Path, extra: dict[str, str]) -> None:
    """Gzip ``source`` into ``target`` with ``extra`` as JSON in the header's FEXTRA field.

    Python's gzip module cannot write FEXTRA, so the member is framed here:
    RFC 1952 header, raw deflate, CRC32 and size.
    """
    extra_bytes = json.dumps(extra, separators=(",", ":")).encode()
    header = (
        b"\x1f\x8b\x08\x04"
        + struct.pack("<I", int(time.time()))
        + b"\x00\xff"
        + struct.pack("<H", len(extra_bytes))
        + extra_bytes
    )
    crc = 0
    size = 0
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    try:
        with open(source, "rb") as src, os.fdopen(fd, "wb", closefd=False) as out:
            out.write(header)
            while chunk := src.read(1024 * 1024):
                crc = zlib.crc32(chunk, crc)
                size += len(chunk)
                out.write(compressor.compress(chunk))
            out.write(compressor.flush())
            out.write(struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF))
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def gzip_extra(fd: int) -> bytes | None:
    """The FEXTRA bytes of the gzip member at the start of ``fd`` (None if absent)."""
    head = os.pread(fd, 12, 0)
    if len(head) < 12 or head[:3] != b"\x1f\x8b\x08" or not head[3] & 0x04:
        return None
    (xlen,) = struct.unpack("<H", head[10:12])
    return os.pread(fd, xlen, 12)


def gzip_last_time(fd: int) -> int | None:
    """``lastTime`` from the header's Extra JSON, unix ns (None if absent)."""
    extra = gzip_extra(fd)
    if not extra:
        return None
    value = json.loads(extra).get("lastTime")
    return parse_time(value) if isinstance(value, str) else None


def read_all(f: SnapshotFile) -> bytes:
    """The whole content of a snapshot file (decompressed), up to its snapshot size."""
    if f.compressed:
        with os.fdopen(os.dup(f.fd), "rb") as raw, gzip.GzipFile(fileobj=raw) as gz:
            return gz.read()
    return pread_all(f.fd, 0, f.size)


def pread_all(fd: int, start: int, stop: int) -> bytes:
    parts = []
    pos = start
    while pos < stop:
        chunk = os.pread(fd, min(stop - pos, 4 * 1024 * 1024), pos)
        if not chunk:
            break
        parts.append(chunk)
        pos += len(chunk)
    return b"".join(parts)


def iter_forward(f: SnapshotFile, block: int = 1024 * 1024) -> Iterator[bytes]:
    """Blocks of whole lines from the start of a snapshot file."""
    if f.compressed:
        with os.fdopen(os.dup(f.fd), "rb") as raw, gzip.GzipFile(fileobj=raw) as gz:
            rest = b""
            while chunk := gz.read(block):
                chunk = rest + chunk
                cut = chunk.rfind(b"\n") + 1
                rest = chunk[cut:]
                if cut:
                    yield chunk[:cut]
            if rest:
                yield rest
        return
    pos = 0
    rest = b""
    while pos < f.size:
        chunk = os.pread(f.fd, min(block, f.size - pos), pos)
        if not chunk:
            break
        pos += len(chunk)
        chunk = rest + chunk
        cut = chunk.rfind(b"\n") + 1
        rest = chunk[cut:]
        if cut:
            yield chunk[:cut]
    if rest:
        yield rest


def tail_block(f: SnapshotFile, count: int) -> tuple[bytes, int]:
    """The last ``count`` lines of a snapshot file, reading backwards in blocks.

    Returns:
        (the lines as bytes, how many lines that is: fewer than ``count`` when
        the file is shorter). A compressed file is read whole (it is at most
        ``max-size`` long).
    """
    if count <= 0:
        return b"", 0
    if f.compressed:
        data = read_all(f)
        return _last_lines(data, count)
    end = f.size
    pos = end
    block = BLOCK
    chunks: list[bytes] = []
    newlines = 0
    # Ignore a torn last line (no newline yet): it is not an entry.
    while pos > 0:
        start = max(0, pos - block)
        chunk = os.pread(f.fd, pos - start, start)
        chunks.append(chunk)
        pos = start
        newlines += chunk.count(b"\n")
        if newlines > count:
            break
        block = min(block * 2, 8 * 1024 * 1024)
    data = b"".join(reversed(chunks))
    return _last_lines(data, count)


def _last_lines(data: bytes, count: int) -> tuple[bytes, int]:
    """The last ``count`` newline-terminated lines of ``data`` (a torn last line is dropped)."""
    end = data.rfind(b"\n") + 1
    if end == 0:
        return b"", 0
    data = data[:end]
    pos = end - 1  # the final newline
    for i in range(count):
        nl = data.rfind(b"\n", 0, pos)
        if nl < 0:
            return data, i + 1
        if i + 1 == count:
            return data[nl + 1 :], count
        pos = nl
    return b"", 0
