"""The daemon as a process: readiness, shutdown, restart with state, isolation, bad input."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest

from supervisor.engine.model import State
from supervisor.engine.store import decode_record, encode_record
from tests.integration.conftest import Daemon

pytestmark = pytest.mark.integration


def _raw(sock_path: str, data: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(sock_path)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _alive(pid: int) -> bool:
    """True if ``pid`` runs; a zombie waiting for a parent that is not ours counts as ended."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_sigterm_stops_containers_and_state_survives_restart(daemon_factory) -> None:
    d: Daemon = daemon_factory()
    d.start()
    d.import_busybox()
    d.docker("run", "-d", "--name", "longrun", "busybox", "sleep", "1000")
    d.docker("create", "--name", "fresh", "busybox", "true")
    d.docker("network", "create", "lcnet")
    d.docker("create", "--name", "aliased", "--network", "lcnet", "--network-alias", "db", "busybox", "true")
    d.docker("run", "--name", "done", "busybox", "sh", "-c", "exit 2", check=False)
    pid = d.inspect("longrun")["State"]["Pid"]
    since = int(time.time()) - 1
    t0 = time.monotonic()
    assert d.stop(signal.SIGTERM) == 0
    # busybox sleep as PID 1 ignores SIGTERM: stopped with the 10 s timeout and SIGKILL.
    assert time.monotonic() - t0 < 30
    assert not (d.socket.exists())
    assert not _alive(pid)
    d.start()
    states = {n: d.inspect(n)["State"] for n in ("longrun", "fresh", "done")}
    assert states["longrun"]["Status"] == "exited" and states["longrun"]["ExitCode"] == 137
    assert states["fresh"]["Status"] == "created"
    assert states["done"]["Status"] == "exited" and states["done"]["ExitCode"] == 2
    # The events history survived the restart.
    out = d.docker("events", "--since", str(since), "--until", str(int(time.time()) + 1),
                   "--filter", "container=done").stdout
    assert [line.split()[2] for line in out.splitlines()][:3] == ["create", "start", "die"]
    # Network configs survive too: the default one (derived from the mode, never
    # written) and a recorded one with an alias.
    d.docker("start", "-a", "fresh")
    assert set(d.inspect("fresh")["NetworkSettings"]["Networks"]) == {"bridge"}
    aliased = d.inspect("aliased")["NetworkSettings"]["Networks"]
    assert set(aliased) == {"lcnet"} and "db" in (aliased["lcnet"]["Aliases"] or [])
    d.docker("rm", "longrun", "fresh", "done", "aliased")
    d.docker("network", "rm", "lcnet")


def _spares(d: Daemon, wanted: int) -> set[str]:
    """The daemon's spare namespaces, once there are ``wanted`` of them (at most 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        found = {p.name for p in (d.exec_root / "netns").glob("spare-*")}
        if len(found) >= wanted or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def _link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True, check=False).returncode == 0


def test_crash_recovery_marks_running_containers_exited(daemon_factory) -> None:
    d: Daemon = daemon_factory()
    d.start()
    d.import_busybox()
    d.docker("run", "-d", "--name", "orphan", "busybox", "sleep", "1000")
    pid = d.inspect("orphan")["State"]["Pid"]
    # The container's own namespace (the wired spare it took), the wired spare made again
    # and the pool's two, made again in lulls.
    spares = _spares(d, wanted=4)
    assert len(spares) == 4
    d.stop(signal.SIGKILL)
    # The container outlived its daemon; the next daemon stops it and records it.
    d.start()
    state = d.inspect("orphan")["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 255
    assert not _alive(pid)
    d.docker("rm", "orphan")
    # The dead daemon's namespaces are dropped, and their veth pairs go with them.
    assert not spares & _spares(d, wanted=2)
    mounts = Path("/proc/mounts").read_text()
    assert not [name for name in spares if name in mounts]
    deadline = time.monotonic() + 10
    veths = {"veth" + name.removeprefix("spare-")[:7] for name in spares}
    while time.monotonic() < deadline and any(_link_exists(v) for v in veths):
        time.sleep(0.05)
    assert not [v for v in veths if _link_exists(v)]


def _is_mount_point(path: Path) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == str(path) for line in f)


def test_a_crashed_daemons_early_mount_is_undone_at_the_next_start(daemon_factory) -> None:
    """A created container's rootfs is mounted for its start; a crash leaves it, the next daemon unmounts it."""
    d: Daemon = daemon_factory()
    d.start()
    d.import_busybox()
    cid = d.docker("create", "--name", "early", "busybox", "echo", "hi").stdout.strip()
    rootfs = (d.data_root / "containers" / cid / "rootfs").resolve()
    record = d.data_root / "containers" / cid / "container.json"
    deadline = time.monotonic() + 5
    while not (_is_mount_point(rootfs) and record.exists()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _is_mount_point(rootfs) and record.exists()
    d.stop(signal.SIGKILL)
    assert _is_mount_point(rootfs)  # left behind by the dead daemon
    d.start()
    assert not _is_mount_point(rootfs)
    assert d.docker("start", "-a", "early").stdout == "hi\n"
    d.docker("rm", "early")
    assert not _is_mount_point(rootfs)


def test_a_container_whose_record_never_reached_the_disk_is_dropped_at_start(daemon_factory) -> None:
    """A create answered just before a crash (its record still waiting for a lull): its mount and directory go."""
    d: Daemon = daemon_factory()
    d.start()
    d.stop()
    orphan = d.data_root / "containers" / ("0" * 64)
    rootfs = orphan / "rootfs"
    rootfs.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "orphan", str(rootfs)], check=True)
    try:
        d.start()
        assert not _is_mount_point(rootfs.resolve())
        deadline = time.monotonic() + 10
        while orphan.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not orphan.exists()
        assert d.docker("ps", "-aq").stdout == ""
    finally:
        subprocess.run(["umount", str(rootfs)], check=False, capture_output=True)


