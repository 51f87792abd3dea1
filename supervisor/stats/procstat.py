"""/proc/stat and /proc/meminfo: the host figures Docker puts next to each container's.

``parse_proc_stat`` follows moby's ``readSystemCPUUsage`` exactly: only the
leading ``cpu*`` lines count (glibc's rule), the ``cpu `` line's first seven
fields (user nice system idle iowait irq softirq; steal and guest excluded)
are summed and converted from USER_HZ=100 ticks to nanoseconds, and
``online_cpus`` is the number of ``cpuN`` lines (host CPUs, not the
container's cpuset or quota).
"""

from __future__ import annotations

from supervisor.stats import fields
from supervisor.stats.model import SystemCpu

NANOS_PER_TICK = 1_000_000_000 // 100


def parse_proc_stat(text: str) -> SystemCpu:
    """``/proc/stat`` → SystemCpu.

    Raises:
        InvalidArgument: the ``cpu`` line has fewer than 7 numbers, or no ``cpu`` line at all.
    """
    usage: int | None = None
    cpus = 0
    for line in text.splitlines():
        if len(line) < 4 or not line.startswith("cpu"):
            break
        if line[3] == " ":
            parts = line.split()
            if len(parts) < 8:
                msg = "/proc/stat (invalid number of cpu fields)"
                raise fields.bad(msg, line)
            usage = sum(fields.uint("/proc/stat", p) for p in parts[1:8]) * NANOS_PER_TICK
        elif "0" <= line[3] <= "9":
            cpus += 1
    if usage is None:
        msg = "/proc/stat (no cpu line)"
        raise fields.bad(msg, text)
    return SystemCpu(usage=usage, online_cpus=cpus)


def parse_mem_total(text: str) -> int:
    """``MemTotal`` of ``/proc/meminfo`` in bytes (Docker's ``machineMemory``).

    Raises:
        InvalidArgument: no well-formed ``MemTotal: N kB`` line.
    """
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                return fields.uint("/proc/meminfo", parts[1]) * 1024
            if len(parts) == 2:
                return fields.uint("/proc/meminfo", parts[1])
            msg = "/proc/meminfo"
            raise fields.bad(msg, line)
    msg = "/proc/meminfo (no MemTotal)"
    raise fields.bad(msg, text)
