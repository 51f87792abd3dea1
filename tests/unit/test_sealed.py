"""The sealed copy of the runtime binary: sealed as runc expects, executable, follows the file."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import trio

from supervisor.engine.runtime import RuncRuntime
from supervisor.engine.sealed import SEALS, seal_copy

TRUE = shutil.which("true")


def test_the_copy_is_the_file_sealed_against_every_write(tmp_path: Path) -> None:
    source = tmp_path / "tool"
    source.write_bytes(os.urandom(300_000))
    sealed = seal_copy(str(source))
    try:
        assert fcntl.fcntl(sealed.fd, fcntl.F_GET_SEALS) == SEALS
        assert Path(sealed.exe).read_bytes() == source.read_bytes()
        with pytest.raises(PermissionError):
            os.pwrite(sealed.fd, b"x", 0)
        with pytest.raises(PermissionError):
            os.ftruncate(sealed.fd, 0)
        assert not sealed.changed()
    finally:
        sealed.close()


def test_changed_follows_the_file_on_disk(tmp_path: Path) -> None:
    source = tmp_path / "tool"
    source.write_bytes(b"one")
    sealed = seal_copy(str(source))
    try:
        replacement = tmp_path / "tool.new"
        replacement.write_bytes(b"two")
        replacement.replace(source)  # what a package upgrade does
        assert sealed.changed()
        source.unlink()
        assert sealed.changed()
    finally:
        sealed.close()


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        seal_copy(str(tmp_path / "absent"))


@pytest.mark.skipif(TRUE is None, reason="needs true(1)")
def test_a_child_executes_the_copy_through_the_inherited_fd() -> None:
    assert TRUE is not None
    sealed = seal_copy(os.path.realpath(TRUE))
    try:
        result = subprocess.run([sealed.exe], pass_fds=(sealed.fd,), check=False)
        assert result.returncode == 0
    finally:
        sealed.close()


@pytest.mark.skipif(shutil.which("runc") is None, reason="needs runc")
async def test_runc_runtime_copies_again_after_an_upgrade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runc = tmp_path / "bin" / "runc"
    runc.parent.mkdir()
    shutil.copy2(shutil.which("runc") or "", runc)
    runtime = RuncRuntime(str(runc), tmp_path / "state", tmp_path / "logs")
    monkeypatch.setattr(RuncRuntime, "BINARY_CHECK_INTERVAL", 0.0)
    try:
        await runtime.refresh_binary()
        first = runtime._sealed
        assert first is not None
        assert runtime._argv("c")[0] == first.exe
        assert runtime._pass_fds() == (first.fd,)
        await runtime.refresh_binary()
        assert runtime._sealed is first  # unchanged file: the same copy
        upgraded = runc.with_name("runc.new")
        shutil.copy2(runc, upgraded)
        upgraded.replace(runc)
        await trio.sleep(0)
        await runtime.refresh_binary()
        second = runtime._sealed
        assert second is not None and second is not first
        # The old copy stays open until close: a spawn in flight may still be passing it on.
        assert fcntl.fcntl(first.fd, fcntl.F_GET_SEALS) == SEALS
        version = subprocess.run(
            [*runtime._argv("c")[:1], "--version"], pass_fds=runtime._pass_fds(),
            capture_output=True, text=True, check=True,
        )
        assert "runc version" in version.stdout
    finally:
        runtime.close()
    assert runtime._sealed is None
    assert runtime._argv("c")[0] == str(runc)


def test_crun_gets_no_copy(tmp_path: Path) -> None:
    crun = tmp_path / "crun"
    crun.write_text("#!/bin/sh\n")
    crun.chmod(0o755)
    runtime = RuncRuntime(str(crun), tmp_path / "state", tmp_path / "logs")
    trio.run(runtime.refresh_binary)
    assert runtime._argv("c")[0] == str(crun)
    assert runtime._pass_fds() == ()
