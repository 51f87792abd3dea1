"""The docker CLI formulas: CPU %, memory used, totals, formatting, history points."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.stats import math as smath
from supervisor.stats.history import StatsHistory, point_from
from supervisor.stats.model import (
    BlkioEntry,
    CgroupUsage,
    CpuUsage,
    HistoryPoint,
    MemoryUsage,
    NetCounters,
    PidsUsage,
    Sample,
    SystemCpu,
)

U64 = st.integers(0, 2**64 - 1)


@given(U64, U64, U64, U64, st.integers(1, 512))
def test_cpu_percent_bounded(cpu: int, pre_cpu: int, sys: int, pre_sys: int, n: int) -> None:
    """Any counters, resets included: 0 <= CPU % <= 100 x CPUs."""
    pct = smath.cpu_percent(cpu, pre_cpu, sys, pre_sys, n)
    assert 0.0 <= pct <= 100.0 * n


@given(st.integers(1, 10**12), st.integers(1, 10**12), st.integers(1, 64))
def test_counter_reset_reads_zero(pre_cpu: int, sys_delta: int, n: int) -> None:
    """A container counter that went backwards (a restart) gives 0, never negative."""
    assert smath.cpu_percent(0, pre_cpu, 10**13 + sys_delta, 10**13, n) == 0.0


@pytest.mark.parametrize(
    ("cpu", "pre", "sys", "pre_sys", "n", "want"),
    [
        (2_000_000_000, 1_000_000_000, 4_000_000_000, 2_000_000_000, 2, 100.0),  # one core of two
        (1_500_000_000, 1_000_000_000, 4_000_000_000, 2_000_000_000, 2, 50.0),
        (1, 1, 5, 1, 4, 0.0),  # no cpu delta
        (5, 1, 1, 1, 4, 0.0),  # no system delta
    ],
)
def test_cpu_percent_table(cpu: int, pre: int, sys: int, pre_sys: int, n: int, want: float) -> None:
    assert smath.cpu_percent(cpu, pre, sys, pre_sys, n) == pytest.approx(want)


def test_online_cpus_falls_back_to_percpu_length() -> None:
    assert smath.online_cpus(0, (1, 2, 3)) == 3
    assert smath.online_cpus(8, (1,)) == 8


@pytest.mark.parametrize(
    ("usage", "stats", "want"),
    [
        (1000, {"total_inactive_file": 300, "inactive_file": 100}, 700),  # v1 key wins
        (1000, {"inactive_file": 100}, 900),  # v2
        (1000, {"total_inactive_file": 2000, "inactive_file": 100}, 900),  # v1 too big → v2 key
        (1000, {"inactive_file": 1000}, 1000),  # not smaller → usage
        (1000, {}, 1000),
    ],
)
def test_memory_used(usage: int, stats: dict[str, int], want: int) -> None:
    """usage - inactive file pages, exactly the docker CLI's rule (moby#40727)."""
    assert smath.memory_used(usage, stats) == want


def test_totals() -> None:
    nets = {"eth0": NetCounters(rx_bytes=10, tx_bytes=1), "eth1": NetCounters(rx_bytes=5, tx_bytes=2)}
    assert smath.network_totals(nets) == (15, 3)
    assert smath.network_totals(None) == (0, 0)
    entries = [BlkioEntry(8, 0, "Read", 4), BlkioEntry(8, 0, "write", 2), BlkioEntry(8, 0, "Total", 6), BlkioEntry(8, 0, "", 9)]
    assert smath.block_totals(entries) == (4, 2)


@pytest.mark.parametrize(
    ("value", "want"),
    [(0, "0B"), (1536, "1.5KiB"), (1572864, "1.5MiB"), (8_270_000_000, "7.702GiB"), (1023, "1023B")],
)
def test_bytes_size(value: int, want: str) -> None:
    assert smath.format_mem_usage(value, value) == f"{want} / {want}"


def test_io_and_percent_formatting() -> None:
    assert smath.format_io(1234, 648) == "1.23kB / 648B"
    assert smath.format_io(60_000_000, 0) == "60MB / 0B"
    assert smath.format_percent(12.345) == "12.35%"


def test_capped_limit() -> None:
    """A limit above the host's memory reads as the host's memory (Docker's machineMemory rule)."""
    assert smath.capped_limit(2**64 - 1, 8 << 30) == 8 << 30
    assert smath.capped_limit(64 << 20, 8 << 30) == 64 << 20
    assert smath.capped_limit(123, 0) == 123


def sample(read_ns: int, cpu: int, sys: int, usage: int = 100, cpus: int = 2) -> Sample:
    cg = CgroupUsage(
        v2=True, cpu=CpuUsage(total=cpu), memory=MemoryUsage(usage=usage, limit=2**64 - 1, stats={"inactive_file": 10}),
        blkio={"io_service_bytes_recursive": (BlkioEntry(8, 0, "read", 7),)}, pids=PidsUsage(3, 0),
    )
    return Sample(read_ns, SystemCpu(sys, cpus), cg, {"eth0": NetCounters(rx_bytes=5, tx_bytes=6)})


def test_history_point_and_ring() -> None:
    """Points carry CPU % against the previous sample; the ring keeps the newest N; ranges filter."""
    h = StatsHistory(3)
    pre = None
    for i in range(5):
        cur = sample(i * 10**9, i * 10**9, i * 2 * 10**9)
        h.record("c", point_from(cur, pre, 1000))
        pre = cur
    pts = h.points("c")
    assert [p.read_ns for p in pts] == [2 * 10**9, 3 * 10**9, 4 * 10**9]
    assert pts[-1].cpu_percent == pytest.approx(100.0)
    assert pts[-1].memory_used == 90 and pts[-1].memory_limit == 1000
    assert (pts[-1].net_rx, pts[-1].net_tx, pts[-1].block_read, pts[-1].pids) == (5, 6, 7, 3)
    assert [p.read_ns for p in h.points("c", since_ns=3 * 10**9)] == [3 * 10**9, 4 * 10**9]
    assert [p.read_ns for p in h.points("c", until_ns=2 * 10**9)] == [2 * 10**9]
    h.expire(now_ns=100 * 10**9, window_ns=10 * 10**9)
    assert "c" not in h and h.points("c") == []


def test_history_point_json() -> None:
    p = HistoryPoint(1_500_000_000, 12.5, 7, 100, 90, 1000, 1, 2, 3, 4, 5)
    js = p.to_json()
    assert js["read"] == "1970-01-01T00:00:01.5Z"
    assert js["memory_percent"] == 9.0 and js["cpu_percent"] == 12.5 and js["pids"] == 5
