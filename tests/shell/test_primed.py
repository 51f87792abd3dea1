"""The container made by the runtime at create (``engine.primed``): started by its start, discarded otherwise.

The engine runs on the fake runtime, whose ``create`` makes a process that
does nothing until ``start_created``; the recording network stands in for
the network manager. trio's autojump clock runs the time-to-live.
"""

from __future__ import annotations

import signal

import pytest
import trio
import trio.testing

from supervisor.engine.early import EARLY_TTL
from supervisor.engine.container import Container
from supervisor.engine.fake import FakeProcess, FakeProgram
from supervisor.engine.model import Status
from supervisor.engine.runtime import StartFailed
from supervisor.errors import NotFound
from tests.shell.test_early_bundle import RecordingNetwork, network  # noqa: F401  (a fixture)
from tests.shell.test_engine import Rig, rig, spec  # noqa: F401  (rig is a fixture)


async def _made_at_create(rig: Rig, name: str | None = None) -> tuple[Container, FakeProcess]:  # noqa: F811
    """Create a container and let the early task settle: the container and the process made for it."""
    c = await rig.engine.create(spec(), name=name)
    await trio.testing.wait_all_tasks_blocked()
    return c, rig.runtime.created[c.id]


async def test_the_container_made_at_create_is_started_not_run(
    autojump_clock: trio.testing.MockClock, rig: Rig, network: RecordingNetwork  # noqa: F811
) -> None:
    rig.programs["next"] = FakeProgram(exit_after=1, exit_code=3)
    c = await rig.engine.create(spec())
    await trio.testing.wait_all_tasks_blocked()
    assert rig.runtime.calls == [("create", c.id)]
    made = rig.runtime.created[c.id]
    assert made.started_at is None and c.state.status is Status.CREATED  # made, not running
    await rig.engine.start(c.id)
    assert rig.runtime.calls == [("create", c.id), ("start", c.id)]
    await trio.testing.wait_all_tasks_blocked()
    assert c.state.pid == made.pid and made.started_at is not None
    assert c.primed is None and c.early_bundle is None
    waiter = rig.engine.register_wait(c, "not-running")
    await waiter.event.wait()
    assert waiter.exit_code == 3 and c.state.exit_code == 3


async def test_a_container_not_started_in_time_is_discarded(
    autojump_clock: trio.testing.MockClock, rig: Rig, network: RecordingNetwork  # noqa: F811
) -> None:
    """``docker create`` alone: after ``EARLY_TTL`` no process, no runtime state, no address stay."""
    c, made = await _made_at_create(rig)
    await trio.sleep(EARLY_TTL + 1)
    assert made.exited.is_set() and made.started_at is None
    assert c.id not in rig.runtime.created and ("delete", c.id) in rig.runtime.calls
    assert c.primed is None and c.id not in network.planned
    # A late start runs the container itself.
    await rig.engine.start(c.id)
    assert rig.runtime.calls[-1] == ("run", c.id)
    assert c.state.status is Status.RUNNING
    await rig.engine.kill(c.id)


async def test_removing_a_created_container_discards_what_was_made(
    autojump_clock: trio.testing.MockClock, rig: Rig, network: RecordingNetwork  # noqa: F811
) -> None:
    c, made = await _made_at_create(rig)
    await rig.engine.remove(c.id)
    assert made.exited.is_set() and c.id not in rig.runtime.created
    await trio.sleep(EARLY_TTL + 1)  # the early task ends quietly: nothing discarded twice
    assert rig.runtime.calls.count(("delete", c.id)) == 1


async def test_a_container_changed_after_create_is_discarded_and_run_anew(
    autojump_clock: trio.testing.MockClock, rig: Rig, network: RecordingNetwork  # noqa: F811
) -> None:
    """A rename replaces the record the container was made from (its hostname, its /etc/hosts...)."""
    c, made = await _made_at_create(rig, "before")
    rig.engine.rename(c.id, "after")
    await rig.engine.start(c.id)
    assert made.exited.is_set() and made.started_at is None
    assert rig.runtime.calls == [("create", c.id), ("delete", c.id), ("run", c.id)]
    assert c.state.status is Status.RUNNING and c.state.pid != made.pid
    await rig.engine.kill(c.id)


