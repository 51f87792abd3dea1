"""A container made by runc at create, its init waiting for the start (``engine.primed``), on real runc."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.conftest import HAVE_DOCKER, Daemon

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not HAVE_DOCKER, reason="docker CLI not installed"),
]


def _runc_state(d: Daemon, cid: str) -> dict | None:
    out = subprocess.run(
        ["runc", "--root", str(d.exec_root / "runtime"), "state", cid], capture_output=True, text=True, check=False
    )
    return json.loads(out.stdout) if out.returncode == 0 else None


def _made(d: Daemon, cid: str) -> dict:
    """runc's state of ``cid`` once runc has made it (at most 10 s after its create)."""
    deadline = time.monotonic() + 10
    while (state := _runc_state(d, cid)) is None or state["status"] != "created":
        assert time.monotonic() < deadline, f"not made ahead: {state}"
        time.sleep(0.02)
    return state


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, parent pid) of ``pid``; None once it is gone (reaped)."""
    try:
        rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    return rest[0], int(rest[1])


def _gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while _stat(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    return _stat(pid) is None


def test_the_start_execs_the_init_made_at_create(daemon: Daemon) -> None:
    cid = daemon.docker("create", "--name", "made", "busybox", "sh", "-c", "echo started; sleep 30").stdout.strip()
    try:
        state = _made(daemon, cid)
        pid = state["pid"]
        # The daemon's child once ``runc create`` has exited (runc reports "created" just before), blocked before exec.
        deadline = time.monotonic() + 10
        while _stat(pid) != ("S", daemon.process.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _stat(pid) == ("S", daemon.process.pid)
        assert daemon.inspect("made")["State"]["Pid"] == 0  # Docker's created: no process to show
        daemon.docker("start", "made")
        assert daemon.inspect("made")["State"]["Pid"] == pid
        assert _runc_state(daemon, cid)["status"] == "running"
        assert not (daemon.exec_root / "runtime" / cid / "exec.fifo").exists()
        deadline = time.monotonic() + 10
        while daemon.docker("logs", "made").stdout != "started\n" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert daemon.docker("logs", "made").stdout == "started\n"
        daemon.docker("stop", "-t", "0", "made")
        assert daemon.inspect("made")["State"]["ExitCode"] == 137
        assert _gone(pid)  # reaped by the daemon
    finally:
        daemon.docker("rm", "-f", "made", check=False)


def test_removing_a_created_container_ends_and_reaps_its_init(daemon: Daemon) -> None:
    cid = daemon.docker("create", "busybox", "true").stdout.strip()
    pid = _made(daemon, cid)["pid"]
    daemon.docker("rm", cid)
    assert _gone(pid)
    assert _runc_state(daemon, cid) is None
    assert not list(Path("/sys/fs/cgroup").glob(f"*/berth/{cid}"))


def test_a_network_connect_before_the_start_is_not_missed(daemon: Daemon) -> None:
    """The init made at create sits in the namespace planned then; the connect discards it, the start plans anew."""
    daemon.docker("network", "create", "madenet")
    cid = daemon.docker("create", "busybox", "ip", "-4", "-o", "addr").stdout.strip()
    try:
        pid = _made(daemon, cid)["pid"]
        daemon.docker("network", "connect", "madenet", cid)
        assert _gone(pid)
        out = daemon.docker("start", "-a", cid).stdout
        assert "eth0" in out and "eth1" in out
    finally:
        daemon.docker("rm", "-f", cid, check=False)
        daemon.docker("network", "rm", "madenet", check=False)


def test_a_crashed_daemons_made_container_is_ended_at_the_next_start(daemon_factory) -> None:
    d: Daemon = daemon_factory()
    d.start()
    d.import_busybox()
    cid = d.docker("create", "--name", "orphaned", "busybox", "echo", "hi").stdout.strip()
    pid = _made(d, cid)["pid"]
    record = d.data_root / "containers" / cid / "container.json"
    deadline = time.monotonic() + 5
    while not record.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    d.stop(signal.SIGKILL)
    assert _stat(pid) is not None  # left behind, waiting
    try:
        d.start()
        assert _gone(pid)
        assert _runc_state(d, cid) is None
        assert d.docker("start", "-a", "orphaned").stdout == "hi\n"
        d.docker("rm", "orphaned")
    finally:
        if _stat(pid) is not None:
            os.kill(pid, signal.SIGKILL)


def test_a_container_with_a_bind_mount_is_not_made_before_its_start(daemon: Daemon, tmp_path: Path) -> None:
    """runc binds what the source names when it makes the container; Docker binds at the start."""
    source = tmp_path / "out"
    source.mkdir()
    cid = daemon.docker("create", "-v", f"{source}:/out", "busybox", "sh", "-c", "echo hi > /out/f").stdout.strip()
    try:
        time.sleep(0.3)
        assert _runc_state(daemon, cid) is None  # nothing made ahead
        source.rename(tmp_path / "old")
        source.mkdir()  # the path now names another directory: that one is bound
        daemon.docker("start", "-a", cid)
        assert (source / "f").read_text() == "hi\n"
    finally:
        daemon.docker("rm", "-f", cid, check=False)



def test_a_daemon_stop_ends_the_init_made_at_create_and_its_cgroups(daemon_factory) -> None:
    d: Daemon = daemon_factory()
    d.start()
    d.import_busybox()
    cid = d.docker("create", "busybox", "true").stdout.strip()
    pid = _made(d, cid)["pid"]
    assert d.stop() == 0
    assert _gone(pid)
    assert not list(Path("/sys/fs/cgroup").glob(f"*/*/{cid}"))
    assert _runc_state(d, cid) is None
