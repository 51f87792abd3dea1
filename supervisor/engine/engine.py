"""The engine: every container's lifecycle, on a real OCI runtime, in one nursery.

Theory of operation:

- Each run of a container is one task in the engine's nursery (``_supervise``),
  started with ``nursery.start``: the runtime's create and start happen before
  ``task_status.started()``, so a failed start is raised to the API caller,
  and once started the task owns the run: it pumps the output, awaits the
  init's exit through a pidfd, and records the exit.
- The daemon is a child subreaper, so the init becomes its child when
  ``runc create`` exits: no runc process and no shim stays alive while a
  container runs.
- Lifecycle facts are published on the bus once, after the state change is
  recorded; the state is saved through the coalescing store.
- A removal is announced (``destroy``, ``wait?condition=removed``) once the
  container is gone from the tables; its teardown follows in the same task
  (``removal``).
- A created container's start is prepared by its create: its network
  planned, its rootfs mounted, its bundle written (``early``); then runc
  makes it, its init waiting for the start to exec (``primed``).
- Containers do not survive a daemon restart (no live-restore yet): a
  graceful shutdown stops them with their stop signal and timeout; after a
  crash, the next start stops what is left (``recovery``).
"""

from __future__ import annotations

import builtins
import contextlib
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import trio

from supervisor._logging import get_logger
from supervisor.activity import Activity
from supervisor.engine import lookup
from supervisor.engine import state as st
from supervisor.engine.cgroups import container_cgroup_dirs
from supervisor.engine.container import Container, ExitWaiter
from supervisor.engine.early import EarlyMountMixin
from supervisor.engine.health_task import (
    health_json,
)
from supervisor.engine.model import (
    DEFAULT_STOP_TIMEOUT,
    ContainerRecord,
    ContainerSpec,
    LogConfig,
    State,
    Status,
)
from supervisor.engine.paths import RUN_SUBDIRS, EnginePaths
from supervisor.engine.prepare import BundleContext
from supervisor.engine.recovery import RecoveryMixin
from supervisor.engine.removal import RemovalMixin
from supervisor.engine.runs import KILL_WAIT, RunsMixin
from supervisor.engine.runtime import Runtime
from supervisor.engine.skeletons import Skeleton, SkeletonPool
from supervisor.engine.spec import build_resources
from supervisor.engine.stopping import StoppingMixin
from supervisor.engine.store import ContainerStore
from supervisor.errors import (
    BerthError,
    Conflict,
    InvalidArgument,
    NotModified,
    Unavailable,
)
from supervisor.events.bus import EventBus
from supervisor.events.model import EventType
from supervisor.images.model import RootfsPlan
from supervisor.images.rootfs import mount_rootfs, mount_rootfs_then, unmount_rootfs
from supervisor.images.store import ImageStore
from supervisor.logs.container_log import open_container_log
from supervisor.logs.options import check_driver, effective_options
from supervisor.network.model import HOST
from supervisor.restart.boot import should_start_at_boot
from supervisor.restart.health import (
    validate_health_config,
)
from supervisor.restart.labels import parse_restart_labels
from supervisor.restart.policy import validate_restart_policy
from supervisor.volumes.service import VolumeService

if TYPE_CHECKING:
    from supervisor.network.manager import NetworkManager

log = get_logger(__name__)

T = TypeVar("T")

WAIT_CONDITIONS = ("not-running", "next-exit", "removed")


def _now() -> int:
    return time.time_ns()


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Host facts and daemon options the engine needs."""

    paths: EnginePaths
    cgroup_parent: str = "/berth"
    init_path: str | None = None
    default_stop_timeout: int = DEFAULT_STOP_TIMEOUT
    # `berth daemon --log-opt k=v`: defaults for every container's json-file log.
    daemon_log_opts: Mapping[str, str] = field(default_factory=dict)


class Mounter(Protocol):
    """Builds and tears down a container's root filesystem (overlayfs; a fake in tests)."""

    async def mount(self, plan: RootfsPlan, *, upper: Path, work: Path, target: Path) -> None: ...

    async def mount_then(
        self, plan: RootfsPlan, *, upper: Path, work: Path, target: Path, then: Callable[[], T]
    ) -> T:
        """Mount, then run the blocking ``then`` in the same worker thread; its result."""
        ...

    async def unmount(self, target: Path) -> None: ...


