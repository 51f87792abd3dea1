"""Engine lifecycle on the fake runtime: exact timing with trio's autojump clock."""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import pytest
import trio
import trio.testing

from supervisor.engine.cgroups import CgroupLayout, CgroupVersion
from supervisor.engine.container import Container
from supervisor.engine.early import EARLY_TTL
from supervisor.engine.engine import Engine, EngineConfig
from supervisor.engine.fake import FakeProgram, FakeRuntime
from supervisor.engine.model import ContainerSpec, Status
from supervisor.engine.paths import EnginePaths
from supervisor.engine.prepare import BundleContext
from supervisor.engine.runtime import StartFailed
from supervisor.errors import Conflict, NotFound, NotModified
from supervisor.events.bus import EventBus
from supervisor.images.model import Image, RootfsPlan

T = TypeVar("T")

IMAGE = Image(id="sha256:" + "ab" * 32, repo_tags=("busybox:latest",))


class StubImages:
    """The image store's two engine-facing calls, for one image."""

    def resolve(self, ref: str) -> Image:
        if ref in (IMAGE.id, "busybox", "busybox:latest"):
            return IMAGE
        raise NotFound(f"No such image: {ref}")

    def rootfs_plan(self, image: Image) -> RootfsPlan:
        return RootfsPlan(lowerdirs=("/nonexistent",))


@dataclass
class FakeMounter:
    mounted: set[Path] = field(default_factory=set)

    mounts: int = 0

    # When set, mounting waits for it; ``at_gate`` is set once a mount does.
    gate_mount: trio.Event | None = None
    at_gate: trio.Event = field(default_factory=trio.Event)

    async def mount(self, plan: RootfsPlan, *, upper: Path, work: Path, target: Path) -> None:
        await trio.lowlevel.checkpoint()
        if self.gate_mount is not None:
            self.at_gate.set()
            await self.gate_mount.wait()
        target.mkdir(parents=True, exist_ok=True)
        self.mounted.add(target)
        self.mounts += 1

    async def mount_then(
        self, plan: RootfsPlan, *, upper: Path, work: Path, target: Path, then: Callable[[], T]
    ) -> T:
        await self.mount(plan, upper=upper, work=work, target=target)
        return then()

    # When set, unmounting waits for it (a slow kernel teardown).
    gate: trio.Event | None = None

    async def unmount(self, target: Path) -> None:
        await trio.lowlevel.checkpoint()
        if self.gate is not None:
            await self.gate.wait()
        self.mounted.discard(target)


@dataclass
class Rig:
    engine: Engine
    runtime: FakeRuntime
    bus: EventBus
    mounter: FakeMounter
    programs: dict[str, FakeProgram]
    events: list[tuple[str, str]]


def spec(**kw: object) -> ContainerSpec:
    base: dict[str, object] = {"image": "busybox", "image_id": IMAGE.id, "cmd": ("sh",)}
    base.update(kw)
    return ContainerSpec(**base)  # type: ignore[arg-type]


