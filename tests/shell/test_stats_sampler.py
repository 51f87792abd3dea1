"""The sampler on a fake host: cadence, samples, history, subscriptions, OOM, with the autojump clock."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from supervisor.stats.sampler import StatsSampler, Target
from tests.shell.stats_fakes import LAYOUT, FakeHost


def target(cid: str = "c1", pid: int = 4242) -> Target:
    return Target(id=cid, name=cid + "-name", image="busybox", cgroups_path=f"/berth/{cid}", pid=pid)


async def start(nursery: trio.Nursery, host: FakeHost, targets: list[Target], **kw: object) -> StatsSampler:
    sampler = StatsSampler(lambda: list(targets), LAYOUT, files=host, **kw)  # type: ignore[arg-type]
    await nursery.start(sampler.run)
    return sampler


async def test_ticks_at_a_fixed_cadence(nursery: trio.Nursery, autojump_clock: trio.testing.MockClock) -> None:
    """One tick at start, then exactly one per interval."""
    host = FakeHost()
    host.add_container("c1", 4242)
    t0 = trio.current_time()
    sampler = await start(nursery, host, [target()], interval=0.5)
    assert sampler.ticks == 1
    await trio.sleep(2.25)
    assert sampler.ticks == 5
    assert trio.current_time() - t0 == 2.25
    assert sampler.mem_total == 8388608 * 1024


async def test_cpu_percent_and_pairs(nursery: trio.Nursery, autojump_clock: trio.testing.MockClock) -> None:
    """A container using one of two CPUs reads 100 % in history; latest() has the previous sample."""
    host = FakeHost(cpus=2)
    host.add_container("c1", 4242)
    ts = [target()]
    usage = 0

    async def load() -> None:  # one core's worth of CPU time per second
        nonlocal usage
        while True:
            await trio.sleep(1)
            usage += 1_000_000
            host.set_cpu("c1", usage)
            host.advance_system(1)

    nursery.start_soon(load)
    await trio.testing.wait_all_tasks_blocked()
    sampler = await start(nursery, host, ts)
    await trio.sleep(3.5)
    latest = sampler.latest("c1")
    assert latest is not None and latest.pre is not None
    assert latest.cur.read_ns - latest.pre.read_ns == 1_000_000_000
    points = sampler.points("c1")
    assert [round(p.cpu_percent) for p in points[1:]] == [100, 100, 100]
    assert points[-1].memory_used == (1 << 20) - 1024
    assert points[-1].net_rx == 100 and points[-1].block_write == 8192
    assert points[-1].memory_limit == 8388608 * 1024  # unlimited → host memory


async def test_history_is_bounded(nursery: trio.Nursery, autojump_clock: trio.testing.MockClock) -> None:
    host = FakeHost()
    host.add_container("c1", 4242)
    sampler = await start(nursery, host, [target()], history_seconds=5)
    await trio.sleep(20)
    assert len(sampler.points("c1")) == 5


async def test_subscription_coalesces_and_sees_stop(nursery: trio.Nursery, autojump_clock: trio.testing.MockClock) -> None:
    """A subscriber that does not read keeps only the latest item; a stopped container gives None."""
    host = FakeHost()
    host.add_container("c1", 4242)
    ts = [target()]
    sampler = await start(nursery, host, ts)
    with sampler.subscribe("c1") as sub:
        await trio.sleep(3.5)  # three ticks, nobody reading
        first = await sub.receive()
        assert first is not None and sub.coalesced == 2
        ts.clear()
        host.remove_container("c1")
        assert await sub.receive() is None
        assert sampler.latest("c1") is None
    assert sampler.points("c1")  # history outlives the run


async def test_vanished_cgroup_is_skipped_not_zeroed(nursery: trio.Nursery, autojump_clock: trio.testing.MockClock) -> None:
    """A target whose files are gone (it just exited) yields no sample, not a zero one."""
    host = FakeHost()
    sampler = await start(nursery, host, [target()])
    await trio.sleep(2.5)
    assert sampler.latest("c1") is None and sampler.points("c1") == []


async def test_malformed_file_is_an_error_for_that_container_only(nursery: trio.Nursery, autojump_clock: trio.testing.MockClock) -> None:
    host = FakeHost()
    host.add_container("c1", 1)
    host.add_container("c2", 2)
    host.files["/fake/cgroup/berth/c2/memory.current"] = "garbage\n"
    sampler = await start(nursery, host, [target("c1", 1), target("c2", 2)])
    assert sampler.latest("c1") is not None and sampler.latest("c2") is None
    assert sampler.errors == 1


async def test_oom_counter_calls_back_once_per_kill(nursery: trio.Nursery, autojump_clock: trio.testing.MockClock) -> None:
    host = FakeHost()
    host.add_container("c1", 4242)
    killed: list[str] = []
    sampler = await start(nursery, host, [target()], on_oom=killed.append)
    await trio.sleep(1.5)
    assert killed == []
    host.set_oom_kills("c1", 1)
    sampler.check_oom("c1")  # the engine's look at exit
    assert killed == ["c1"]
    await trio.sleep(2)
    assert killed == ["c1"]  # the tick sees the same counter: no second report
    host.set_oom_kills("c1", 2)
    await trio.sleep(1)
    assert killed == ["c1", "c1"]


async def test_wait_pair_waits_only_for_missing_ticks(nursery: trio.Nursery, autojump_clock: trio.testing.MockClock) -> None:
    host = FakeHost()
    host.add_container("c1", 4242)
    sampler = await start(nursery, host, [target()])
    t0 = trio.current_time()
    entry = await sampler.wait_pair("c1")
    assert entry is not None and entry.pre is not None
    assert trio.current_time() - t0 == 1.0
    t1 = trio.current_time()
    assert (await sampler.wait_pair("c1")) is entry
    assert trio.current_time() == t1  # answered at once


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        StatsSampler(list, LAYOUT, interval=0)
