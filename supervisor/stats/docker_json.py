"""Docker's ``GET /containers/{id}/stats`` JSON from our samples, field for field.

The shape is moby's ``container.StatsResponse`` (API 1.50, docker 28.2.2) as
Go's encoding/json writes it: struct field order, ``omitempty`` where the Go
type has it (so an empty ``precpu_stats`` keeps ``cpu_usage`` and
``throttling_data`` with zeros but drops ``system_cpu_usage`` and
``online_cpus``; ``memory_stats`` and ``pids_stats`` drop zero fields), nil
slices as ``null`` (v2 blkio lists other than io_service_bytes_recursive; all
of them for a container that is not running) and Go's zero time
``0001-01-01T00:00:00Z`` for "no previous read".

Pure: samples, names and the host's memory size come in as arguments.
"""

from __future__ import annotations

import json
from typing import Any

from supervisor.api.humanize import ZERO_TIME, rfc3339_nano
from supervisor.stats.math import capped_limit
from supervisor.stats.model import BLKIO_KEYS, BlkioEntry, CpuUsage, Sample

__all__ = ["empty_stats_json", "encode", "stats_json"]


def _cpu(cpu: CpuUsage | None, system: int = 0, online: int = 0) -> dict[str, Any]:
    cpu = cpu or CpuUsage()
    usage: dict[str, Any] = {"total_usage": cpu.total}
    if cpu.percpu:
        usage["percpu_usage"] = list(cpu.percpu)
    usage["usage_in_kernelmode"] = cpu.kernel
    usage["usage_in_usermode"] = cpu.user
    out: dict[str, Any] = {"cpu_usage": usage}
    if system:
        out["system_cpu_usage"] = system
    if online:
        out["online_cpus"] = online
    out["throttling_data"] = {
        "periods": cpu.periods,
        "throttled_periods": cpu.throttled_periods,
        "throttled_time": cpu.throttled_time,
    }
    return out


def _cpu_of(sample: Sample | None) -> dict[str, Any]:
    if sample is None:
        return _cpu(None)
    return _cpu(sample.cgroup.cpu, sample.system.usage, sample.system.online_cpus)


def _entries(entries: tuple[BlkioEntry, ...] | None) -> list[dict[str, Any]] | None:
    if entries is None:
        return None
    return [{"major": e.major, "minor": e.minor, "op": e.op, "value": e.value} for e in entries]


def _omit_zero(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {k: v for k, v in pairs if v}


def _empty_blkio() -> dict[str, Any]:
    return dict.fromkeys(BLKIO_KEYS)


def stats_json(
    cur: Sample, pre: Sample | None, *, container_id: str, name: str, mem_total: int
) -> dict[str, Any]:
    """One stats object: ``cur`` with ``pre`` as preread/precpu (None → Docker's empty precpu).

    Args:
        cur: this tick's sample.
        pre: the previous tick's sample of the same run, or None for the first frame.
        container_id: the full id.
        name: the container's name without the leading slash (it is added here).
        mem_total: the host's MemTotal in bytes; a larger cgroup limit is capped to it.
    """
    cg = cur.cgroup
    mem = cg.memory
    memory = _omit_zero(
        [
            ("usage", mem.usage),
            ("max_usage", mem.max_usage or 0),
            ("stats", dict(mem.stats)),
            ("failcnt", mem.failcnt),
            ("limit", capped_limit(mem.limit, mem_total)),
        ]
    )
    out: dict[str, Any] = {
        "name": "/" + name,
        "id": container_id,
        "read": rfc3339_nano(cur.read_ns),
        "preread": rfc3339_nano(pre.read_ns) if pre is not None else ZERO_TIME,
        "pids_stats": _omit_zero([("current", cg.pids.current), ("limit", cg.pids.limit)]),
        "blkio_stats": {key: _entries(cg.blkio.get(key)) for key in BLKIO_KEYS},
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": _cpu_of(cur),
        "precpu_stats": _cpu_of(pre),
        "memory_stats": memory,
    }
    if cur.networks:
        out["networks"] = {
            ifname: {
                "rx_bytes": n.rx_bytes,
                "rx_packets": n.rx_packets,
                "rx_errors": n.rx_errors,
                "rx_dropped": n.rx_dropped,
                "tx_bytes": n.tx_bytes,
                "tx_packets": n.tx_packets,
                "tx_errors": n.tx_errors,
                "tx_dropped": n.tx_dropped,
            }
            for ifname, n in cur.networks.items()
        }
    return out


def empty_stats_json(*, container_id: str, name: str) -> dict[str, Any]:
    """What Docker sends for a container that is not running: name and id over zero values."""
    return {
        "name": "/" + name,
        "id": container_id,
        "read": ZERO_TIME,
        "preread": ZERO_TIME,
        "pids_stats": {},
        "blkio_stats": _empty_blkio(),
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": _cpu(None),
        "precpu_stats": _cpu(None),
        "memory_stats": {},
    }


def encode(obj: dict[str, Any]) -> bytes:
    """One object as moby's json.Encoder writes it: compact, newline-terminated."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
