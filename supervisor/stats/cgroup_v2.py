"""cgroup v2 stat files → CgroupUsage, the way Docker reads them (containerd/cgroups v2).

Sources (docker-semantics.md §3.3): cpu.stat (``*_usec`` x 1000 → ns; no
per-CPU figures), memory.current, memory.max (``max`` → 2^64-1), memory.stat
(Docker's fixed key set, missing keys 0), memory.events (``oom`` → failcnt,
``oom_kill`` → OOM detection), io.stat (``rbytes``/``wbytes`` per device →
io_service_bytes_recursive ops ``read``/``write``; every other blkio list is
null), pids.current / pids.max (``max`` → 2^64-1).

Pure: ``usage_from_texts`` takes file name → text (None = missing file).
"""

from __future__ import annotations

from collections.abc import Mapping

from supervisor.errors import InvalidArgument
from supervisor.stats import fields
from supervisor.stats.model import (
    BLKIO_KEYS,
    MAX_UINT64,
    BlkioEntry,
    CgroupUsage,
    CpuUsage,
    MemoryUsage,
    PidsUsage,
)

#: The memory.stat keys Docker copies into ``memory_stats.stats`` (moby stats_unix.go statsV2).
MEMORY_STAT_KEYS: tuple[str, ...] = (
    "anon", "file", "kernel_stack", "slab", "sock", "shmem", "file_mapped", "file_dirty",
    "file_writeback", "anon_thp", "inactive_anon", "active_anon", "inactive_file",
    "active_file", "unevictable", "slab_reclaimable", "slab_unreclaimable", "pgfault",
    "pgmajfault", "workingset_refault", "workingset_activate", "workingset_nodereclaim",
    "pgrefill", "pgscan", "pgsteal", "pgactivate", "pgdeactivate", "pglazyfree",
    "pglazyfreed", "thp_fault_alloc", "thp_collapse_alloc",
)

FILES: tuple[str, ...] = (
    "cpu.stat",
    "memory.current",
    "memory.max",
    "memory.stat",
    "memory.events",
    "io.stat",
    "pids.current",
    "pids.max",
)


def parse_cpu_stat(text: str) -> CpuUsage:
    """v2 ``cpu.stat`` → CpuUsage in nanoseconds."""
    raw = fields.keyed("cpu.stat", text)
    return CpuUsage(
        total=raw.get("usage_usec", 0) * 1000,
        user=raw.get("user_usec", 0) * 1000,
        kernel=raw.get("system_usec", 0) * 1000,
        periods=raw.get("nr_periods", 0),
        throttled_periods=raw.get("nr_throttled", 0),
        throttled_time=raw.get("throttled_usec", 0) * 1000,
    )


def parse_io_stat(text: str) -> tuple[BlkioEntry, ...]:
    """``io.stat`` lines ``MAJ:MIN key=value ...`` → a read and a write entry per device.

    Raises:
        InvalidArgument: a device that is not ``MAJ:MIN`` or a field that is not ``key=number``.
    """
    out: list[BlkioEntry] = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        major_s, sep, minor_s = parts[0].partition(":")
        if not sep:
            msg = "io.stat"
            raise fields.bad(msg, line)
        major, minor = fields.uint("io.stat", major_s), fields.uint("io.stat", minor_s)
        values: dict[str, int] = {}
        for item in parts[1:]:
            key, eq, value = item.partition("=")
            if not eq or not key:
                msg = "io.stat"
                raise fields.bad(msg, line)
            values[key] = fields.uint("io.stat", value)
        out.append(BlkioEntry(major, minor, "read", values.get("rbytes", 0)))
        out.append(BlkioEntry(major, minor, "write", values.get("wbytes", 0)))
    return tuple(out)


def usage_from_texts(texts: Mapping[str, str | None]) -> CgroupUsage:
    """Build one container's CgroupUsage from its v2 files' texts.

    Raises:
        InvalidArgument: any present file is malformed.
    """

    def get(name: str) -> str | None:
        return texts.get(name)

    cpu_text = get("cpu.stat")
    cpu = parse_cpu_stat(cpu_text) if cpu_text is not None else CpuUsage()
    stat_text = get("memory.stat")
    raw = fields.keyed("memory.stat", stat_text) if stat_text is not None else None
    events_text = get("memory.events")
    events = fields.keyed("memory.events", events_text) if events_text is not None else {}
    current = get("memory.current")
    max_text = get("memory.max")
    memory = MemoryUsage(
        usage=0 if current is None else fields.single("memory.current", current),
        max_usage=None,
        failcnt=events.get("oom", 0),
        limit=MAX_UINT64 if max_text is None else fields.limit("memory.max", max_text, MAX_UINT64),
        stats={} if raw is None else {key: raw.get(key, 0) for key in MEMORY_STAT_KEYS},
        oom_kills=events.get("oom_kill", 0),
    )
    blkio: dict[str, tuple[BlkioEntry, ...] | None] = dict.fromkeys(BLKIO_KEYS)
    io_text = get("io.stat")
    entries = parse_io_stat(io_text) if io_text is not None else ()
    blkio["io_service_bytes_recursive"] = entries or None
    pids_current = get("pids.current")
    pids_max = get("pids.max")
    pids = PidsUsage(
        current=0 if pids_current is None else fields.single("pids.current", pids_current),
        limit=0 if pids_max is None else fields.limit("pids.max", pids_max, MAX_UINT64),
    )
    return CgroupUsage(v2=True, cpu=cpu, memory=memory, blkio=blkio, pids=pids)


def oom_kills(text: str) -> int:
    """The ``oom_kill`` counter of ``memory.events`` (0 if absent or unreadable)."""
    try:
        return fields.keyed("memory.events", text).get("oom_kill", 0)
    except InvalidArgument:
        return 0
