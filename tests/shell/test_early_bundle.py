"""The bundle written right after create (``engine.early``): used by the start when it fits, released when not.

The engine runs on the fake runtime with a recording stand-in for the
network manager, so each test can say exactly which plans, bundles and
releases happened, and when (trio's autojump clock).
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from supervisor.engine import early, runs
from supervisor.engine.early import EARLY_TTL
from supervisor.engine.model import ContainerRecord, ContainerSpec, Status
from supervisor.network.model import NetnsMode
from supervisor.network.sandbox import NetworkPlan
from tests.shell.test_engine import Rig, rig, spec  # noqa: F401  (rig is a fixture)


class RecordingNetwork:
    """The calls the engine makes on the network manager, recorded; a plan per container until released."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.planned: dict[str, NetworkPlan] = {}

    def validate(self, spec: ContainerSpec, endpoints: Any) -> None:
        pass

    async def register(self, cid: str, spec: ContainerSpec, endpoints: Any) -> None:
        await trio.lowlevel.checkpoint()

    async def plan(self, cid: str, name: str, spec: ContainerSpec, pid_of: Any = None) -> NetworkPlan:
        await trio.lowlevel.checkpoint()
        self.calls.append(("plan", cid))
        return self.planned.setdefault(cid, NetworkPlan(NetnsMode.PATH, f"/run/netns/{cid}"))

    async def attach(self, cid: str, name: str, spec: ContainerSpec, pid: int = 0) -> None:
        await trio.lowlevel.checkpoint()
        self.calls.append(("attach", cid))

    def joinable(self, cid: str) -> bool:
        return cid in self.planned

    def running(self, cid: str, pid: int) -> None:
        pass

    async def detach(self, cid: str) -> None:
        await trio.lowlevel.checkpoint()
        self.calls.append(("detach", cid))
        self.planned.pop(cid, None)

    async def forget(self, cid: str) -> None:
        await trio.lowlevel.checkpoint()
        self.calls.append(("forget", cid))
        self.planned.pop(cid, None)

    def rename(self, cid: str, name: str) -> None:
        pass

    def inspect_settings(self, cid: str, spec: ContainerSpec, running: bool = True) -> dict[str, Any]:
        return {}

    def summary_ports(self, cid: str, spec: ContainerSpec) -> list[Any]:
        return []


@pytest.fixture
def network(rig: Rig) -> RecordingNetwork:  # noqa: F811
    net = RecordingNetwork()
    rig.engine.network = net
    return net


@pytest.fixture
def bundles(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ContainerRecord]]:
    """Every bundle written: (where: "early" or "start", the record it was written from)."""
    written: list[tuple[str, ContainerRecord]] = []
    for where, module in (("early", early), ("start", runs)):
        real = module.prepare_bundle

        def counted(record: ContainerRecord, *args: Any, _where: str = where, _real: Any = real) -> Any:
            written.append((_where, record))
            return _real(record, *args)

        monkeypatch.setattr(module, "prepare_bundle", counted)
    return written


async def test_the_bundle_written_after_create_is_the_one_the_start_runs(
    autojump_clock: trio.testing.MockClock, rig: Rig, network: RecordingNetwork, bundles: list[tuple[str, ContainerRecord]]  # noqa: F811
) -> None:
    c = await rig.engine.create(spec())
    await trio.testing.wait_all_tasks_blocked()
    assert bundles == [("early", c.record)] and network.calls == [("plan", c.id)]
    assert rig.engine.paths.bundle(c.id).joinpath("config.json").exists()
    await rig.engine.start(c.id)
    assert c.state.status is Status.RUNNING
    assert [where for where, _ in bundles] == ["early"]  # not written again
    # The start plans again (the same plan by now) and plugs the network in.
    assert network.calls == [("plan", c.id), ("plan", c.id), ("attach", c.id)]
    assert c.early_bundle is None and not c.mounted_early
    await rig.engine.kill(c.id)


