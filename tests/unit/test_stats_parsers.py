"""Parsers of cgroup v1/v2, /proc/stat, /proc/meminfo and net/dev: recorded fixtures and arbitrary text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.errors import InvalidArgument
from supervisor.stats import cgroup_v1, cgroup_v2, fields
from supervisor.stats.model import MAX_UINT64, BlkioEntry
from supervisor.stats.netdev import parse_net_dev
from supervisor.stats.procstat import parse_mem_total, parse_proc_stat

FIX = Path(__file__).parent.parent / "fixtures" / "cgroupfs"


def texts(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in directory.iterdir()}


def test_v1_recorded_container() -> None:
    """The recorded v1 tree gives Docker's numbers: ticks→ns, percpu, limit, pids, throttle blkio."""
    u = cgroup_v1.usage_from_texts(texts(FIX / "v1" / "container"))
    assert not u.v2
    assert u.cpu.total == 255491363
    assert u.cpu.percpu == (216712068, 38779295)
    assert (u.cpu.user, u.cpu.kernel) == (21 * 10_000_000, 4 * 10_000_000)
    assert u.memory.usage == 946176 and u.memory.max_usage == 10477568
    assert u.memory.limit == 67108864 and u.memory.failcnt == 0
    assert u.memory.stats["total_inactive_file"] == 126976
    assert set(u.memory.stats) == set(cgroup_v1.MEMORY_STAT_KEYS)
    assert (u.pids.current, u.pids.limit) == (2, 100)
    # no CFQ on this kernel: throttle fallback, every list present and empty
    assert all(v == () for v in u.blkio.values())


def test_v1_cfq_blkio_preferred_over_throttle() -> None:
    """With CFQ files holding entries, those are used (ops kept, op-less files have op "")."""
    u = cgroup_v1.usage_from_texts(texts(FIX / "v1" / "blkio-cfq"))
    sb = u.blkio["io_service_bytes_recursive"]
    assert sb is not None and BlkioEntry(8, 0, "Read", 4915200) in sb
    assert u.blkio["sectors_recursive"] == (BlkioEntry(8, 0, "", 12016),)
    assert u.blkio["io_time_recursive"] == (BlkioEntry(8, 0, "", 84),)


def test_v1_throttle_fallback_when_cfq_empty() -> None:
    """CFQ files present but empty → throttle.io_serviced / io_service_bytes, as containerd."""
    t = {name: text for name, text in texts(FIX / "v1" / "blkio-cfq").items() if "throttle" in name}
    t.update({"blkio." + f: "Total 0\n" for f in cgroup_v1.CFQ_FILES})
    u = cgroup_v1.usage_from_texts(t)
    assert u.blkio["io_service_bytes_recursive"] == tuple(
        BlkioEntry(8, 0, op, v)
        for op, v in (("Read", 36864), ("Write", 4096), ("Sync", 40960), ("Async", 0), ("Discard", 0), ("Total", 40960))
    )


def test_v1_unlimited_pids_is_zero() -> None:
    u = cgroup_v1.usage_from_texts({"pids.current": "1\n", "pids.max": "max\n"})
    assert (u.pids.current, u.pids.limit) == (1, 0)


def test_v1_cpuacct_stat_requires_user_and_system() -> None:
    with pytest.raises(InvalidArgument, match=r"cpuacct\.stat"):
        cgroup_v1.usage_from_texts({"cpuacct.stat": "user 1\n"})


def test_v2_fixture() -> None:
    """v2: usec → ns, max → 2^64-1, failcnt = memory.events oom, io read/write per device."""
    t = texts(FIX / "v2" / "container")
    u = cgroup_v2.usage_from_texts(t)
    assert u.v2 and u.cpu.total == 183517000 and u.cpu.percpu == ()
    assert (u.cpu.periods, u.cpu.throttled_periods, u.cpu.throttled_time) == (41, 3, 61728000)
    assert u.memory.max_usage is None and u.memory.limit == 67108864
    assert u.memory.stats["inactive_file"] == 2650112
    assert u.memory.stats["workingset_refault"] == 0  # Docker's key set; absent keys read 0
    assert u.blkio["io_service_bytes_recursive"] == (
        BlkioEntry(254, 0, "read", 4915200), BlkioEntry(254, 0, "write", 8192),
        BlkioEntry(254, 16, "read", 0), BlkioEntry(254, 16, "write", 1228800),
    )
    assert u.blkio["io_serviced_recursive"] is None
    t["memory.max"] = "max\n"
    t["pids.max"] = "max\n"
    u = cgroup_v2.usage_from_texts(t)
    assert u.memory.limit == MAX_UINT64 and u.pids.limit == MAX_UINT64