@pytest.fixture
async def rig(nursery: trio.Nursery, tmp_path: Path, autojump_clock: trio.testing.MockClock) -> Rig:
    programs: dict[str, FakeProgram] = {}
    default = FakeProgram(exit_after=None)
    runtime = FakeRuntime(nursery, lambda cid: programs.get("next", default))
    bus = EventBus()
    mounter = FakeMounter()
    paths = EnginePaths(tmp_path / "data", tmp_path / "exec")
    for d in paths.all_dirs():
        d.mkdir(parents=True, exist_ok=True)
    engine = Engine(
        EngineConfig(paths=paths),
        runtime,
        StubImages(),  # type: ignore[arg-type]
        bus,
        BundleContext(cgroup_layout=CgroupLayout(version=CgroupVersion.V1)),
        mounter,
    )
    events: list[tuple[str, str]] = []

    async def record(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        with bus.subscribe(buffer=4096) as channel:
            task_status.started()
            async for event in channel:
                events.append((event.action, event.attributes.get("signal", event.attributes.get("exitCode", ""))))

    await nursery.start(record)
    await nursery.start(engine.run)
    return Rig(engine, runtime, bus, mounter, programs, events)


async def test_run_to_exit_records_code_and_events(autojump_clock: trio.testing.MockClock, rig: Rig) -> None:
    """A container that exits on its own has its code recorded, die published, rootfs unmounted."""
    rig.programs["next"] = FakeProgram(stdout=b"hi\n", exit_after=1, exit_code=3)
    c = await rig.engine.create(spec())
    waiter = rig.engine.register_wait(c, "next-exit")
    await rig.engine.start(c.id)
    process = rig.runtime.created[c.id]
    assert c.state.status is Status.RUNNING
    await waiter.event.wait()
    assert process.exited_at is not None and process.started_at is not None
    assert process.exited_at - process.started_at == 1
    assert waiter.exit_code == 3
    assert c.state.status is Status.EXITED and c.state.exit_code == 3
    assert not rig.mounter.mounted
    await trio.testing.wait_all_tasks_blocked()
    assert [a for a, _ in rig.events] == ["create", "start", "die"]
    assert rig.events[-1] == ("die", "3")


async def test_stop_escalates_to_sigkill_exactly_at_timeout(autojump_clock: trio.testing.MockClock, rig: Rig) -> None:
    """A PID 1 that ignores SIGTERM is killed at exactly the stop timeout and exits 137."""
    rig.programs["next"] = FakeProgram(ignore=frozenset({signal.SIGTERM}))
    c = await rig.engine.create(spec())
    await rig.engine.start(c.id)
    process = rig.runtime.created[c.id]
    await rig.engine.stop(c.id, timeout=3)
    (term, t_term), (kill, t_kill) = process.signals
    assert (term, kill) == (signal.SIGTERM, signal.SIGKILL)
    assert t_kill - t_term == 3
    assert c.state.exit_code == 137
    assert c.state.manually_stopped
    await trio.testing.wait_all_tasks_blocked()
    assert rig.events[2:] == [("kill", "15"), ("kill", "9"), ("die", "137"), ("stop", "")]


async def test_stop_uses_stop_signal_and_returns_at_exit(autojump_clock: trio.testing.MockClock, rig: Rig) -> None:
    """The configured stop signal ends the process at once; no SIGKILL follows."""
    c = await rig.engine.create(spec(stop_signal="SIGINT"))
    await rig.engine.start(c.id)
    process = rig.runtime.created[c.id]
    await rig.engine.stop(c.id)
    assert [s for s, _ in process.signals] == [signal.SIGINT]
    assert process.exited_at == process.signals[0][1]
    assert c.state.exit_code == 128 + signal.SIGINT


async def test_stop_not_running_is_not_modified(autojump_clock: trio.testing.MockClock, rig: Rig) -> None:
    c = await rig.engine.create(spec())
    with pytest.raises(NotModified):
        await rig.engine.stop(c.id)


async def test_start_twice_is_not_modified(autojump_clock: trio.testing.MockClock, rig: Rig) -> None:
    c = await rig.engine.create(spec())
    await rig.engine.start(c.id)
    with pytest.raises(NotModified):
        await rig.engine.start(c.id)
    await rig.engine.kill(c.id)


async def test_kill_hup_is_not_a_manual_stop(autojump_clock: trio.testing.MockClock, rig: Rig) -> None:
    """A non-stop signal must not mark the container stopped by hand (moby#41302)."""
    rig.programs["next"] = FakeProgram(ignore=frozenset({signal.SIGHUP}))
    c = await rig.engine.create(spec())
    await rig.engine.start(c.id)
    await rig.engine.kill(c.id, "HUP")
    assert c.state.running and not c.state.manually_stopped
    await rig.engine.kill(c.id)
    assert not c.state.running and c.state.manually_stopped
    assert c.state.exit_code == 137


async def test_kill_not_running_conflicts(autojump_clock: trio.testing.MockClock, rig: Rig) -> None:
    c = await rig.engine.create(spec())
    with pytest.raises(Conflict, match="is not running"):
        await rig.engine.kill(c.id)


async def test_start_failure_is_recorded_without_start_event(autojump_clock: trio.testing.MockClock, rig: Rig) -> None:
    rig.programs["next"] = FakeProgram(fail_start='exec: "nope": executable file not found in $PATH')
    c = await rig.engine.create(spec())
    with pytest.raises(StartFailed):
        await rig.engine.start(c.id)
    assert c.state.status is Status.CREATED
    assert c.state.exit_code == 127 and "executable file not found" in c.state.error
    assert not rig.mounter.mounted
    await trio.testing.wait_all_tasks_blocked()
    assert [a for a, _ in rig.events] == ["create"]


async def test_remove_running_needs_force(autojump_clock: trio.testing.MockClock, rig: Rig) -> None:
    c = await rig.engine.create(spec(), "web")
    await rig.engine.start("web")
    with pytest.raises(Conflict, match="container is running"):
        await rig.engine.remove("web")
    waiter = rig.engine.register_wait(c, "removed")
    await rig.engine.remove("web", force=True)
    assert waiter.event.is_set() and waiter.exit_code == 137
    with pytest.raises(NotFound):
        rig.engine.get("web")


async def test_auto_remove_after_exit(autojump_clock: trio.testing.MockClock, rig: Rig) -> None:
    rig.programs["next"] = FakeProgram(exit_after=0.5, exit_code=0)
    c = await rig.engine.create(spec(auto_remove=True))
    waiter = rig.engine.register_wait(c, "removed")
    await rig.engine.start(c.id)
    await waiter.event.wait()
    with pytest.raises(NotFound):
        rig.engine.get(c.id)
    await trio.testing.wait_all_tasks_blocked()
    assert [a for a, _ in rig.events] == ["create", "start", "die", "destroy"]


async def test_auto_remove_is_announced_before_the_teardown(
    autojump_clock: trio.testing.MockClock, rig: Rig
) -> None:
    """`docker run --rm` goes on once the container is gone; its mount and runtime state go right after.

    Shutdown and ``rmi`` (``settle_teardowns``) wait for that teardown.
    """
    rig.programs["next"] = FakeProgram(exit_after=0.5, exit_code=0)
    rig.mounter.gate = trio.Event()
    c = await rig.engine.create(spec(auto_remove=True))
    rootfs = rig.engine.paths.rootfs(c.id)
    waiter = rig.engine.register_wait(c, "removed")
    await rig.engine.start(c.id)
    with trio.fail_after(10):  # announced although the unmount does not end
        await waiter.event.wait()
    with pytest.raises(NotFound):
        rig.engine.get(c.id)
    await trio.testing.wait_all_tasks_blocked()
    assert [a for a, _ in rig.events] == ["create", "start", "die", "destroy"]
    # Still mounted, its directory still there: the teardown waits on the (gated) unmount.
    assert rootfs in rig.mounter.mounted
    assert ("delete", c.id) in rig.runtime.calls
    assert rig.engine.paths.container_dir(c.id).exists()
    settled = trio.Event()

    async def settle() -> None:
        await rig.engine.settle_teardowns()
        settled.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(settle)
        await trio.sleep(1)
        assert not settled.is_set()
        rig.mounter.gate.set()
    assert rootfs not in rig.mounter.mounted
    await rig.engine.store.flush()
    assert not rig.engine.paths.container_dir(c.id).exists()


class FailingVolumes:
    """A volume service whose release fails (a disk error): the removal must still finish."""

    async def register(self, *a: object, **k: object) -> None:
        await trio.lowlevel.checkpoint()

    def needs_rootfs(self, cid: str) -> bool:
        return True  # no early mount: the start mounts (as with copy-up volumes)

    def unmounted(self, cid: str) -> None:
        pass

    async def release(self, cid: str, *, remove_anonymous: bool) -> None:
        await trio.lowlevel.checkpoint()
        raise OSError(5, "Input/output error")


async def test_a_failing_volume_release_still_announces_and_tears_down(
    autojump_clock: trio.testing.MockClock, rig: Rig
) -> None:
    rig.engine.volumes = FailingVolumes()  # type: ignore[assignment]
    c = await rig.engine.create(spec())
    rootfs = rig.engine.paths.rootfs(c.id)
    rig.mounter.mounted.add(rootfs)
    c.rootfs_mounted = True
    waiter = rig.engine.register_wait(c, "removed")
    with pytest.raises(OSError, match="Input/output"):
        await rig.engine.remove(c.id)
    assert waiter.event.is_set()  # `docker run --rm` does not hang
    await trio.testing.wait_all_tasks_blocked()
    assert [a for a, _ in rig.events] == ["create", "destroy"]
    assert rootfs not in rig.mounter.mounted
    with pytest.raises(NotFound):
        rig.engine.get(c.id)


async def test_rm_answers_after_the_teardown(autojump_clock: trio.testing.MockClock, rig: Rig) -> None:
    """``docker rm`` returns once the mount and the runtime state are gone, as Docker's does."""
    rig.programs["next"] = FakeProgram(exit_after=0.5, exit_code=0)
    c = await rig.engine.create(spec())
    waiter = rig.engine.register_wait(c, "next-exit")
    await rig.engine.start(c.id)
    await waiter.event.wait()
    rootfs = rig.engine.paths.rootfs(c.id)
    # As for a container found on disk at daemon start: it may still be mounted.
    rig.mounter.mounted.add(rootfs)
    c.rootfs_mounted = True
    rig.mounter.gate = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(rig.engine.remove, c.id)
        await trio.sleep(1)
        assert rootfs in rig.mounter.mounted
        rig.mounter.gate.set()
    assert rootfs not in rig.mounter.mounted
    with pytest.raises(NotFound):
        rig.engine.get(c.id)


async def test_rm_force_of_a_running_rm_container_answers_after_its_teardown(
    autojump_clock: trio.testing.MockClock, rig: Rig
) -> None:
    """The kill makes the container remove itself (--rm); rm -f still answers once that is done."""
    c = await rig.engine.create(spec(auto_remove=True))
    await rig.engine.start(c.id)
    rootfs = rig.engine.paths.rootfs(c.id)
    rig.mounter.gate = trio.Event()
    done = trio.Event()

    async def rm() -> None:
        await rig.engine.remove(c.id, force=True)
        done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(rm)
        await trio.sleep(1)
        with pytest.raises(NotFound):
            rig.engine.get(c.id)  # removed already
        assert not done.is_set() and rootfs in rig.mounter.mounted  # its teardown waits on the unmount
        rig.mounter.gate.set()
    assert done.is_set() and rootfs not in rig.mounter.mounted


async def test_a_start_clears_runtime_state_a_run_left_for_its_removal(
    autojump_clock: trio.testing.MockClock, rig: Rig
) -> None:
    """A start that got the lock before a --rm container's removal: runc's old state goes first."""
    rig.programs["next"] = FakeProgram(exit_after=0.5, exit_code=0)
    c = await rig.engine.create(spec())
    waiter = rig.engine.register_wait(c, "next-exit")
    await rig.engine.start(c.id)
    await waiter.event.wait()
    await trio.testing.wait_all_tasks_blocked()
    c.runtime_leftover = True  # as the last run of a --rm container leaves it
    rig.runtime.calls.clear()
    await rig.engine.start(c.id)
    assert rig.runtime.calls[:2] == [("delete", c.id), ("run", c.id)]
    assert not c.runtime_leftover
    await rig.engine.kill(c.id)


async def test_recovered_removal_is_dead_and_rm_clears_the_runtime_state(
    autojump_clock: trio.testing.MockClock, rig: Rig, nursery: trio.Nursery
) -> None:
    """A daemon that died mid-removal: the container comes back dead; rm deletes runc's state too."""
    c = await rig.engine.create(spec())
    rig.engine.store.save_nowait(c.with_state(replace(c.state, removing=True)))
    await rig.engine.store.flush()
    again = Engine(
        EngineConfig(paths=rig.engine.paths), rig.runtime, StubImages(),  # type: ignore[arg-type]
        rig.bus, BundleContext(cgroup_layout=CgroupLayout(version=CgroupVersion.V1)), rig.mounter,
    )
    await nursery.start(again.run)
    found = again.get(c.id)
    assert found.state.status is Status.DEAD
    await again.remove(c.id)
    assert ("delete", c.id) in rig.runtime.calls
    with pytest.raises(NotFound):
        again.get(c.id)


async def test_rootfs_is_mounted_after_create_and_the_start_uses_that_mount(
    autojump_clock: trio.testing.MockClock, rig: Rig
) -> None:
    c = await rig.engine.create(spec())
    rootfs = rig.engine.paths.rootfs(c.id)
    await trio.sleep(0.003)  # docker run's start comes milliseconds after create
    assert rootfs in rig.mounter.mounted and c.mounted_early
    await rig.engine.start(c.id)
    assert rig.mounter.mounts == 1 and not c.mounted_early
    assert c.state.status is Status.RUNNING
    # Taken by the start: past the TTL it is still mounted (the run holds it).
    await trio.sleep(EARLY_TTL + 1)
    assert rootfs in rig.mounter.mounted
    await rig.engine.kill(c.id)


async def test_an_early_mount_with_no_start_is_given_back(autojump_clock: trio.testing.MockClock, rig: Rig) -> None:
    c = await rig.engine.create(spec())
    rootfs = rig.engine.paths.rootfs(c.id)
    await trio.sleep(EARLY_TTL / 2)
    assert rootfs in rig.mounter.mounted
    await trio.sleep(EARLY_TTL)
    assert rootfs not in rig.mounter.mounted
    assert not c.mounted_early and not c.rootfs_mounted
    # A late start mounts as before.
    await rig.engine.start(c.id)
    assert rootfs in rig.mounter.mounted and rig.mounter.mounts == 2
    await rig.engine.kill(c.id)


async def test_removing_a_created_container_unmounts_its_early_mount(
    autojump_clock: trio.testing.MockClock, rig: Rig
) -> None:
    c = await rig.engine.create(spec())
    rootfs = rig.engine.paths.rootfs(c.id)
    await trio.testing.wait_all_tasks_blocked()
    assert rootfs in rig.mounter.mounted
    await rig.engine.remove(c.id)
    assert rootfs not in rig.mounter.mounted
    await trio.sleep(EARLY_TTL + 1)  # the early mount's task ended quietly
    assert rig.mounter.mounts == 1


async def test_an_early_mount_that_fails_is_quiet_and_the_start_mounts(
    autojump_clock: trio.testing.MockClock, rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mount at create fails (the image went away): the create still succeeds; the start says why."""

    def gone(ref: str) -> Image:
        raise NotFound(f"No such image: {ref}")

    monkeypatch.setattr(rig.engine.images, "resolve", gone)
    c = await rig.engine.create(spec())
    await trio.testing.wait_all_tasks_blocked()
    assert rig.mounter.mounts == 0 and not c.rootfs_mounted and not c.mounted_early
    with pytest.raises(NotFound, match="No such image"):
        await rig.engine.start(c.id)
    monkeypatch.undo()
    await rig.engine.start(c.id)
    assert rig.mounter.mounts == 1
    await rig.engine.kill(c.id)


async def test_a_start_right_after_create_goes_first(autojump_clock: trio.testing.MockClock, rig: Rig) -> None:
    """The start right after create (the API, compose) mounts in its own single call; no early mount."""
    c = await rig.engine.create(spec())
    await rig.engine.start(c.id)
    assert c.state.status is Status.RUNNING
    await trio.testing.wait_all_tasks_blocked()
    assert rig.mounter.mounts == 1 and not c.mounted_early
    await rig.engine.kill(c.id)


async def test_a_start_during_the_early_mount_waits_for_it_and_uses_it(
    autojump_clock: trio.testing.MockClock, rig: Rig
) -> None:
    """The create answers once its early mount is done; a start sent meanwhile waits for it."""
    rig.mounter.gate_mount = trio.Event()
    created: list[Container] = []
    async with trio.open_nursery() as nursery:

        async def create() -> None:
            created.append(await rig.engine.create(spec(), "early"))

        nursery.start_soon(create)
        await rig.mounter.at_gate.wait()  # the create's early mount is held at the gate
        await trio.testing.wait_all_tasks_blocked()
        assert not created
        nursery.start_soon(rig.engine.start, "early")
        await trio.sleep(1)
        c = rig.engine.get("early")
        assert c.state.status is Status.CREATED  # the start waits for the mount
        rig.mounter.gate_mount.set()
    assert c.state.status is Status.RUNNING and rig.mounter.mounts == 1
    await rig.engine.kill(c.id)


async def test_restart_emits_restart_and_keeps_container(autojump_clock: trio.testing.MockClock, rig: Rig) -> None:
    c = await rig.engine.create(spec(auto_remove=True))
    await rig.engine.start(c.id)
    first_pid = c.state.pid
    await rig.engine.restart(c.id, timeout=1)
    assert c.state.running and c.state.pid != first_pid
    await trio.testing.wait_all_tasks_blocked()
    actions = [a for a, _ in rig.events]
    assert actions[-4:] == ["die", "stop", "start", "restart"]
    await rig.engine.kill(c.id)


async def test_pause_and_unpause(autojump_clock: trio.testing.MockClock, rig: Rig) -> None:
    c = await rig.engine.create(spec())
    with pytest.raises(Conflict, match="is not running"):
        await rig.engine.pause(c.id)
    await rig.engine.start(c.id)
    await rig.engine.pause(c.id)
    assert c.state.status is Status.PAUSED
    with pytest.raises(Conflict, match="already paused"):
        await rig.engine.pause(c.id)
    with pytest.raises(Conflict, match="paused"):
        await rig.engine.start(c.id)
    await rig.engine.unpause(c.id)
    assert c.state.status is Status.RUNNING
    with pytest.raises(Conflict, match="not paused"):
        await rig.engine.unpause(c.id)
    await rig.engine.kill(c.id)


async def test_rename_and_lookup(autojump_clock: trio.testing.MockClock, rig: Rig) -> None:
    a = await rig.engine.create(spec(), "aa")
    await rig.engine.create(spec(), "bb")
    with pytest.raises(Conflict, match="already in use"):
        rig.engine.rename("aa", "bb")
    rig.engine.rename("aa", "cc")
    assert rig.engine.get("/cc") is a
    assert rig.engine.get(a.id[:8]) is a
    with pytest.raises(NotFound):
        rig.engine.get("aa")


async def test_output_fans_out_to_subscribers_then_ends(autojump_clock: trio.testing.MockClock, rig: Rig) -> None:
    rig.programs["next"] = FakeProgram(stdout=b"out\n", stderr=b"err\n", exit_after=1)
    c = await rig.engine.create(spec())
    got: list[tuple[int, bytes]] = []
    with c.output.subscribe() as chunks:
        await rig.engine.start(c.id)
        async for item in chunks:
            got.append(item)
    assert sorted(got) == [(1, b"out\n"), (2, b"err\n")]


async def test_shutdown_stops_running_containers_without_manual_flag(autojump_clock: trio.testing.MockClock, rig: Rig) -> None:
    c = await rig.engine.create(spec())
    await rig.engine.start(c.id)
    await rig.engine.shutdown()
    assert not c.state.running and not c.state.manually_stopped
    assert c.state.exit_code == 128 + signal.SIGTERM


async def test_records_survive_a_new_engine(autojump_clock: trio.testing.MockClock, rig: Rig, nursery: trio.Nursery) -> None:
    """State is on disk: a second engine lists the containers with their last state."""
    rig.programs["next"] = FakeProgram(exit_after=0, exit_code=5)
    c = await rig.engine.create(spec(), "keep")
    w = rig.engine.register_wait(c, "next-exit")
    await rig.engine.start(c.id)
    await w.event.wait()
    running = await rig.engine.create(spec(), "running")
    rig.programs["next"] = FakeProgram()
    await rig.engine.start(running.id)
    await rig.engine.store.flush()
    again = Engine(
        rig.engine.config, rig.runtime, rig.engine.images, EventBus(), rig.engine.bundle_context,
        rig.mounter,
    )
    await nursery.start(again.run)
    kept = again.get("keep")
    assert kept.state.status is Status.EXITED and kept.state.exit_code == 5
    # Recorded running by a "dead" daemon, process unknown: recorded exited with 255.
    assert again.get("running").state.exit_code == 255


async def test_a_bug_in_one_container_does_not_kill_the_engine(
    autojump_clock: trio.testing.MockClock, rig: Rig
) -> None:
    """An unexpected exception while supervising is contained: recorded, logged, engine alive."""
    rig.programs["next"] = FakeProgram(exit_after=1)
    c = await rig.engine.create(spec())
    real_delete = rig.runtime.delete
    calls = 0

    async def broken_delete(container_id: str, *, force: bool = False, inline: bool = True) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")
        await real_delete(container_id, force=force, inline=inline)

    rig.runtime.delete = broken_delete  # type: ignore[method-assign]
    waiter = rig.engine.register_wait(c, "next-exit")
    await rig.engine.start(c.id)
    await waiter.event.wait()
    assert c.state.status is Status.EXITED
    assert c.state.stop_reason == "internal error: RuntimeError: boom"
    # The engine still works for everyone else.
    rig.programs["next"] = FakeProgram(exit_after=1, exit_code=4)
    other = await rig.engine.create(spec())
    w2 = rig.engine.register_wait(other, "next-exit")
    await rig.engine.start(other.id)
    await w2.event.wait()
    assert w2.exit_code == 4


async def test_shutdown_settles_a_container_in_its_restart_loop(
    autojump_clock: trio.testing.MockClock, rig: Rig
) -> None:
    """A crash-looping container is neither left running nor relaunched behind the shutdown."""
    from supervisor.engine.model import RestartPolicy

    rig.programs["next"] = FakeProgram(exit_after=0.05, exit_code=1)
    c = await rig.engine.create(spec(
        restart_policy=RestartPolicy("always"),
        labels={"berth.restart.delay": "10ms", "berth.restart.max-delay": "10ms"},
    ))
    await rig.engine.start(c.id)
    while c.state.restart_count <= 2:  # a few restarts (the bundle is written in a thread)
        await trio.sleep(0.01)
    await rig.engine.shutdown()
    await c.run_done.wait()
    assert not c.state.running
    assert all(p.exited.is_set() for p in rig.runtime.created.values())
    await trio.sleep(1)
    assert not c.state.running  # nothing relaunched afterwards
