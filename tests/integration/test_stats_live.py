"""The sampler against this host's real cgroups (no daemon): CPU, /dev/shm memory, pids, OOM.

Each test makes a scratch cgroup in every hierarchy the sampler reads, puts
processes it starts into it, and removes it (killing what is left) afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from supervisor.engine.cgroups import container_cgroup_dirs, detect_layout
from supervisor.stats.sampler import StatsSampler, Target

pytestmark = pytest.mark.integration

LAYOUT = detect_layout(Path("/proc/self/mountinfo").read_text(), Path("/proc/self/cgroup").read_text())


class Scratch:
    """A cgroup at /berth-stats-test-<pid>-<n> in every mounted hierarchy."""

    def __init__(self, name: str) -> None:
        self.path = f"/{name}"
        wanted = ("", "cpu", "cpuacct", "memory", "blkio", "pids")  # cpuset would need cpus/mems set
        self.dirs = {k: v for k, v in container_cgroup_dirs(LAYOUT, self.path).items() if k in wanted}
        self.procs: list[subprocess.Popen[bytes]] = []
        for d in set(self.dirs.values()):
            d.mkdir(exist_ok=True)

    def file(self, controller: str, name: str) -> Path:
        return self.dirs[controller] / name

    def spawn(self, *argv: str) -> subprocess.Popen[bytes]:
        dirs = sorted({str(d) for d in self.dirs.values()})

        def join() -> None:
            for d in dirs:
                with open(f"{d}/cgroup.procs", "w") as f:
                    f.write(str(os.getpid()))

        p = subprocess.Popen(argv, preexec_fn=join, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def target(self, pid: int) -> Target:
        return Target(id="scratch", name="scratch", image="host", cgroups_path=self.path, pid=pid)

    def cleanup(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(10)
        for d in set(self.dirs.values()):
            for _ in range(50):
                try:
                    pids = (d / "cgroup.procs").read_text().split()
                except FileNotFoundError:
                    break
                for pid in pids:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    d.rmdir()
                    break
                except OSError:
                    time.sleep(0.05)


@pytest.fixture
def scratch(request: pytest.FixtureRequest) -> Iterator[Scratch]:
    s = Scratch(f"berth-stats-test-{os.getpid()}-{request.node.name[-20:].replace('[', '_').replace(']', '')}")
    try:
        yield s
    finally:
        s.cleanup()


def sample_for(targets: list[Target], seconds: float, interval: float = 0.5, on_oom=None) -> StatsSampler:  # type: ignore[no-untyped-def]
    sampler = StatsSampler(lambda: targets, LAYOUT, interval=interval, on_oom=on_oom)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(sampler.run)
            await trio.sleep(seconds)
            nursery.cancel_scope.cancel()

    trio.run(main)
    return sampler


def test_busy_loop_reads_about_one_core(scratch: Scratch) -> None:
    p = scratch.spawn("sh", "-c", "while :; do :; done")
    sampler = sample_for([scratch.target(p.pid)], 2.6)
    points = sampler.points("scratch")
    assert len(points) >= 5
    cpu = [pt.cpu_percent for pt in points[1:]]
    assert 60 < sum(cpu) / len(cpu) < 140, cpu


def test_dev_shm_60mb_reads_60mb_and_agrees_with_cgroup(scratch: Scratch) -> None:
    shm = Path(f"/dev/shm/berth-stats-test-{os.getpid()}")
    try:
        p = scratch.spawn("dd", "if=/dev/zero", f"of={shm}", "bs=1M", "count=60")
        assert p.wait(30) == 0
        sampler = sample_for([scratch.target(0)], 0.2, interval=0.1)
        latest = sampler.latest("scratch")
        assert latest is not None
        usage = latest.cur.cgroup.memory.usage
        memory_dir = "memory" if not LAYOUT.version.is_v2 else ""
        name = "memory.current" if LAYOUT.version.is_v2 else "memory.usage_in_bytes"
        on_disk = int(scratch.file(memory_dir, name).read_text())
        assert 60 << 20 <= usage < 80 << 20
        assert abs(on_disk - usage) < 2 << 20
        used = sampler.points("scratch")[-1].memory_used
        assert 60 << 20 <= used <= usage  # shmem is not inactive_file: the CLI counts it
    finally:
        shm.unlink(missing_ok=True)


def test_pids(scratch: Scratch) -> None:
    p = scratch.spawn("sh", "-c", "sleep 30 & sleep 30 & wait")
    time.sleep(0.3)
    sampler = sample_for([scratch.target(p.pid)], 0.2, interval=0.1)
    latest = sampler.latest("scratch")
    assert latest is not None and latest.cur.cgroup.pids.current == 3


@pytest.mark.skipif(LAYOUT.version.is_v2, reason="the v1 eventfd path; v2 is covered by the daemon test")
def test_oom_kill_is_reported_through_the_eventfd(scratch: Scratch) -> None:
    """A 10 MiB limit and a 64 MiB allocation: the kernel kills, on_oom hears it once."""
    scratch.file("memory", "memory.limit_in_bytes").write_text(str(10 << 20))
    swap = scratch.file("memory", "memory.memsw.limit_in_bytes")
    if swap.exists():
        swap.write_text(str(10 << 20))
    sleeper = scratch.spawn("sleep", "30")
    killed: list[str] = []
    sampler = StatsSampler(lambda: [scratch.target(sleeper.pid)], LAYOUT, interval=0.5, on_oom=killed.append)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(sampler.run)
            await trio.sleep(0.7)  # let the watch register
            hog = scratch.spawn(sys.executable, "-c", "x = bytearray(64 << 20); x[::4096] = b'a' * len(x[::4096])")
            with trio.fail_after(20):
                while not killed:  # noqa: ASYNC110 - the callback is a plain list.append
                    await trio.sleep(0.05)
            await trio.to_thread.run_sync(hog.wait)
            assert hog.returncode == -signal.SIGKILL
            await trio.sleep(1.2)  # a tick or two more: no second report for the same kill
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert killed == ["scratch"]


def test_parsers_on_every_live_berth_cgroup() -> None:
    """Whatever containers run on this box right now parse (live v1/hybrid files)."""
    from supervisor.stats.reader import HostFiles, TickReader

    reader = TickReader(LAYOUT, HostFiles())
    assert reader.mem_total() > 0
    result = reader.collect([])
    assert result.system is not None and result.system.online_cpus == os.cpu_count()


