"""cgroup v1 stat files → CgroupUsage, the way Docker reads them (containerd/cgroups v1).

Sources (docker-semantics.md §3.3): cpuacct.usage / usage_percpu / stat
(ticks x 1e9 / 100), cpu.stat (throttling), memory.usage_in_bytes /
max_usage_in_bytes / failcnt / limit_in_bytes / stat / oom_control,
the CFQ ``blkio.*_recursive`` files when ``blkio.io_serviced_recursive``
exists and holds entries, else ``blkio.throttle.io_serviced`` and
``blkio.throttle.io_service_bytes``; pids.current / pids.max (``max`` → 0).

Pure: ``usage_from_texts`` takes the files' texts keyed by file name (None for
a missing file: that part stays zero, as on a host without the controller)
and never touches the filesystem. ``FILES`` says which controller directory
holds each file, for the reader in ``procfs``-free shells and fakes.
"""

from __future__ import annotations

from collections.abc import Mapping

from supervisor.errors import InvalidArgument
from supervisor.stats import fields
from supervisor.stats.model import (
    BLKIO_KEYS,
    BlkioEntry,
    CgroupUsage,
    CpuUsage,
    MemoryUsage,
    PidsUsage,
)

NANOS_PER_TICK = 1_000_000_000 // 100  # USER_HZ is 100 on Linux; Docker hard-codes it

#: The memory.stat keys Docker copies into ``memory_stats.stats`` (moby stats_unix.go statsV1).
MEMORY_STAT_KEYS: tuple[str, ...] = (
    "cache", "rss", "rss_huge", "mapped_file", "dirty", "writeback", "pgpgin", "pgpgout",
    "pgfault", "pgmajfault", "inactive_anon", "active_anon", "inactive_file", "active_file",
    "unevictable", "hierarchical_memory_limit", "hierarchical_memsw_limit",
    "total_cache", "total_rss", "total_rss_huge", "total_mapped_file", "total_dirty",
    "total_writeback", "total_pgpgin", "total_pgpgout", "total_pgfault", "total_pgmajfault",
    "total_inactive_anon", "total_active_anon", "total_inactive_file", "total_active_file",
    "total_unevictable",
)

#: CFQ file (without "blkio.") → Docker's JSON key.
CFQ_FILES: dict[str, str] = {
    "sectors_recursive": "sectors_recursive",
    "io_service_bytes_recursive": "io_service_bytes_recursive",
    "io_serviced_recursive": "io_serviced_recursive",
    "io_queued_recursive": "io_queue_recursive",
    "io_service_time_recursive": "io_service_time_recursive",
    "io_wait_time_recursive": "io_wait_time_recursive",
    "io_merged_recursive": "io_merged_recursive",
    "time_recursive": "io_time_recursive",
}
THROTTLE_FILES: dict[str, str] = {
    "throttle.io_serviced": "io_serviced_recursive",
    "throttle.io_service_bytes": "io_service_bytes_recursive",
}
CFQ_PROBE = "blkio.io_serviced_recursive"

_BASE_FILES: tuple[tuple[str, str], ...] = (
    ("cpuacct", "cpuacct.usage"),
    ("cpuacct", "cpuacct.usage_percpu"),
    ("cpuacct", "cpuacct.stat"),
    ("cpu", "cpu.stat"),
    ("memory", "memory.usage_in_bytes"),
    ("memory", "memory.max_usage_in_bytes"),
    ("memory", "memory.failcnt"),
    ("memory", "memory.limit_in_bytes"),
    ("memory", "memory.stat"),
    ("pids", "pids.current"),
    ("pids", "pids.max"),
)


def files(cfq: bool) -> tuple[tuple[str, str], ...]:
    """(controller, file name) of every file one sample reads; CFQ files only where they exist.

    ``memory.oom_control`` is not among them: on v1 OOM kills arrive through
    its eventfd (and the exit check), so the tick need not read it.
    """
    blkio = [("blkio", "blkio." + name) for name in THROTTLE_FILES]
    if cfq:
        blkio = [("blkio", "blkio." + name) for name in CFQ_FILES] + blkio
    return _BASE_FILES + tuple(blkio)


def parse_cpuacct_stat(text: str) -> tuple[int, int]:
    """``cpuacct.stat`` → (user ns, kernel ns).

    Raises:
        InvalidArgument: malformed, or ``user``/``system`` missing (containerd refuses too).
    """
    raw = fields.keyed("cpuacct.stat", text)
    if "user" not in raw or "system" not in raw:
        msg = "cpuacct.stat (expected user and system)"
        raise fields.bad(msg, text)
    return raw["user"] * NANOS_PER_TICK, raw["system"] * NANOS_PER_TICK


