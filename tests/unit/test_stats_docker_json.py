"""Docker's stats JSON: field order, omitempty, nulls, zero times, the memory cap."""

from __future__ import annotations

import json
from pathlib import Path

from supervisor.stats import cgroup_v1, cgroup_v2
from supervisor.stats.docker_json import empty_stats_json, encode, stats_json
from supervisor.stats.model import NetCounters, Sample, SystemCpu

FIX = Path(__file__).parent.parent / "fixtures" / "cgroupfs"
SYS = SystemCpu(usage=3_277_900_000_000, online_cpus=2)
HOST = 8 << 30


def texts(d: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in d.iterdir()}


def v1_sample(read_ns: int = 1_700_000_000_123_456_789) -> Sample:
    return Sample(read_ns, SYS, cgroup_v1.usage_from_texts(texts(FIX / "v1" / "container")),
                  {"eth0": NetCounters(rx_bytes=1, tx_bytes=2)})


def v2_sample(read_ns: int = 1_700_000_001_000_000_000) -> Sample:
    return Sample(read_ns, SYS, cgroup_v2.usage_from_texts(texts(FIX / "v2" / "container")))


TOP_KEYS = ["name", "id", "read", "preread", "pids_stats", "blkio_stats", "num_procs",
            "storage_stats", "cpu_stats", "precpu_stats", "memory_stats"]


def test_v1_shape_first_frame() -> None:
    """First frame: Go's zero preread, precpu without system_cpu_usage/online_cpus, percpu kept (v1)."""
    js = stats_json(v1_sample(), None, container_id="abc", name="web", mem_total=HOST)
    assert list(js) == [*TOP_KEYS, "networks"]
    assert js["name"] == "/web" and js["id"] == "abc"
    assert js["read"] == "2023-11-14T22:13:20.123456789Z"
    assert js["preread"] == "0001-01-01T00:00:00Z"
    assert js["precpu_stats"] == {
        "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    }
    cpu = js["cpu_stats"]
    assert list(cpu) == ["cpu_usage", "system_cpu_usage", "online_cpus", "throttling_data"]
    assert cpu["cpu_usage"]["percpu_usage"] == [216712068, 38779295]
    assert list(js["memory_stats"]) == ["usage", "max_usage", "stats", "limit"]  # failcnt 0 omitted
    assert js["memory_stats"]["limit"] == 67108864
    assert all(v == [] for v in js["blkio_stats"].values())  # v1: empty lists, not null
    assert js["networks"]["eth0"] == {
        "rx_bytes": 1, "rx_packets": 0, "rx_errors": 0, "rx_dropped": 0,
        "tx_bytes": 2, "tx_packets": 0, "tx_errors": 0, "tx_dropped": 0,
    }
    assert js["pids_stats"] == {"current": 2, "limit": 100}
    assert js["num_procs"] == 0 and js["storage_stats"] == {}


def test_v2_shape_with_previous() -> None:
    """v2: no percpu, no max_usage, blkio lists other than service bytes are null, preread set."""
    pre = v2_sample(1_700_000_000_000_000_000)
    js = stats_json(v2_sample(), pre, container_id="abc", name="web", mem_total=HOST)
    assert "networks" not in js
    assert js["preread"] == "2023-11-14T22:13:20Z"
    assert "percpu_usage" not in js["cpu_stats"]["cpu_usage"]
    assert js["precpu_stats"]["system_cpu_usage"] == SYS.usage
    assert "max_usage" not in js["memory_stats"]
    assert js["blkio_stats"]["io_serviced_recursive"] is None
    assert js["blkio_stats"]["io_service_bytes_recursive"][0] == {"major": 254, "minor": 0, "op": "read", "value": 4915200}


def test_limit_capped_at_host_memory() -> None:
    s = v2_sample()
    from dataclasses import replace

    s = Sample(s.read_ns, s.system, replace(s.cgroup, memory=replace(s.cgroup.memory, limit=2**64 - 1)))
    js = stats_json(s, None, container_id="a", name="n", mem_total=HOST)
    assert js["memory_stats"]["limit"] == HOST


def test_empty_object_for_stopped_container() -> None:
    """Docker's shape for a container that is not running: zero times, null blkio, empty maps."""
    js = empty_stats_json(container_id="abc", name="web")
    assert list(js) == TOP_KEYS
    assert js["read"] == js["preread"] == "0001-01-01T00:00:00Z"
    assert js["memory_stats"] == {} and js["pids_stats"] == {}
    assert all(v is None for v in js["blkio_stats"].values())
    line = encode(js)
    assert line.endswith(b"}\n") and b" " not in line
    assert json.loads(line) == js