class OverlayMounter:
    """The real thing: an overlay of the image's layers with a per-container upper dir."""

    async def mount(self, plan: RootfsPlan, *, upper: Path, work: Path, target: Path) -> None:
        await mount_rootfs(plan, upper=upper, work=work, target=target)

    async def mount_then(
        self, plan: RootfsPlan, *, upper: Path, work: Path, target: Path, then: Callable[[], T]
    ) -> T:
        return await mount_rootfs_then(plan, upper=upper, work=work, target=target, then=then)

    async def unmount(self, target: Path) -> None:
        await unmount_rootfs(target)


class Engine(RunsMixin, StoppingMixin, EarlyMountMixin, RemovalMixin, RecoveryMixin):
    """Creates, runs, stops and removes containers; the API's one entry point."""

    def __init__(
        self,
        config: EngineConfig,
        runtime: Runtime,
        images: ImageStore,
        bus: EventBus,
        bundle_context: BundleContext,
        mounter: Mounter | None = None,
        activity: Activity | None = None,
    ) -> None:
        self.config = config
        # Starts and exits in progress: background work waits for a lull (``activity``).
        self.activity = activity or Activity()
        self.mounter: Mounter = mounter or OverlayMounter()
        self.paths = config.paths
        self.runtime = runtime
        self.images = images
        self.bus = bus
        self.bundle_context = bundle_context
        self.store = ContainerStore(self.paths.containers, activity=self.activity)
        self.skeletons = SkeletonPool(self.paths.containers, self.paths.bundles, activity=self.activity)
        self._containers: dict[str, Container] = {}
        self._names: dict[str, str] = {}
        self._nursery: trio.Nursery | None = None
        # Removals announced whose teardown (log, runtime state, mount, directory) runs.
        self._teardowns: set[trio.Event] = set()
        self.draining = False
        # Called with the container id after each exit, before the cgroup goes (stats' OOM check).
        self.exit_hook: Callable[[str], None] | None = None
        # Called with the container id when it is removed.
        self.remove_hook: Callable[[str], None] | None = None
        # Volumes and mounts (None: no volumes, binds or --mount; the shell tests).
        self.volumes: VolumeService | None = None
        # Bridges, veths, addresses and published ports (None: every container gets
        # a new netns with only lo, as in the shell tests).
        self.network: NetworkManager | None = None

    # --- service ---------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[Engine] = trio.TASK_STATUS_IGNORED) -> None:
        """Recover the containers on disk, then host their tasks until cancelled."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self.store.run_writer)
            await nursery.start(self.store.run_reaper)
            await nursery.start(self.skeletons.run)
            self._nursery = nursery
            await self._recover()
            if self.volumes is not None:
                await self.volumes.reconcile(self._containers.keys())
            await self._boot_starts()
            task_status.started(self)
            await trio.sleep_forever()

    async def _boot_starts(self) -> None:
        """Docker's boot rules (docker-semantics §1.5): bring back what the policies say."""
        for c in list(self._containers.values()):
            policy = c.record.spec.restart_policy
            if not should_start_at_boot(policy, c.state, started_before=c.state.started_at != 0):
                continue
            try:
                await self.start_container(c)
            except BerthError as exc:
                log.error("boot start failed", container_id=c.id, error=exc.message)
            else:
                log.info("started at boot", container_id=c.id, policy=policy.name)

    async def shutdown(self) -> None:
        """Stop every running container with its stop signal and timeout (graceful)."""
        self.draining = True
        # Containers waiting to be restarted (or being relaunched right now) are settled
        # first, so that no run starts behind the stop sweep below.
        restarting = [c for c in self._containers.values() if c.state.restarting]
        for c in restarting:
            c.tracker.cancel()
            if c.backoff_scope is not None:
                c.backoff_scope.cancel()
        running = [c for c in self._containers.values() if c.state.running]
        if running:
            log.info("stopping containers", count=len(running))
        async with trio.open_nursery() as nursery:
            for c in running:
                nursery.start_soon(self._shutdown_one, c)
            for c in self._containers.values():
                if c.mounted_early:
                    # Made at create, not started: its cgroups go before their parent below.
                    nursery.start_soon(self._give_back_early, c)
        await self.settle_teardowns()
        await self.store.flush()
        await trio.to_thread.run_sync(self._remove_cgroup_parent)

    def _remove_cgroup_parent(self) -> None:
        """Remove our parent cgroup (e.g. /berth) where it is empty; others may still use it."""
        layout = self.bundle_context.cgroup_layout
        for directory in set(container_cgroup_dirs(layout, self.config.cgroup_parent).values()):
            with contextlib.suppress(OSError):
                directory.rmdir()

    async def _shutdown_one(self, c: Container) -> None:
        try:
            if c.process is None:
                # Restarting: its relaunch may still be under way; it ends at once (the
                # tracker is cancelled), or it becomes a run that is stopped like the others.
                with trio.move_on_after(KILL_WAIT):
                    await _first_of(c.launched, c.run_done)
                if c.process is None:
                    return
            sig, timeout = self._stop_params(c, None, None)
            await self._stop_run(c, sig, timeout)
        except BerthError as exc:
            log.error("stop at shutdown failed", container_id=c.id, error=exc.message)

    # --- lookup ------------------------------------------------------------------

    def get(self, ref: str) -> Container:
        """The container ``ref`` names (full id, name, or unique id prefix)."""
        return self._containers[lookup.resolve(ref, self._containers.keys(), self._names)]

    def _pid_of(self, ref: str) -> int:
        """The init pid of a running container (``--network container:NAME``)."""
        return self.get(ref).state.pid

    def list(self) -> list[Container]:
        return list(self._containers.values())

    def users_of_image(self, image_id: str) -> builtins.list[tuple[str, bool]]:
        """(container id, running) for every container created from ``image_id``."""
        return [
            (c.id, c.state.running)
            for c in self._containers.values()
            if c.record.spec.image_id == image_id
        ]

    # --- events -------------------------------------------------------------------

    def publish_container(self, c: Container, action: str, **extra: str) -> None:
        """Publish a container event with Docker's attributes (labels, image, name)."""
        self._publish(c, action, **extra)

    def _publish(self, c: Container, action: str, **extra: str) -> None:
        attrs: dict[str, str] = dict(c.record.spec.labels)
        attrs["image"] = c.record.spec.image
        attrs["name"] = c.name
        attrs.update(extra)
        self.bus.publish(EventType.CONTAINER, action, c.id, attrs)

    def _set_state(self, c: Container, state: State) -> None:
        self.store.save_nowait(c.with_state(state))

    def _apply(self, c: Container, fact: st.Fact, **change: Any) -> None:
        self._set_state(c, st.apply(c.state, fact, st.Change(**change)))

    # --- create -------------------------------------------------------------------

    async def create(
        self, spec: ContainerSpec, name: str | None = None, *, endpoints: Mapping[str, Any] | None = None
    ) -> Container:
        """Register a new container; nothing runs until ``start``.

        ``endpoints`` is the request's NetworkingConfig.EndpointsConfig (aliases,
        static addresses) for the network manager.
        """
        # Busy: a start usually follows at once (docker run), and background work
        # (the record's fsync above all) would slow the early mount in between.
        with self._busy():
            return await self._create(spec, name, endpoints=endpoints)

    async def _create(
        self, spec: ContainerSpec, name: str | None, *, endpoints: Mapping[str, Any] | None
    ) -> Container:
        if self.draining:
            msg = "the daemon is shutting down"
            raise Unavailable(msg)
        if name:
            name = lookup.normalize_name(name)
            self._check_name_free(name)
        else:
            name = lookup.new_name(set(self._names))
        if not spec.argv:
            msg = "No command specified"
            raise InvalidArgument(msg)
        driver = check_driver(spec.log_config.type)
        spec = replace(spec, log_config=LogConfig(
            driver, effective_options(spec.log_config.config, self.config.daemon_log_opts, driver)
        ))
        validate_restart_policy(spec.restart_policy, auto_remove=spec.auto_remove)
        parse_restart_labels(spec.labels)
        validate_health_config(spec.healthcheck)
        if self.network is not None:
            self.network.validate(spec, endpoints)
        cid = lookup.new_id(self._containers.keys())
        if not spec.hostname:
            # Docker's default; with the host's network, the host's name (moby's initializeNetworking).
            spec = replace(spec, hostname=socket.gethostname() if spec.network_mode == HOST else cid[:12])
        record = ContainerRecord(id=cid, name=name, created=_now(), spec=spec)
        if self.volumes is not None:
            # Docker registers mounts at create: bad specs fail here, volumes appear now.
            await self.volumes.register(cid, spec, volumes_from=self._volumes_from)
        c = Container(record)
        c.rootfs_mounted = False
        c.log = open_container_log(self.paths.container_dir(cid), record, self.config.daemon_log_opts)
        # The directories and the log file in one worker-thread call (one hop on the create path).
        await trio.to_thread.run_sync(self._make_container_dir, c, self.skeletons.take_nowait())
        await self._start_log(c)
        if self.network is not None:
            await self.network.register(cid, spec, endpoints)
        self._containers[cid] = c
        self._names[name] = cid
        self.store.save_nowait(record)
        self._publish(c, "create")
        await self._prepare_early(c)
        return c

    def _make_container_dir(self, c: Container, skeleton: Skeleton | None) -> None:
        # The start's directories too (upper, work, rootfs, bundle): made ahead of need
        # (``skeletons``), or here, while the client waits for the create's answer and nothing
        # else runs, rather than in the start's preparation, where every syscall waits for
        # the GIL while the client's attach and wait are being answered.
        if skeleton is None or not skeleton.install(self.paths.container_dir(c.id), self.paths.bundle(c.id)):
            path = self.store.create_dir(c.id)
            for name in RUN_SUBDIRS:
                os.mkdir(path / name)  # the default mode, as before: the upper dir's is the container's /
            with contextlib.suppress(OSError):  # else the start makes it
                os.mkdir(self.paths.bundle(c.id))
        if c.log is not None:
            try:
                c.log.files.open()
            except OSError as exc:
                # The writer tries again and reports it; the container is still made.
                log.error("cannot open container log", container_id=c.id, error=str(exc))

    async def _open_log(self, c: Container) -> None:
        """The container's log store: its writer task lives in the engine nursery."""
        c.log = open_container_log(
            self.paths.container_dir(c.id), c.record, self.config.daemon_log_opts
        )
        await self._start_log(c)

    async def _start_log(self, c: Container) -> None:
        if c.log is not None and self._nursery is not None:
            await self._nursery.start(c.log.run_writer)
            c.output.add_sink(c.log.sink)

    def _volumes_from(self, ref: str) -> tuple[str, ContainerSpec]:
        """``--volumes-from`` lookup: (id, spec) of the container ``ref`` names."""
        c = self.get(ref)
        return c.id, c.record.spec

    def _check_name_free(self, name: str) -> None:
        owner = self._names.get(name)
        if owner is not None:
            msg = (
                f'Conflict. The container name "/{name}" is already in use by container '
                f'"{owner}". You have to remove (or rename) that container to be able to '
                "reuse that name."
            )
            raise Conflict(msg)

    # --- start ----------------------------------------------------------------------

    async def start(self, ref: str) -> Container:
        """Start a created or exited container; 304 if it already runs."""
        c = self.get(ref)
        await self.start_container(c)
        return c

    async def start_container(self, c: Container, *, api: bool = True) -> None:
        """Start ``c`` (an API start or restart clears its restart state, as Docker does)."""
        if self.draining or self._nursery is None:
            msg = "the daemon is shutting down"
            raise Unavailable(msg)
        async with c.lock:
            status = c.state.status
            if status is Status.PAUSED:
                msg = "cannot start a paused container, try unpause instead"
                raise Conflict(msg)
            if status in (Status.RUNNING, Status.RESTARTING):
                msg = "container already started"
                raise NotModified(msg)
            if status in (Status.REMOVING, Status.DEAD):
                msg = f"container {c.id} is marked for removal and cannot be started"
                raise Conflict(msg)
            if c.id not in self._containers:
                msg = f"No such container: {c.id}"
                raise InvalidArgument(msg)
            if api:
                c.tracker.reset()
            try:
                # A --rm container's last run leaves its runtime state to its removal; a
                # start that got the lock first clears it (runc would refuse the id).
                with trio.CancelScope(shield=True):
                    await self._release_leftovers(c)
                await self._nursery.start(self._supervise, c)
                return
            except BerthError as exc:
                error = exc
        # Outside the lock: a container that was to be removed on exit is removed
        # when it cannot start at all (moby does the same; `docker run --rm`
        # waits for that removal).
        if c.record.spec.auto_remove:
            with contextlib.suppress(BerthError):
                await self._remove(c)
        raise error

    # --- update / rename -------------------------------------------------------------

    async def update(self, c: Container, spec: ContainerSpec) -> None:
        """``docker update``: new resources (applied live to a running container) and policy."""
        if spec.resources != c.record.spec.resources and c.state.running and c.process is not None:
            resources, _ = build_resources(
                spec.resources, self.bundle_context.swap_limit_supported, spec.privileged
            )
            await self.runtime.update(c.id, resources)
        if spec.restart_policy != c.record.spec.restart_policy:
            c.tracker.update_policy(spec.restart_policy)
        c.record = replace(c.record, spec=spec)
        self.store.save_nowait(c.record)
        self._publish(c, "update")

    def rename(self, ref: str, new_name: str) -> None:
        c = self.get(ref)
        name = lookup.normalize_name(new_name)
        if name == c.name:
            msg = "Renaming a container with the same name as its current name"
            raise InvalidArgument(msg)
        self._check_name_free(name)
        old = c.name
        self._names.pop(old, None)
        self._names[name] = c.id
        c.record = replace(c.record, name=name)
        if self.network is not None:
            self.network.rename(c.id, name)
        self.store.save_nowait(c.record)
        self._publish(c, "rename", oldName=f"/{old}")

    # --- wait -------------------------------------------------------------------------

    @staticmethod
    def check_wait_condition(condition: str | None) -> str:
        cond = condition or "not-running"
        if cond not in WAIT_CONDITIONS:
            msg = f"invalid condition: {cond!r}"
            raise InvalidArgument(msg)
        return cond

    def register_wait(self, c: Container, condition: str) -> ExitWaiter:
        """Register a waiter now (so nothing is missed); await ``waiter.event`` later."""
        waiter = ExitWaiter()
        if condition == "removed":
            c.removal_waiters.add(waiter)
        elif condition == "not-running" and not c.state.running:
            waiter.fire(c.state.exit_code)
        else:
            c.exit_waiters.add(waiter)
        return waiter

    @staticmethod
    def cancel_wait(c: Container, waiter: ExitWaiter) -> None:
        c.exit_waiters.discard(waiter)
        c.removal_waiters.discard(waiter)

    # --- introspection ----------------------------------------------------------------

    def container_view_extra(self, c: Container) -> dict[str, Any]:
        """Inspect fields only the engine knows: file paths, health, berth's stop reason."""
        state: dict[str, Any] = {"StopReason": c.state.stop_reason}
        if c.state.health is not None:
            state["Health"] = health_json(c.state.health)
        extra: dict[str, Any] = {
            "ResolvConfPath": str(self.paths.resolv_file(c.id)),
            "HostnamePath": str(self.paths.hostname_file(c.id)),
            "HostsPath": str(self.paths.hosts_file(c.id)),
            "LogPath": str(c.log.path) if c.log is not None else "",
            "State": state,
        }
        if c.log is not None:
            state["LogLinesDropped"] = c.log.dropped
        if self.volumes is not None:
            extra["Mounts"] = self.volumes.inspect_mounts(c.id)
        if self.network is not None:
            running = c.state.running and not c.state.restarting
            extra["NetworkSettings"] = self.network.inspect_settings(
                c.id, c.record.spec, running=running
            )
        return extra

    def summary_extra(self, c: Container) -> dict[str, Any] | None:
        """``docker ps`` fields only the engine knows: published ports, networks."""
        if self.network is None:
            return None
        settings = self.network.inspect_settings(
            c.id, c.record.spec, running=c.state.running and not c.state.restarting
        )
        return {
            "Ports": self.network.summary_ports(c.id, c.record.spec),
            "NetworkSettings": {"Networks": settings.get("Networks", {})},
        }


async def _first_of(*events: trio.Event) -> None:
    """Return as soon as any of ``events`` is set."""
    async with trio.open_nursery() as nursery:

        async def wait(event: trio.Event) -> None:
            await event.wait()
            nursery.cancel_scope.cancel()

        for event in events:
            nursery.start_soon(wait, event)