def parse_cpu_stat(text: str) -> tuple[int, int, int]:
    """v1 ``cpu.stat`` → (nr_periods, nr_throttled, throttled_time ns)."""
    raw = fields.keyed("cpu.stat", text)
    return raw.get("nr_periods", 0), raw.get("nr_throttled", 0), raw.get("throttled_time", 0)


def parse_blkio(name: str, text: str) -> tuple[BlkioEntry, ...]:
    """A blkio stat file: ``MAJ:MIN [Op] value`` lines; the ``Total N`` line is skipped.

    Raises:
        InvalidArgument: any other line shape (containerd's readEntry rules).
    """
    out = []
    for line in text.splitlines():
        parts = line.replace(":", " ").split()
        if not parts:
            continue
        if len(parts) < 3:
            if len(parts) == 2 and parts[0] == "Total":
                continue
            raise fields.bad(name, line)
        if len(parts) > 4:
            raise fields.bad(name, line)
        op, value = ("", parts[2]) if len(parts) == 3 else (parts[2], parts[3])
        out.append(
            BlkioEntry(
                major=fields.uint(name, parts[0]),
                minor=fields.uint(name, parts[1]),
                op=op,
                value=fields.uint(name, value),
            )
        )
    return tuple(out)


def _blkio(texts: Mapping[str, str | None]) -> dict[str, tuple[BlkioEntry, ...] | None]:
    lists: dict[str, tuple[BlkioEntry, ...] | None] = dict.fromkeys(BLKIO_KEYS, ())
    if texts.get(CFQ_PROBE) is not None:
        total = 0
        for file, key in CFQ_FILES.items():
            text = texts.get("blkio." + file)
            entries = parse_blkio("blkio." + file, text) if text is not None else ()
            lists[key] = entries
            total += len(entries)
        if total:
            return lists
    for file, key in THROTTLE_FILES.items():
        text = texts.get("blkio." + file)
        lists[key] = parse_blkio("blkio." + file, text) if text is not None else ()
    return lists


def usage_from_texts(texts: Mapping[str, str | None]) -> CgroupUsage:
    """Build one container's CgroupUsage from its v1 files' texts (file name → text or None).

    Raises:
        InvalidArgument: any present file is malformed.
    """

    def get(name: str) -> str | None:
        return texts.get(name)

    def num(name: str) -> int:
        text = get(name)
        return 0 if text is None else fields.single(name, text)

    user = kernel = 0
    if (stat := get("cpuacct.stat")) is not None:
        user, kernel = parse_cpuacct_stat(stat)
    periods = throttled = throttled_time = 0
    if (cpu_stat := get("cpu.stat")) is not None:
        periods, throttled, throttled_time = parse_cpu_stat(cpu_stat)
    percpu_text = get("cpuacct.usage_percpu")
    cpu = CpuUsage(
        total=num("cpuacct.usage"),
        user=user,
        kernel=kernel,
        percpu=fields.numbers("cpuacct.usage_percpu", percpu_text) if percpu_text else (),
        periods=periods,
        throttled_periods=throttled,
        throttled_time=throttled_time,
    )
    raw_stat = get("memory.stat")
    raw = fields.keyed("memory.stat", raw_stat) if raw_stat is not None else {}
    oom_text = get("memory.oom_control")
    oom = fields.keyed("memory.oom_control", oom_text) if oom_text is not None else {}
    memory = MemoryUsage(
        usage=num("memory.usage_in_bytes"),
        max_usage=num("memory.max_usage_in_bytes"),
        failcnt=num("memory.failcnt"),
        limit=num("memory.limit_in_bytes"),
        stats={key: raw.get(key, 0) for key in MEMORY_STAT_KEYS} if raw_stat is not None else {},
        oom_kills=oom.get("oom_kill", 0),
    )
    pids_max = get("pids.max")
    pids = PidsUsage(
        current=num("pids.current"),
        limit=0 if pids_max is None else fields.limit("pids.max", pids_max, 0),
    )
    return CgroupUsage(v2=False, cpu=cpu, memory=memory, blkio=_blkio(texts), pids=pids)


def oom_kills(text: str) -> int:
    """The ``oom_kill`` counter of ``memory.oom_control`` (0 on kernels before 4.13)."""
    try:
        return fields.keyed("memory.oom_control", text).get("oom_kill", 0)
    except InvalidArgument:
        return 0
