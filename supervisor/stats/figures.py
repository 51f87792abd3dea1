"""The few numbers every tick needs, read out of the stat files' texts without parsing them whole.

A tick samples every running container every second, but what it keeps for
each (the history point, the CPU % against the previous tick, the OOM
counter) needs ten numbers. Parsing the full files (memory.stat alone is
about 35 lines, net/dev 16 columns per interface) into Docker's structures
was most of the sampler's CPU. So a tick extracts ``Figures`` here, each
number validated like the full parsers validate it, and the full
``CgroupUsage`` is parsed only when someone asks (``/stats``, ``/metrics``;
``model.Sample``). ``figures_of`` computes the same numbers from parsed
structures: the two must always agree (a test checks it on recorded trees
and generated texts).

Pure: texts in, numbers out; malformed input raises InvalidArgument.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from supervisor.stats import cgroup_v1, fields
from supervisor.stats import math as smath
from supervisor.stats.model import MAX_UINT64, CgroupUsage, Figures, NetCounters
from supervisor.stats.netdev import SKIP, parse_net_dev

_V1_INACTIVE = re.compile(r"^total_inactive_file ([^\n]*)$", re.MULTILINE)
_V2_INACTIVE = re.compile(r"^inactive_file ([^\n]*)$", re.MULTILINE)
_V2_USAGE = re.compile(r"^usage_usec ([^\n]*)$", re.MULTILINE)
# net/dev: two header lines (with "|"), then "name: 16 numbers" rows.
_NET_DEV_ROW_RE = r" *([^\s:|]+): *([0-9]+)(?: +[0-9]+){7} +([0-9]+)(?: +[0-9]+){7} *"
_NET_DEV_FAST = re.compile(r"[^\n|]*\|[^\n]*\n[^\n|]*\|[^\n]*\n(?:" + _NET_DEV_ROW_RE + r"\n)*", re.ASCII)
_NET_DEV_ROW = re.compile(r"^" + _NET_DEV_ROW_RE + r"$", re.ASCII | re.MULTILINE)
_OOM_KILL = re.compile(r"^oom_kill ([^\n]*)$", re.MULTILINE)
# The keys the docker CLI subtracts, in its order, among those each version's stats carry.
_V1_USED_KEYS = ((_V1_INACTIVE, "memory.stat"), (_V2_INACTIVE, "memory.stat"))
_V2_USED_KEYS = ((_V2_INACTIVE, "memory.stat"),)


def _stat_value(pattern: re.Pattern[str], what: str, text: str | None) -> int | None:
    if text is None:
        return None
    found = pattern.search(text)
    if found is None:
        return None
    return fields.uint(what, found.group(1).strip())


def _single(what: str, text: str | None) -> int:
    return 0 if text is None else fields.single(what, text)


def _used(usage: int, stat: str | None, keys: tuple[tuple[re.Pattern[str], str], ...]) -> int:
    """``smath.memory_used`` on the parsed stats: each key in turn (0 when absent), as the CLI does."""
    if stat is None:
        return usage
    for pattern, what in keys:
        value = _stat_value(pattern, what, stat) or 0
        if value < usage:
            return usage - value
    return usage


def net_totals(text: str | None) -> tuple[int, int]:
    """(Σ rx_bytes, Σ tx_bytes) of ``net/dev`` without ``lo``; the shape checks of ``parse_net_dev``.

    Raises:
        InvalidArgument: a data line without a ``:`` or with fewer than 16 numbers.
    """
    if text is None:
        return 0, 0
    rx = tx = 0
    fast = _NET_DEV_FAST.fullmatch(text)
    if fast is not None:  # the common shape, checked in one regex pass
        for name, rx_s, tx_s in _NET_DEV_ROW.findall(text):
            if name not in SKIP:
                rx += fields.uint("net/dev", rx_s)
                tx += fields.uint("net/dev", tx_s)
        return rx, tx
    # Anything else (extra columns, odd spacing, a malformed line): the full parser
    # decides, with its precise error.
    networks = parse_net_dev(text)
    return smath.network_totals(networks)


def _v1_service_bytes(texts: Mapping[str, str | None]) -> str | None:
    """The io_service_bytes file the full parse uses: CFQ's if any CFQ file has entries."""
    if texts.get(cgroup_v1.CFQ_PROBE) is not None:
        for file in cgroup_v1.CFQ_FILES:
            text = texts.get("blkio." + file)
            if text and any(
                line.strip() and not line.startswith("Total") for line in text.splitlines()
            ):
                return texts.get("blkio.io_service_bytes_recursive")
    return texts.get("blkio.throttle.io_service_bytes")