async def test_a_network_change_discards_the_made_container(
    autojump_clock: trio.testing.MockClock, rig: Rig, network: RecordingNetwork  # noqa: F811
) -> None:
    """``network connect``/``disconnect`` of a created container: its init sits in the namespace planned before."""
    c, made = await _made_at_create(rig)
    async with rig.engine.changing_networks(c):
        assert made.exited.is_set() and c.primed is None
        assert c.lock.locked()  # no start meanwhile
    await rig.engine.start(c.id)
    assert rig.runtime.calls[-1] == ("run", c.id)
    await rig.engine.kill(c.id)


async def test_a_container_that_cannot_be_made_is_run_by_its_start_which_says_why(
    autojump_clock: trio.testing.MockClock, rig: Rig, network: RecordingNetwork  # noqa: F811
) -> None:
    rig.programs["next"] = FakeProgram(fail_start='exec: "nope": executable file not found in $PATH')
    c = await rig.engine.create(spec())
    await trio.testing.wait_all_tasks_blocked()
    assert rig.runtime.calls == [("create", c.id)] and c.primed is None
    assert c.early_bundle is not None  # the mount and the bundle stay for the start
    with pytest.raises(StartFailed, match="executable file not found") as caught:
        await rig.engine.start(c.id)
    assert caught.value.exit_code == 127
    assert rig.runtime.calls[-1] == ("run", c.id)


async def test_a_made_container_whose_init_died_is_run_afresh_by_its_start(
    autojump_clock: trio.testing.MockClock, rig: Rig, network: RecordingNetwork  # noqa: F811
) -> None:
    """The waiting init was killed (the OOM killer, say): the container never ran, so Docker would start it."""
    c, made = await _made_at_create(rig)
    made.send_signal(signal.SIGKILL)
    await rig.engine.start(c.id)
    assert rig.runtime.calls == [("create", c.id), ("start", c.id), ("delete", c.id), ("run", c.id)]
    assert c.state.status is Status.RUNNING and c.state.pid != made.pid
    await rig.engine.kill(c.id)


async def test_a_start_that_fails_before_the_made_container_is_reached_releases_it(
    autojump_clock: trio.testing.MockClock, rig: Rig, network: RecordingNetwork, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """The network removed since create, say: the made container, the mount and the plan made at create all go."""
    c, made = await _made_at_create(rig)

    async def network_gone(*args: object, **kw: object) -> None:
        await trio.lowlevel.checkpoint()
        raise NotFound("network n1 not found")

    monkeypatch.setattr(network, "plan", network_gone)
    with pytest.raises(NotFound, match="n1 not found"):
        await rig.engine.start(c.id)
    assert made.exited.is_set() and c.id not in rig.runtime.created
    assert not c.rootfs_mounted and c.id not in network.planned and c.primed is None


async def test_nothing_is_made_into_a_namespace_not_there_yet(
    autojump_clock: trio.testing.MockClock, rig: Rig, network: RecordingNetwork, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """No wired spare: the namespace is made by ``attach`` at the start, so the runtime cannot join it before."""
    monkeypatch.setattr(network, "joinable", lambda cid: False)
    c = await rig.engine.create(spec())
    await trio.testing.wait_all_tasks_blocked()
    assert rig.runtime.calls == [] and c.early_bundle is not None
    await rig.engine.start(c.id)
    assert rig.runtime.calls == [("run", c.id)]
    await rig.engine.kill(c.id)


async def test_a_network_change_waiting_for_a_removal_finds_the_container_gone(
    autojump_clock: trio.testing.MockClock, rig: Rig, network: RecordingNetwork  # noqa: F811
) -> None:
    """``network connect`` racing ``rm``: it waits for the removal's lock, then says the container is gone."""
    c = await rig.engine.create(spec())
    await trio.testing.wait_all_tasks_blocked()
    rig.mounter.gate = trio.Event()  # the removal's unmount, under the container's lock, waits
    outcome: list[str] = []

    async def connect() -> None:
        try:
            async with rig.engine.changing_networks(c):
                outcome.append("changed")
        except NotFound as exc:
            outcome.append(exc.message)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(rig.engine.remove, c.id)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(connect)
        await trio.testing.wait_all_tasks_blocked()
        assert outcome == []  # waiting for the lock
        rig.mounter.gate.set()
    assert outcome == [f"No such container: {c.id}"]
