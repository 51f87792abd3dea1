"""The docker CLI's stats formulas (docker/cli stats_helpers.go, formatter_stats.go), pure.

Everything the ``docker stats`` table shows is derived here from two
consecutive samples, so the API's history, the ``berth stats`` table and the
Prometheus working set agree with the docker CLI to the digit:

* CPU % = Δcontainer / Δsystem x online CPUs x 100, 0 unless both deltas are
  positive (a counter reset after a restart reads 0, never negative), and
  clamped to [0, 100 x CPUs] because the cgroup and /proc/stat reads are not
  atomic and a tick can otherwise read a hair above the ceiling.
* memory used = usage - total_inactive_file (v1) or - inactive_file (v2) when
  that is smaller than usage (moby#40727), else usage.
* NET I/O sums every interface; BLOCK I/O sums io_service_bytes_recursive
  entries whose op starts with r/R (read) or w/W (write).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from supervisor.api.humanize import bytes_size, human_size
from supervisor.stats.model import BlkioEntry, NetCounters, Sample


def cpu_percent(
    cpu_total: int, pre_cpu_total: int, system: int, pre_system: int, online_cpus: int
) -> float:
    """docker CLI's ``calculateCPUPercentUnix``, clamped to [0, 100 x online_cpus]."""
    cpu_delta = float(cpu_total) - float(pre_cpu_total)
    system_delta = float(system) - float(pre_system)
    if cpu_delta <= 0.0 or system_delta <= 0.0 or online_cpus <= 0:
        return 0.0
    return min(cpu_delta / system_delta * online_cpus * 100.0, 100.0 * online_cpus)


def online_cpus(reported: int, percpu: tuple[int, ...]) -> int:
    """``online_cpus``, or the length of ``percpu_usage`` when the daemon sent 0 (old daemons)."""
    return reported or len(percpu)


def sample_cpu_percent(cur: Sample, pre: Sample | None) -> float:
    """CPU % between two samples; against zeros when there is no previous one (Docker's first frame)."""
    n = cur.system.online_cpus or cur.figures.cpus
    if pre is None:
        return cpu_percent(cur.figures.cpu_total, 0, cur.system.usage, 0, n)
    return cpu_percent(cur.figures.cpu_total, pre.figures.cpu_total, cur.system.usage, pre.system.usage, n)


def memory_used(usage: int, stats: Mapping[str, int]) -> int:
    """docker CLI's ``calculateMemUsageUnixNoCache``."""
    v = stats.get("total_inactive_file")
    if v is not None and v < usage:
        return usage - v
    v = stats.get("inactive_file")
    if v is not None and v < usage:
        return usage - v
    return usage


def memory_percent(used: int, limit: int) -> float:
    """MEM %: used / limit x 100, 0 when there is no limit figure."""
    return used / limit * 100.0 if limit else 0.0


def network_totals(networks: Mapping[str, NetCounters] | None) -> tuple[int, int]:
    """(Σ rx_bytes, Σ tx_bytes) over every interface."""
    if not networks:
        return 0, 0
    return sum(n.rx_bytes for n in networks.values()), sum(n.tx_bytes for n in networks.values())


def block_totals(entries: Iterable[BlkioEntry] | None) -> tuple[int, int]:
    """(read, write) bytes from io_service_bytes_recursive entries, by the op's first letter."""
    read = write = 0
    for e in entries or ():
        first = e.op[:1]
        if first in ("r", "R"):
            read += e.value
        elif first in ("w", "W"):
            write += e.value
    return read, write


def capped_limit(limit: int, mem_total: int) -> int:
    """Docker's memory limit: the cgroup's, or the host's memory when that is smaller."""
    return mem_total if mem_total > 0 and limit > mem_total else limit


def format_percent(value: float) -> str:
    """``%.2f%%`` as the CLI prints CPU % and MEM %."""
    return f"{value:.2f}%"


def format_mem_usage(used: int, limit: int) -> str:
    """MEM USAGE / LIMIT: go-units BytesSize on both (``1.5MiB / 7.7GiB``)."""
    return f"{bytes_size(used)} / {bytes_size(limit)}"


def format_io(a: int, b: int) -> str:
    """NET I/O and BLOCK I/O: HumanSizeWithPrecision(x, 3) on both (``1.2kB / 648B``)."""
    return f"{human_size(a, 3)} / {human_size(b, 3)}"