def test_v2_events_feed_failcnt_and_oom_kills() -> None:
    u = cgroup_v2.usage_from_texts({"memory.events": "low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n"})
    assert (u.memory.failcnt, u.memory.oom_kills) == (2, 1)


def test_proc_stat_recorded() -> None:
    """Docker's 7-field sum (steal excluded) x 1e9/100 and the number of cpuN lines."""
    s = parse_proc_stat((FIX / "proc" / "stat").read_text())
    first = (FIX / "proc" / "stat").read_text().splitlines()[0].split()
    assert s.usage == sum(int(x) for x in first[1:8]) * 10_000_000
    assert s.online_cpus == 2


@pytest.mark.parametrize(
    ("text", "usage", "cpus"),
    [
        ("cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 1 1 1 1 1 1 1\nintr 5\n", 28 * 10_000_000, 1),
        ("cpu  0 0 0 0 0 0 0\n", 0, 0),
        ("cpu  1 1 1 1 1 1 1\ncpu0 1 1 1 1 1 1 1\ncpu1 x\nctxt 1\ncpu2 1\n", 7 * 10_000_000, 2),
    ],
)
def test_proc_stat_table(text: str, usage: int, cpus: int) -> None:
    """Only the leading cpu* block counts (glibc's and moby's rule)."""
    s = parse_proc_stat(text)
    assert (s.usage, s.online_cpus) == (usage, cpus)


@pytest.mark.parametrize("text", ["", "intr 1\n", "cpu  1 2 3\n", "cpu  a b c d e f g\n"])
def test_proc_stat_rejects(text: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_proc_stat(text)


def test_meminfo() -> None:
    assert parse_mem_total("MemTotal:       16384 kB\nMemFree: 1 kB\n") == 16384 * 1024
    assert parse_mem_total((FIX / "proc" / "meminfo").read_text()) > 0
    with pytest.raises(InvalidArgument):
        parse_mem_total("MemFree: 1 kB\n")


def test_net_dev_skips_lo_and_zeroes_errors() -> None:
    """eth0 only; rx/tx_errors stay 0 as libnetwork never fills them."""
    nets = parse_net_dev((FIX / "proc" / "net_dev").read_text())
    assert list(nets) == ["eth0"]
    eth0 = nets["eth0"]
    assert (eth0.rx_bytes, eth0.rx_packets, eth0.rx_dropped) == (12872, 104, 1)
    assert (eth0.tx_bytes, eth0.tx_packets) == (4238, 41)
    assert eth0.rx_errors == 0 and eth0.tx_errors == 0


@pytest.mark.parametrize("token", ["-1", "1.5", "", "١٢", "18446744073709551616", "0x10"])
def test_uint_rejects(token: str) -> None:
    """Only ASCII decimals within uint64 (Go's ParseUint) are numbers."""
    with pytest.raises(InvalidArgument):
        fields.uint("f", token)


def _any_or_invalid(fn, text: str) -> None:  # type: ignore[no-untyped-def]
    try:
        fn(text)
    except InvalidArgument:
        pass


PARSERS = [
    lambda t: cgroup_v1.usage_from_texts(dict.fromkeys(
        [name for _, name in cgroup_v1.files(True)], t)),
    lambda t: cgroup_v2.usage_from_texts(dict.fromkeys(cgroup_v2.FILES, t)),
    parse_proc_stat,
    parse_mem_total,
    parse_net_dev,
    lambda t: cgroup_v1.parse_blkio("blkio.x", t),
    cgroup_v2.parse_io_stat,
]

kernelish = st.text(
    alphabet=st.sampled_from(list("0123456789 :=\n\t-abcdefghijklmnopqrstuvwxyz_|RWTotalmax.\x00é\u0661")),
    max_size=200,
)


@pytest.mark.parametrize("parser", range(len(PARSERS)))
@given(text=st.one_of(st.text(max_size=200), kernelish))
def test_any_text_yields_a_value_or_invalid_argument(parser: int, text: str) -> None:
    """Whatever the kernel (or a torn read) hands us: a value or InvalidArgument, never a crash."""
    _any_or_invalid(PARSERS[parser], text)


@given(st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), st.integers(0, MAX_UINT64), max_size=30))
def test_keyed_roundtrip(values: dict[str, int]) -> None:
    """A well-formed flat-keyed file parses back to exactly its numbers."""
    text = "".join(f"{k} {v}\n" for k, v in values.items())
    assert fields.keyed("memory.stat", text) == values