def figures_v1(
    texts: Mapping[str, str | None], net_dev: str | None, memory_limit_hint: int = 0
) -> Figures:
    """Figures from a v1 container's file texts (file name → text, None for a missing file)."""
    percpu = texts.get("cpuacct.usage_percpu")
    usage = _single("memory.usage_in_bytes", texts.get("memory.usage_in_bytes"))
    limit_text = texts.get("memory.limit_in_bytes")
    limit = _single("memory.limit_in_bytes", limit_text)
    if limit_text is None and memory_limit_hint:
        limit = memory_limit_hint
    service = _v1_service_bytes(texts)
    read, write = smath.block_totals(
        cgroup_v1.parse_blkio("blkio.io_service_bytes", service) if service else ()
    )
    rx, tx = net_totals(net_dev)
    return Figures(
        cpu_total=_single("cpuacct.usage", texts.get("cpuacct.usage")),
        cpus=len(percpu.split()) if percpu else 0,
        memory_usage=usage,
        memory_used=_used(usage, texts.get("memory.stat"), _V1_USED_KEYS),
        memory_limit=limit,
        net_rx=rx, net_tx=tx, block_read=read, block_write=write,
        pids=_single("pids.current", texts.get("pids.current")),
        oom_kills=_stat_value(_OOM_KILL, "memory.oom_control", texts.get("memory.oom_control")) or 0,
    )


def figures_v2(
    texts: Mapping[str, str | None], net_dev: str | None, memory_limit_hint: int = 0
) -> Figures:
    """Figures from a v2 container's file texts."""
    from supervisor.stats.cgroup_v2 import parse_io_stat

    usage = _single("memory.current", texts.get("memory.current"))
    max_text = texts.get("memory.max")
    limit = MAX_UINT64 if max_text is None else fields.limit("memory.max", max_text, MAX_UINT64)
    if max_text is None and memory_limit_hint:
        limit = memory_limit_hint
    io_text = texts.get("io.stat")
    read, write = smath.block_totals(parse_io_stat(io_text) if io_text else ())
    rx, tx = net_totals(net_dev)
    cpu_usec = _stat_value(_V2_USAGE, "cpu.stat", texts.get("cpu.stat")) or 0
    return Figures(
        cpu_total=cpu_usec * 1000,
        cpus=0,
        memory_usage=usage,
        memory_used=_used(usage, texts.get("memory.stat"), _V2_USED_KEYS),
        memory_limit=limit,
        net_rx=rx, net_tx=tx, block_read=read, block_write=write,
        pids=_single("pids.current", texts.get("pids.current")),
        oom_kills=_stat_value(_OOM_KILL, "memory.events", texts.get("memory.events")) or 0,
    )


def figures_of(usage: CgroupUsage, networks: Mapping[str, NetCounters] | None) -> Figures:
    """The same figures from parsed structures (samples built whole, and the agreement test)."""
    rx, tx = smath.network_totals(networks)
    read, write = smath.block_totals(usage.blkio.get("io_service_bytes_recursive"))
    mem = usage.memory
    return Figures(
        cpu_total=usage.cpu.total,
        cpus=len(usage.cpu.percpu),
        memory_usage=mem.usage,
        memory_used=smath.memory_used(mem.usage, mem.stats),
        memory_limit=mem.limit,
        net_rx=rx, net_tx=tx, block_read=read, block_write=write,
        pids=usage.pids.current,
        oom_kills=mem.oom_kills,
    )
