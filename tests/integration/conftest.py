"""Integration fixtures: a real berth daemon on a temporary root, driven over its socket.

Every daemon a test starts is stopped by pid with SIGTERM (bounded, then
SIGKILL), and its temporary root is checked for leftover mounts and removed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = os.geteuid() == 0
HAVE_RUNC = shutil.which("runc") is not None
HAVE_DOCKER = shutil.which("docker") is not None

# Tests that run busybox containers on bare runc (no daemon).
RUNC = shutil.which("runc")
BUSYBOX = next((p for p in ("/bin/busybox", "/usr/bin/busybox") if os.path.exists(p)), None)
RUNC_BUSYBOX_MARKS = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(RUNC is None, reason="runc not installed"),
    pytest.mark.skipif(BUSYBOX is None, reason="busybox not installed"),
    pytest.mark.timeout(60),
]



def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="integration tests need root and runc")
    for item in items:
        if "integration" in str(item.fspath) and not (ROOT and HAVE_RUNC):
            item.add_marker(skip)


def _start_time(pid: int) -> int:
    """Start time of a live (non-zombie) process, 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0
    return 0 if fields[0] == "Z" else int(fields[19])


def _mounts_under(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(str(path))]


@dataclass
class Daemon:
    """A berth daemon process started by a test."""

    root: Path
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.root / "daemon.log"

    @property
    def socket(self) -> Path:
        return self.root / "berth.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def data_root(self) -> Path:
        return self.root / "data"

    @property
    def exec_root(self) -> Path:
        return self.root / "exec"

    def start(self, *extra: str) -> None:
        if self.socket.exists():  # left by a daemon killed with SIGKILL
            self.socket.unlink()
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "supervisor", "daemon",
                "--data-root", str(self.data_root), "--exec-root", str(self.exec_root),
                "-H", self.host, *extra,
            ],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not self.socket.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"daemon exited early:\n{self.log_path.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"daemon not ready in 30 s:\n{self.log_path.read_text()}")
            time.sleep(0.02)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Stop the daemon we started (by pid); return its exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        code = self.process.returncode
        self.process = None
        return code

    def docker(self, *args: str, input: bytes | None = None, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run the real docker CLI against this daemon."""
        env = {**os.environ, "DOCKER_HOST": self.host, "DOCKER_CONFIG": str(self.root / "docker-config")}
        result = subprocess.run(
            ["docker", *args], input=input, capture_output=True, env=env, timeout=timeout
        )
        out = subprocess.CompletedProcess(
            result.args, result.returncode, result.stdout.decode(errors="replace"),
            result.stderr.decode(errors="replace"),
        )
        if check and out.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
        return out

    def berth(self, *args: str, input: bytes | None = None, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run the berth CLI against this daemon."""
        result = subprocess.run(
            [sys.executable, "-m", "supervisor", "-H", self.host, *args],
            input=input, capture_output=True, timeout=timeout,
        )
        out = subprocess.CompletedProcess(
            result.args, result.returncode, result.stdout.decode(errors="replace"),
            result.stderr.decode(errors="replace"),
        )
        if check and out.returncode != 0:
            raise AssertionError(f"berth {' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
        return out

    def inspect(self, name: str) -> dict:
        return json.loads(self.docker("inspect", "--type", "container", name).stdout)[0]

    def import_busybox(self, tag: str = "busybox:latest") -> None:
        from supervisor.images.tarball import build_busybox_tarball

        tar = self.root / "busybox.tar"
        if not tar.exists():
            build_busybox_tarball(tar)
        self.docker("import", str(tar), tag)

    def _kill_leftover_containers(self) -> None:
        """Containers whose daemon died without stopping them: end them by pid, drop their cgroups."""
        for record_file in self.data_root.glob("containers/*/container.json"):
            try:
                record = json.loads(record_file.read_text())["record"]
            except (OSError, ValueError, KeyError):
                continue
            state = record.get("state", {})
            pid, start = state.get("pid", 0), state.get("pid_start", 0)
            if pid and start and _start_time(pid) == start:
                os.kill(pid, signal.SIGKILL)
                for _ in range(100):
                    if _start_time(pid) != start:
                        break
                    time.sleep(0.02)
            for cgroup in Path("/sys/fs/cgroup").glob(f"*/berth/{record['id']}"):
                try:
                    cgroup.rmdir()
                except OSError:
                    pass

    def cleanup(self) -> None:
        if self.process is not None:
            self.stop()
        self._kill_leftover_containers()
        leftovers = _mounts_under(self.root)
        for mountpoint in reversed(leftovers):
            subprocess.run(["umount", "-l", mountpoint], check=False)
        shutil.rmtree(self.root, ignore_errors=True)
        assert not leftovers, f"mounts left behind: {leftovers}"


@pytest.fixture
def daemon_factory() -> Iterator[callable]:
    daemons: list[Daemon] = []

    def make() -> Daemon:
        d = Daemon(Path(tempfile.mkdtemp(prefix="berth-t", dir="/tmp")))
        daemons.append(d)
        return d

    yield make
    for d in daemons:
        d.cleanup()


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    """One daemon per test module, with busybox imported."""
    d = Daemon(Path(tempfile.mkdtemp(prefix="berth-m", dir="/tmp")))
    try:
        d.start()
        d.import_busybox()
        yield d
    finally:
        d.cleanup()