async def test_a_container_changed_after_create_gets_its_bundle_written_again(
    autojump_clock: trio.testing.MockClock, rig: Rig, network: RecordingNetwork, bundles: list[tuple[str, ContainerRecord]]  # noqa: F811
) -> None:
    c = await rig.engine.create(spec(), name="before")
    await trio.testing.wait_all_tasks_blocked()
    rig.engine.rename(c.id, "after")
    await rig.engine.start(c.id)
    assert [where for where, _ in bundles] == ["early", "start"]
    assert bundles[-1][1].name == "after"
    assert c.state.status is Status.RUNNING
    await rig.engine.kill(c.id)


async def test_a_created_container_not_started_gives_its_network_plan_back(
    autojump_clock: trio.testing.MockClock, rig: Rig, network: RecordingNetwork, bundles: list[tuple[str, ContainerRecord]]  # noqa: F811
) -> None:
    c = await rig.engine.create(spec())
    await trio.testing.wait_all_tasks_blocked()
    assert c.id in network.planned
    await trio.sleep(EARLY_TTL + 1)
    assert c.id not in network.planned and ("detach", c.id) in network.calls
    assert c.early_bundle is None and not c.rootfs_mounted
    # A late start plans and writes its bundle as before.
    await rig.engine.start(c.id)
    assert [where for where, _ in bundles] == ["early", "start"]
    assert c.state.status is Status.RUNNING
    await rig.engine.kill(c.id)


async def test_removing_a_created_container_releases_its_network_plan(
    autojump_clock: trio.testing.MockClock, rig: Rig, network: RecordingNetwork, bundles: list[tuple[str, ContainerRecord]]  # noqa: F811
) -> None:
    c = await rig.engine.create(spec())
    await trio.testing.wait_all_tasks_blocked()
    await rig.engine.remove(c.id)
    assert c.id not in network.planned and ("forget", c.id) in network.calls
    assert c.early_bundle is None
    await trio.sleep(EARLY_TTL + 1)  # the early task ends quietly: nothing given back twice
    assert ("detach", c.id) not in network.calls


async def test_no_bundle_ahead_for_a_container_joining_another_namespace(
    autojump_clock: trio.testing.MockClock, rig: Rig, network: RecordingNetwork, bundles: list[tuple[str, ContainerRecord]]  # noqa: F811
) -> None:
    """``--network container:NAME``: the other's process may change before the start."""
    c = await rig.engine.create(spec(network_mode="container:other"))
    await trio.testing.wait_all_tasks_blocked()
    assert c.mounted_early and c.early_bundle is None
    assert network.calls == [] and bundles == []
    await rig.engine.remove(c.id)


async def test_a_failed_early_plan_leaves_the_start_to_say_why(
    autojump_clock: trio.testing.MockClock, rig: Rig, network: RecordingNetwork, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    from supervisor.errors import NotFound

    async def gone(*args: Any, **kw: Any) -> NetworkPlan:
        msg = "network n1 not found"
        raise NotFound(msg)

    monkeypatch.setattr(network, "plan", gone)
    c = await rig.engine.create(spec())
    await trio.testing.wait_all_tasks_blocked()
    assert c.mounted_early and c.early_bundle is None  # mounted all the same
    with pytest.raises(NotFound, match="network n1 not found"):
        await rig.engine.start(c.id)
    assert c.state.status is not Status.RUNNING


async def test_create_makes_the_directories_the_start_needs(
    autojump_clock: trio.testing.MockClock, rig: Rig  # noqa: F811
) -> None:
    """Made while the client waits for the create's answer, not in the start's preparation."""
    paths = rig.engine.paths
    c = await rig.engine.create(spec())
    for d in (paths.upper(c.id), paths.work(c.id), paths.rootfs(c.id), paths.bundle(c.id)):
        assert d.is_dir(), d
    await rig.engine.remove(c.id)
