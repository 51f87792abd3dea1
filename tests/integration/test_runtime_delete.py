"""Deleting a container's runtime state: the fast path without a runc process, and its fallback.

A real busybox container runs under a private runc root with cgroupsPath
``/berth-test/<id>``; ``RuncRuntime.delete`` must leave neither its cgroup
directories nor its state directory. Everything is removed in ``finally``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from supervisor.engine.cgroups import container_cgroup_dirs, detect_layout
from supervisor.engine.runtime import RuncRuntime
from tests.integration.conftest import BUSYBOX, RUNC, RUNC_BUSYBOX_MARKS

pytestmark = RUNC_BUSYBOX_MARKS


@pytest.fixture
def bundle(tmp_path: Path) -> Iterator[Path]:
    assert BUSYBOX is not None and RUNC is not None
    bundle = tmp_path / "bundle"
    (bundle / "rootfs" / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, bundle / "rootfs" / "bin" / "busybox")
    for applet in ("sh", "true", "sleep"):
        (bundle / "rootfs" / "bin" / applet).symlink_to("busybox")
    subprocess.run([RUNC, "spec"], cwd=bundle, check=True)
    yield bundle


def _start(bundle: Path, root: Path, cid: str, *args: str) -> dict[str, Path]:
    """``runc run --detach`` the bundle running ``args``; returns its cgroup directories."""
    assert RUNC is not None
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["terminal"] = False
    config["process"]["args"] = list(args)
    config["linux"]["cgroupsPath"] = f"/berth-test/{cid}"
    (bundle / "config.json").write_text(json.dumps(config))
    subprocess.run(
        [RUNC, "--root", str(root), "run", "--detach", "--bundle", str(bundle), cid],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True, timeout=30,
    )  # fmt: skip
    layout = detect_layout(Path("/proc/self/mountinfo").read_text(), Path("/proc/self/cgroup").read_text())
    return container_cgroup_dirs(layout, f"/berth-test/{cid}")


def _cleanup(root: Path, cid: str, dirs: dict[str, Path]) -> None:
    assert RUNC is not None
    subprocess.run([RUNC, "--root", str(root), "delete", "--force", cid], capture_output=True, check=False)
    for d in sorted(set(dirs.values()), reverse=True):
        if d.is_dir():
            d.rmdir()
        try:
            d.parent.rmdir()  # /berth-test itself, once no other test uses it
        except OSError:
            pass


def test_an_exited_container_is_deleted_without_running_runc(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "state"
    cid = f"berth-del-{uuid.uuid4().hex[:12]}"
    dirs = _start(bundle, root, cid, "true")
    try:
        state = json.loads((root / cid / "state.json").read_text())
        pid = int(state["init_process_pid"])
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        (tmp_path / "logs").mkdir(exist_ok=True)
        runtime = RuncRuntime(str(RUNC), root, tmp_path / "logs")

        async def no_runc(*args: object, **kw: object) -> None:
            raise AssertionError(f"runc was run: {args}")

        monkeypatch.setattr(runtime, "_run", no_runc)
        trio.run(lambda: runtime.delete(cid, force=True))
        assert not (root / cid).exists()
        assert [d for d in set(dirs.values()) if d.exists()] == []
    finally:
        _cleanup(root, cid, dirs)


def test_a_running_container_falls_back_to_runc_delete_force(bundle: Path, tmp_path: Path) -> None:
    root = tmp_path / "state"
    cid = f"berth-del-{uuid.uuid4().hex[:12]}"
    dirs = _start(bundle, root, cid, "sleep", "30")
    try:
        pid = int(json.loads((root / cid / "state.json").read_text())["init_process_pid"])
        assert Path(f"/proc/{pid}").exists()
        (tmp_path / "logs").mkdir(exist_ok=True)
        runtime = RuncRuntime(str(RUNC), root, tmp_path / "logs")
        trio.run(lambda: runtime.delete(cid, force=True))
        assert not (root / cid).exists()
        assert [d for d in set(dirs.values()) if d.exists()] == []
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not Path(f"/proc/{pid}").exists()
    finally:
        _cleanup(root, cid, dirs)
