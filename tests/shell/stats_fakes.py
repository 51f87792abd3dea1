"""A fake host for stats shell tests: cgroup v2 files and /proc texts in a dict, a virtual wall clock.

Not a test module; imported by tests/shell/test_stats_*.py.
"""

from __future__ import annotations

from pathlib import Path

import trio

from supervisor.engine.cgroups import CgroupLayout, CgroupVersion

ROOT = Path("/fake/cgroup")
LAYOUT = CgroupLayout(version=CgroupVersion.V2, unified=ROOT)
EPOCH_NS = 1_700_000_000_000_000_000


class FakeHost:
    """Texts by path, read without a worker thread (``blocking = False``) so virtual time is exact."""

    blocking = False

    def __init__(self, cpus: int = 2) -> None:
        self.files: dict[str, str] = {}
        self.cpus = cpus
        self.system_ticks = 1000
        self.reads = 0
        self.set_proc_stat()
        self.files["/proc/meminfo"] = "MemTotal:  8388608 kB\n"

    def set_proc_stat(self) -> None:
        t = self.system_ticks
        lines = [f"cpu  {t} 0 0 0 0 0 0 0 0 0"] + [f"cpu{i} 0 0 0 0 0 0 0 0 0 0" for i in range(self.cpus)]
        self.files["/proc/stat"] = "\n".join(lines) + "\nintr 0\n"

    def add_container(self, cid: str, pid: int, *, usage_usec: int = 0, memory: int = 1 << 20) -> None:
        d = ROOT / "berth" / cid
        self.files[f"{d}/cpu.stat"] = f"usage_usec {usage_usec}\nuser_usec 0\nsystem_usec 0\n"
        self.files[f"{d}/memory.current"] = f"{memory}\n"
        self.files[f"{d}/memory.max"] = "max\n"
        self.files[f"{d}/memory.stat"] = "anon 1\ninactive_file 1024\n"
        self.files[f"{d}/memory.events"] = "oom 0\noom_kill 0\n"
        self.files[f"{d}/io.stat"] = "8:0 rbytes=4096 wbytes=8192\n"
        self.files[f"{d}/pids.current"] = "1\n"
        self.files[f"{d}/pids.max"] = "max\n"
        self.files[f"/proc/{pid}/net/dev"] = (
            "Inter-| Receive | Transmit\n face |bytes packets|bytes packets\n"
            "    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"
            "  eth0: 100 2 0 0 0 0 0 0 50 1 0 0 0 0 0 0\n"
        )

    def remove_container(self, cid: str) -> None:
        prefix = f"{ROOT}/berth/{cid}/"
        for path in [p for p in self.files if p.startswith(prefix)]:
            del self.files[path]

    def set_cpu(self, cid: str, usage_usec: int) -> None:
        self.files[f"{ROOT}/berth/{cid}/cpu.stat"] = f"usage_usec {usage_usec}\nuser_usec 0\nsystem_usec 0\n"

    def set_oom_kills(self, cid: str, n: int) -> None:
        self.files[f"{ROOT}/berth/{cid}/memory.events"] = f"oom {n}\noom_kill {n}\n"

    def advance_system(self, seconds: float) -> None:
        self.system_ticks += int(seconds * 100 * self.cpus)
        self.set_proc_stat()

    # FileSource
    def read(self, path: str) -> str | None:
        self.reads += 1
        return self.files.get(path)

    def read_once(self, path: str) -> str | None:
        return self.read(path)

    def now_ns(self) -> int:
        return EPOCH_NS + int(trio.current_time() * 1e9)

    def netns(self, pid: int) -> int | None:
        return 1 if pid == 0 else 2

    def release(self, paths: object) -> None:
        pass