def test_a_container_running_behind_a_stale_record_is_stopped_at_the_next_start(daemon_factory) -> None:
    """The daemon died before a started container's record said so: nothing supervises it; it goes."""
    d: Daemon = daemon_factory()
    d.start()
    d.import_busybox()
    cid = d.docker("run", "-d", "--name", "stale", "busybox", "sleep", "1000").stdout.strip()
    pid = d.inspect("stale")["State"]["Pid"]
    record = d.data_root / "containers" / cid / "container.json"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not decode_record(record.read_bytes()).state.running:
        time.sleep(0.01)
    d.stop(signal.SIGKILL)
    # As if the crash came before the "running" record reached the disk.
    created = decode_record(record.read_bytes())
    record.write_bytes(encode_record(replace(created, state=State())))
    assert _alive(pid)
    d.start()
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(pid)
    assert d.inspect("stale")["State"]["Status"] == "created"
    assert not (d.exec_root / "runtime" / cid).exists()
    assert d.docker("start", "stale").returncode == 0  # runc has no stale id in the way
    d.docker("rm", "-f", "stale")


def test_two_daemons_do_not_interfere_and_one_root_is_locked(daemon_factory) -> None:
    a: Daemon = daemon_factory()
    b: Daemon = daemon_factory()
    a.start()
    b.start()
    a.import_busybox()
    b.import_busybox()
    a.docker("run", "-d", "--name", "same", "busybox", "sleep", "100")
    b.docker("run", "-d", "--name", "same", "busybox", "sleep", "100")
    assert a.inspect("same")["Id"] != b.inspect("same")["Id"]
    a.docker("rm", "-f", "same")
    assert b.inspect("same")["State"]["Running"]
    b.docker("rm", "-f", "same")
    # A second daemon on the same data root is refused.
    clash = subprocess.run(
        [*a.process.args[:3], "daemon", "--data-root", str(a.data_root), "--exec-root",
         str(a.root / "exec2"), "-H", f"unix://{a.root}/other.sock"],
        capture_output=True, text=True, timeout=30,
    )
    assert clash.returncode != 0 and "another berth daemon" in clash.stderr


def test_bad_requests_get_docker_errors_and_daemon_survives(daemon: Daemon) -> None:
    sock = str(daemon.socket)
    cases = [
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{bad}", b"400"),
        (b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n[]", b"400"),
        (b'POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 34\r\n\r\n{"Image":"busybox","Memory":"lots"}', b"400"),
        (b"GET /v1.12/containers/json HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),
        (b"GET /containers/json?filters=%7Bnope HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),
        (b"POST /containers/nope/start HTTP/1.1\r\nHost: x\r\n\r\n", b"404"),
        (b"POST /containers/nope/wait?condition=bogus HTTP/1.1\r\nHost: x\r\n\r\n", b"404"),
        (b"POST /images/create?fromSrc=-&repo=junk HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nnot-a-tar!", b"400"),
        (b"GET /nothing/here HTTP/1.1\r\nHost: x\r\n\r\n", b"404"),
    ]
    for request, status in cases:
        reply = _raw(sock, request)
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.split()[1] == status, (request, reply)
        assert b"Content-Type: application/json\r\n" in head or b"content-type: application/json\r\n" in head.lower()
        if body:
            # Bodies may be chunked; the JSON message is in there.
            assert b'"message"' in body
    assert daemon.docker("version").returncode == 0
