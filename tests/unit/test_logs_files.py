"""Rotating files: naming, max-size cut, max-file, gzip with lastTime, listing, tail backwards."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from supervisor.logs.files import LogFiles, list_rotated, snapshot_of, tail_block
from supervisor.logs.jsonfile import decode_block, encode_batch, parse_time
from supervisor.logs.options import JsonFileOptions

T = 1546341071_000000000


def lines(start: int, count: int) -> bytes:
    """``count`` entries of equal length; entry i is "00000i" written at T + 111111111 + i*2."""
    return b"".join(encode_batch(1, T + 111111111 + 2 * i, [b"%06d" % i], True) for i in range(start, start + count))


def names(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


def read_entries(path: Path) -> list[bytes]:
    snap = snapshot_of(path)
    try:
        from supervisor.logs.files import read_all

        data = b"".join(read_all(f) for f in snap.files)
    finally:
        snap.close()
    entries, bad = decode_block(data)
    assert bad == 0
    return [e.line for e in entries]


LINE = len(lines(0, 1))


def test_rotation_naming_and_cut(tmp_path: Path) -> None:
    """Checked before each entry: a file exceeds max-size by at most one entry; .1 .. .N-1 then current."""
    path = tmp_path / "c-json.log"
    files = LogFiles(path, JsonFileOptions(max_size=LINE * 3 + 1, max_file=3))
    files.write(lines(0, 10))
    assert names(tmp_path) == ["c-json.log", "c-json.log.1", "c-json.log.2"]
    assert (tmp_path / "c-json.log.1").stat().st_size == LINE * 4
    assert files.rotations == 2
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    assert read_entries(path) == [b"%06d\n" % i for i in range(0, 10)]
    files.write(lines(10, 8))
    assert read_entries(path) == [b"%06d\n" % i for i in range(8, 18)]  # 4 per file, 3 files kept
    files.close()


def test_max_file_one_truncates(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    files = LogFiles(path, JsonFileOptions(max_size=LINE * 2, max_file=1))
    files.write(lines(0, 5))
    assert names(tmp_path) == ["c-json.log"]
    assert read_entries(path) == [b"000004\n"]
    files.close()


def test_compress_with_last_time(tmp_path: Path) -> None:
    """.1 is gzipped into .1.gz whose header Extra holds {"lastTime": ...}; readers see all of it."""
    path = tmp_path / "c-json.log"
    files = LogFiles(path, JsonFileOptions(max_size=LINE * 2, max_file=4, compress=True))
    for start in range(0, 12, 2):
        if files.write(lines(start, 2)):
            files.compress_rotated()
    assert names(tmp_path) == ["c-json.log", "c-json.log.1.gz", "c-json.log.2.gz", "c-json.log.3.gz"]
    with open(tmp_path / "c-json.log.1.gz", "rb") as f:
        raw = f.read()
    assert raw[3] & 0x04
    xlen = int.from_bytes(raw[10:12], "little")
    import json

    extra = json.loads(raw[12 : 12 + xlen])
    assert parse_time(extra["lastTime"]) == T + 111111111 + 2 * 9
    assert gzip.decompress(raw) == lines(8, 2)
    assert read_entries(path) == [b"%06d\n" % i for i in range(4, 12)]
    files.close()


def test_listing_oldest_first(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    for name in ("c-json.log.1", "c-json.log.3.gz", "c-json.log.2", "c-json.log.10", "other.1"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for _, p, _ in list_rotated(path)] == [
        "c-json.log.10", "c-json.log.3.gz", "c-json.log.2", "c-json.log.1"
    ]


@pytest.mark.parametrize("count", [0, 1, 5, 99, 100, 250])
def test_tail_block_backwards(tmp_path: Path, count: int) -> None:
    """tail reads whole lines from the end; fewer when the file is shorter."""
    path = tmp_path / "c-json.log"
    path.write_bytes(lines(0, 100))
    snap = snapshot_of(path)
    try:
        data, got = tail_block(snap.files[-1], count)
    finally:
        snap.close()
    assert got == min(count, 100)
    entries, _ = decode_block(data)
    assert [e.line for e in entries] == [b"%06d\n" % i for i in range(100 - got, 100)]


def test_tail_cost_does_not_grow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tail 10 of a big file reads only the last block(s)."""
    path = tmp_path / "c-json.log"
    path.write_bytes(lines(0, 20000))
    read = 0
    real = os.pread

    def counting(fd: int, n: int, off: int) -> bytes:
        nonlocal read
        data = real(fd, n, off)
        read += len(data)
        return data

    monkeypatch.setattr(os, "pread", counting)
    snap = snapshot_of(path)
    try:
        _, got = tail_block(snap.files[-1], 10)
    finally:
        snap.close()
    assert got == 10
    assert read <= 64 * 1024
    assert path.stat().st_size > 20 * read


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    path.write_bytes(lines(0, 3) + b'{"log":"par')
    snap = snapshot_of(path)
    try:
        data, got = tail_block(snap.files[-1], 2)
    finally:
        snap.close()
    assert got == 2 and data == lines(1, 2)
