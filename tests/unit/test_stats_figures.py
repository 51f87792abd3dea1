"""A tick's figures equal what the full parse gives: recorded trees, generated texts, malformed ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.errors import InvalidArgument, RuntimeFailed
from supervisor.stats import cgroup_v1, cgroup_v2
from supervisor.stats.figures import figures_of, figures_v1, figures_v2, net_totals
from supervisor.stats.model import Sample, SystemCpu
from supervisor.stats.netdev import parse_net_dev

FIX = Path(__file__).parent.parent / "fixtures" / "cgroupfs"

NET_DEV = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0
  eth0:    5000      40    0    1    0     0          0         0     3000      30    0    0    0     0       0          0
  eth1:      70       1    0    0    0     0          0         0       30       1    0    0    0     0       0          0
"""


def texts(d: Path) -> dict[str, str | None]:
    return {p.name: p.read_text() for p in d.iterdir()}


def full_v1(t: dict[str, str | None], net: str | None):  # type: ignore[no-untyped-def]
    return figures_of(cgroup_v1.usage_from_texts(t), (parse_net_dev(net) or None) if net else None)


def full_v2(t: dict[str, str | None], net: str | None):  # type: ignore[no-untyped-def]
    return figures_of(cgroup_v2.usage_from_texts(t), (parse_net_dev(net) or None) if net else None)


@pytest.mark.parametrize("tree", ["container", "blkio-cfq"])
def test_v1_recorded_trees_agree(tree: str) -> None:
    t = texts(FIX / "v1" / tree)
    # The tick never reads memory.oom_control (OOM kills arrive through its eventfd).
    t.pop("memory.oom_control", None)
    assert figures_v1(t, NET_DEV) == full_v1(t, NET_DEV)
    assert figures_v1(t, None) == full_v1(t, None)


def test_v2_recorded_tree_agrees() -> None:
    t = texts(FIX / "v2" / "container")
    got = figures_v2(t, NET_DEV)
    assert got == full_v2(t, NET_DEV)
    assert got.net_rx == 5070 and got.net_tx == 3030  # lo left out, as Docker does


def test_missing_files_read_as_zero_and_the_limit_hint_applies() -> None:
    assert figures_v1({}, None) == full_v1({}, None)
    assert figures_v1({}, None, memory_limit_hint=1 << 20).memory_limit == 1 << 20
    assert figures_v2({}, None, memory_limit_hint=1 << 20).memory_limit == 1 << 20


_V1_STAT_KEYS = ("cache", "rss", "inactive_file", "active_file", "total_inactive_file", "total_rss")
_V2_STAT_KEYS = ("anon", "file", "inactive_file", "active_file", "pgfault")
_u64 = st.integers(min_value=0, max_value=2**64 - 1)
_small = st.integers(min_value=0, max_value=10**12)


def _stat(keys: tuple[str, ...], values: dict[str, int]) -> str:
    return "".join(f"{k} {values[k]}\n" for k in keys if k in values)


def _net(rows: list[tuple[str, list[int]]]) -> str:
    head = "Inter-| Receive | Transmit\n face |bytes packets|bytes packets\n"
    return head + "".join(f"{name}: {' '.join(map(str, nums))}\n" for name, nums in rows)


_iface = st.sampled_from(["lo", "eth0", "eth1", "veth9"])
_rows = st.lists(st.tuples(_iface, st.lists(_small, min_size=16, max_size=16)), max_size=3, unique_by=lambda r: r[0])


@given(
    usage=_small,
    stat=st.dictionaries(st.sampled_from(_V1_STAT_KEYS), _small),
    with_stat=st.booleans(),
    percpu=st.lists(_small, max_size=4),
    service=st.lists(st.tuples(st.sampled_from(["Read", "Write", "Sync", "Total"]), _small), max_size=4),
    rows=_rows,
)
def test_v1_generated_texts_agree(usage, stat, with_stat, percpu, service, rows) -> None:  # type: ignore[no-untyped-def]
    t: dict[str, str | None] = {
        "cpuacct.usage": f"{sum(percpu)}\n",
        "cpuacct.usage_percpu": " ".join(map(str, percpu)) + " \n",
        "memory.usage_in_bytes": f"{usage}\n",
        "memory.limit_in_bytes": "9223372036854771712\n",
        "memory.stat": _stat(_V1_STAT_KEYS, stat) if with_stat else None,
        "pids.current": "3\n",
        "blkio.throttle.io_service_bytes": "".join(f"8:0 {op} {v}\n" for op, v in service) + "Total 0\n",
    }
    net = _net(rows)
    assert figures_v1(t, net) == full_v1(t, net)


@given(
    usage=_small,
    stat=st.dictionaries(st.sampled_from(_V2_STAT_KEYS), _small),
    usec=_small,
    io=st.lists(st.tuples(_small, _small), max_size=3),
    limit=st.one_of(st.just("max"), _u64.map(str)),
    oom=_small,
)
def test_v2_generated_texts_agree(usage, stat, usec, io, limit, oom) -> None:  # type: ignore[no-untyped-def]
    t: dict[str, str | None] = {
        "cpu.stat": f"usage_usec {usec}\nuser_usec 0\nsystem_usec {usec}\n",
        "memory.current": f"{usage}\n",
        "memory.max": f"{limit}\n",
        "memory.stat": _stat(_V2_STAT_KEYS, stat),
        "memory.events": f"low 0\nhigh 0\nmax 0\noom 0\noom_kill {oom}\n",
        "io.stat": "".join(f"8:{i} rbytes={r} wbytes={w} rios=1 wios=1\n" for i, (r, w) in enumerate(io)),
        "pids.current": "1\n",
    }
    assert figures_v2(t, None) == full_v2(t, None)


@given(st.text(max_size=300))
def test_net_totals_of_any_text_is_a_pair_or_a_clear_error(text: str) -> None:
    try:
        rx, tx = net_totals(text)
    except InvalidArgument as exc:
        assert "net/dev" in exc.message
    else:
        assert rx >= 0 and tx >= 0


def test_malformed_figures_raise_and_a_lazy_parse_fails_as_a_500() -> None:
    with pytest.raises(InvalidArgument, match="memory.stat"):
        figures_v1({"memory.usage_in_bytes": "10\n", "memory.stat": "total_inactive_file x1\n"}, None)
    with pytest.raises(InvalidArgument, match="net/dev"):
        net_totals("h|\nh|\neth0: 1 2 3\n")

    def broken():  # type: ignore[no-untyped-def]
        return cgroup_v1.usage_from_texts({"memory.stat": "rss oops\n"}), None

    s = Sample(1, SystemCpu(1, 1), parse=broken, figures=figures_v1({}, None))
    with pytest.raises(RuntimeFailed, match="cannot read the container's stats: malformed memory.stat"):
        _ = s.cgroup


@pytest.mark.parametrize(
    ("stat", "used"),
    [
        ("inactive_file 1000\ntotal_inactive_file 500\n", 3500),  # total_inactive_file first
        ("inactive_file 1000\ntotal_inactive_file 5000\n", 3000),  # then inactive_file, as the CLI
        ("inactive_file 9000\ntotal_inactive_file 5000\n", 4000),  # neither below usage
        ("rss 5\n", 4000),  # absent keys count as 0
    ],
)
def test_v1_memory_used_follows_the_cli_order(stat: str, used: int) -> None:
    t: dict[str, str | None] = {"memory.usage_in_bytes": "4000\n", "memory.stat": stat}
    assert figures_v1(t, None).memory_used == used == full_v1(t, None).memory_used
