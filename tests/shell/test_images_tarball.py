"""Safe layer extraction: what a tar may and may not do to the filesystem."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import random
import shutil
import stat
import tarfile
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from supervisor.errors import InvalidArgument
from supervisor.images.tarball import build_busybox_tarball, extract_layer, main

Member = tuple[tarfile.TarInfo, bytes | None]


def _ti(name: str, kind: bytes = tarfile.REGTYPE, **kw: object) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    ti.mtime = 1_600_000_000
    for key, value in kw.items():
        setattr(ti, key, value)
    return ti


def make_tar(members: list[Member]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for ti, data in members:
            if data is not None:
                ti.size = len(data)
                tar.addfile(ti, io.BytesIO(data))
            else:
                tar.addfile(ti)
    return buf.getvalue()


def f(name: str, data: bytes = b"x", **kw: object) -> Member:
    return _ti(name, tarfile.REGTYPE, **kw), data


def d(name: str, **kw: object) -> Member:
    return _ti(name, tarfile.DIRTYPE, **kw), None


def sym(name: str, target: str) -> Member:
    return _ti(name, tarfile.SYMTYPE, linkname=target), None


def hard(name: str, target: str) -> Member:
    return _ti(name, tarfile.LNKTYPE, linkname=target), None


@pytest.fixture
def box(tmp_path: Path) -> tuple[Path, Path]:
    """A layer dir and a sibling 'outside' dir that must stay untouched."""
    layer, outside = tmp_path / "layer", tmp_path / "outside"
    layer.mkdir()
    outside.mkdir()
    (outside / "secret").write_text("keep")
    return layer, outside


def extract(data: bytes, dest: Path) -> str:
    return extract_layer(io.BytesIO(data), dest).diff_id


def assert_outside_untouched(outside: Path) -> None:
    assert sorted(os.listdir(outside)) == ["secret"]
    assert (outside / "secret").read_text() == "keep"
    assert os.stat(outside / "secret").st_nlink == 1


def test_files_dirs_modes_owners_times(box: tuple[Path, Path]) -> None:
    """Modes incl. setuid, numeric owners and mtimes (dirs too) are kept."""
    layer, _ = box
    data = make_tar(
        [
            d("opt", mode=0o750, uid=7, gid=8, mtime=1_500_000_000),
            f("opt/tool", b"#!/bin/sh\n", mode=0o4755, uid=1234, gid=5678, mtime=1_400_000_000),
            f("deep/implicit/file", b"auto parents"),
        ]
    )
    diff_id = extract(data, layer)
    assert diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    st = os.stat(layer / "opt/tool")
    assert stat.S_IMODE(st.st_mode) == 0o4755
    assert (st.st_uid, st.st_gid, int(st.st_mtime)) == (1234, 5678, 1_400_000_000)
    dst = os.stat(layer / "opt")
    assert (stat.S_IMODE(dst.st_mode), dst.st_uid, dst.st_gid) == (0o750, 7, 8)
    assert int(dst.st_mtime) == 1_500_000_000
    assert (layer / "deep/implicit/file").read_bytes() == b"auto parents"


def test_leading_slash_is_stripped(box: tuple[Path, Path]) -> None:
    """'/etc/x' lands in the layer's etc, never the host's."""
    layer, _ = box
    name = f"berth-test-{uuid.uuid4().hex}"
    extract(make_tar([f(f"/etc/{name}", b"in layer")]), layer)
    assert (layer / "etc" / name).read_bytes() == b"in layer"
    assert not Path("/etc", name).exists()


@pytest.mark.parametrize(
    "members",
    [
        [f("../outside/pwned")],
        [f("a/../../outside/pwned")],
        [hard("h", "../outside/secret")],
    ],
    ids=["dotdot", "nested-dotdot", "hardlink-out"],
)
def test_dotdot_escapes_are_refused(box: tuple[Path, Path], members: list[Member]) -> None:
    """A path climbing out of the root is refused, nothing written outside."""
    layer, outside = box
    with pytest.raises(InvalidArgument, match="escapes the image root"):
        extract(make_tar(members), layer)
    assert_outside_untouched(outside)


@pytest.mark.parametrize("target", ["ABS", "../outside", "../../../../../../ABS"])
def test_write_through_planted_symlink_is_refused(box: tuple[Path, Path], target: str) -> None:
    """A symlink planted by an earlier member is never followed by a later one."""
    layer, outside = box
    target = target.replace("ABS", str(outside))
    for members in (
        [sym("evil", target), f("evil/pwned")],
        [sym("evil", target), d("evil/sub")],
        [d("a"), sym("a/evil", target), f("a/evil/deeper/pwned")],
        [sym("evil", target), hard("h", "evil/secret")],
    ):
        for p in layer.iterdir():
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
        with pytest.raises(InvalidArgument, match="through the symlink"):
            extract(make_tar(members), layer)
        assert_outside_untouched(outside)


def test_file_replaces_a_symlink_instead_of_writing_through_it(box: tuple[Path, Path]) -> None:
    """A later file of the same name replaces the symlink (tar semantics)."""
    layer, outside = box
    extract(make_tar([sym("s", str(outside / "secret")), f("s", b"new")]), layer)
    assert not (layer / "s").is_symlink()
    assert (layer / "s").read_bytes() == b"new"
    assert_outside_untouched(outside)


def test_symlinks_keep_targets_verbatim(box: tuple[Path, Path]) -> None:
    """Absolute and relative symlink targets are stored as written (resolved in the container)."""
    layer, outside = box
    extract(make_tar([sym("abs", "/etc/passwd"), sym("rel", "../../x"), sym("dir/l", "/")]), layer)
    assert os.readlink(layer / "abs") == "/etc/passwd"
    assert os.readlink(layer / "rel") == "../../x"
    assert os.readlink(layer / "dir/l") == "/"
    assert_outside_untouched(outside)


def test_hardlinks_inside_the_layer(box: tuple[Path, Path]) -> None:
    """A hard link shares the inode of its in-layer target."""
    layer, _ = box
    extract(
        make_tar(
            [
                f("bin/busybox", b"elf"),
                hard("bin/sh", "bin/busybox"),
                hard("/usr/sh2", "/bin/busybox"),
            ]
        ),
        layer,
    )
    ino = os.stat(layer / "bin/busybox").st_ino
    assert os.stat(layer / "bin/sh").st_ino == ino == os.stat(layer / "usr/sh2").st_ino


def test_hardlink_to_missing_target(box: tuple[Path, Path]) -> None:
    """A hard link to nothing is a clear error."""
    layer, _ = box
    with pytest.raises(InvalidArgument, match="to missing"):
        extract(make_tar([hard("h", "nothere")]), layer)


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_device_nodes_and_fifos(box: tuple[Path, Path]) -> None:
    """Character devices and FIFOs are created (we are root)."""
    layer, _ = box
    extract(
        make_tar(
            [
                (_ti("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666), None),
                (_ti("run/fifo", tarfile.FIFOTYPE, mode=0o600), None),
            ]
        ),
        layer,
    )
    st = os.lstat(layer / "dev/null")
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
    assert stat.S_IMODE(st.st_mode) == 0o666
    assert stat.S_ISFIFO(os.lstat(layer / "run/fifo").st_mode)


def test_later_members_replace_earlier_ones(box: tuple[Path, Path]) -> None:
    """Duplicate names: the last one wins, a dir can become a file and back."""
    layer, _ = box
    extract(
        make_tar([d("x"), f("x/inner"), f("x", b"file now"), f("y", b"1"), f("y", b"2")]), layer
    )
    assert (layer / "x").read_bytes() == b"file now"
    assert (layer / "y").read_bytes() == b"2"


@pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts need root")
def test_whiteouts_become_overlay_whiteouts(box: tuple[Path, Path]) -> None:
    """.wh.name → a 0:0 char device; .wh..wh..opq → the opaque xattr."""
    layer, _ = box
    extract(
        make_tar([d("etc"), f("etc/.wh.gone", b""), d("opaque"), f("opaque/.wh..wh..opq", b"")]),
        layer,
    )
    st = os.lstat(layer / "etc/gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(layer / "opaque", "trusted.overlay.opaque") == b"y"


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
}


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_compressed_uploads_have_the_plain_diff_id(tmp_path: Path, kind: str) -> None:
    """The diff id is the digest of the uncompressed tar, whatever the compression."""
    data = make_tar([f("a/b", b"hello")])
    a, b = tmp_path / "plain", tmp_path / kind
    a.mkdir()
    b.mkdir()
    assert extract(data, a) == extract(COMPRESSORS[kind](data), b)
    assert (b / "a/b").read_bytes() == b"hello"


@pytest.mark.parametrize(
    "payload",
    [
        b"this is not a tar file at all" * 40,
        gzip.compress(b"not a tar" * 100),
        gzip.compress(make_tar([f("a", random.Random(0).randbytes(5000))]))[:3000],
        make_tar([f("a", random.Random(0).randbytes(5000))])[:3000],
        b"\x28\xb5\x2f\xfd" + b"\0" * 600,
    ],
    ids=["text", "gzipped-text", "truncated-gzip", "truncated-tar", "zstd"],
)
def test_garbage_is_invalid_argument(tmp_path: Path, payload: bytes) -> None:
    """A non-tar or corrupt upload says so."""
    with pytest.raises(InvalidArgument, match="invalid tar archive"):
        extract(payload, tmp_path)


def test_busybox_tarball(tmp_path: Path) -> None:
    """The busybox rootfs has the binary, applet symlinks, passwd/group and mount points."""
    out = tmp_path / "bb.tar"
    assert main([str(out)]) == 0
    with tarfile.open(out) as tar:
        names = {m.name: m for m in tar.getmembers()}
    assert names["bin/busybox"].isreg() and names["bin/busybox"].mode == 0o755
    for applet in ("bin/sh", "bin/echo", "bin/true", "bin/ls", "bin/sleep"):
        assert names[applet].issym() and names[applet].linkname == "/bin/busybox"
    for dirname in ("tmp", "proc", "sys", "dev", "etc", "root"):
        assert names[dirname].isdir()
    assert names["tmp"].mode == 0o1777
    assert {"etc/passwd", "etc/group"} <= set(names)
    again = tmp_path / "again.tar"
    build_busybox_tarball(again)
    assert again.read_bytes() == out.read_bytes()  # deterministic: same layer on re-import


def test_busybox_main_usage() -> None:
    """Wrong arguments print usage and return 2."""
    lines: list[str] = []
    assert main([], out=lines.append) == 2
    assert "usage" in lines[0]
