"""The bundle's small-file helpers: /etc files rewritten in place and only when changed."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from supervisor.engine.prepare import _read, _write


def test_write_creates_then_rewrites_in_place(tmp_path: Path) -> None:
    path = tmp_path / "hosts"
    _write(str(path), "127.0.0.1 localhost\n172.17.0.2 web\n")
    inode = path.stat().st_ino
    _write(str(path), "127.0.0.1 localhost\n")  # shorter: truncated, same inode (a bind mount sees it)
    assert path.read_text() == "127.0.0.1 localhost\n"
    assert path.stat().st_ino == inode


def test_write_leaves_an_unchanged_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "hostname"
    _write(str(path), "web\n")
    os.utime(path, ns=(0, 0))
    _write(str(path), "web\n")
    assert path.stat().st_mtime_ns == 0


@given(old=st.text(max_size=300), new=st.text(max_size=300))
def test_write_always_ends_with_exactly_the_new_text(tmp_path_factory, old: str, new: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("w") / "f"
    path.write_text(old)
    _write(str(path), new)
    assert path.read_bytes() == new.encode()


def test_read_gives_text_or_none(tmp_path: Path) -> None:
    (tmp_path / "passwd").write_bytes(b"root:x:0:0::/root:/bin/sh\n\xff\n")
    assert _read(str(tmp_path / "passwd")) == "root:x:0:0::/root:/bin/sh\n\ufffd\n"
    assert _read(str(tmp_path / "missing")) is None
    assert _read(str(tmp_path)) is None  # a directory
    assert _read(str(tmp_path / "passwd" / "below")) is None  # not a directory
