"""The runs of a container: launch, supervise until exit, restart by policy.

Split out of ``engine.py`` (the Engine inherits this mixin): everything
between "the API asked to start" and "the last exit is recorded". Rules:

- The first launch happens before ``task_status.started()``, so a failed
  start reaches the API caller; later launches are policy restarts.
- Every exit is fed to the pure ``RestartTracker``; this module only applies
  its decision (record the exit, or record "restarting", sleep the backoff in
  a scope that stop/kill/rm cancel, and launch again).
- A run's resources (stdin, runtime state and cgroups, rootfs mount) are
  released on every exit before the decision is applied.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal as signal_mod
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

import trio

from supervisor._logging import get_logger
from supervisor.activity import Activity
from supervisor.engine import state as st
from supervisor.engine.container import Container
from supervisor.engine.health_task import (
    health_state_from_model,
    health_state_to_model,
    run_health_checks,
)
from supervisor.engine.model import (
    State,
)
from supervisor.engine.output import STDERR, STDOUT, open_pipe
from supervisor.engine.prepare import prepare_bundle
from supervisor.engine.primed import Primed, discard
from supervisor.engine.process import process_start_time
from supervisor.engine.runtime import StartFailed, Stdio
from supervisor.errors import (
    BerthError,
    RuntimeFailed,
)
from supervisor.restart.health import (
    EffectiveHealth,
    health_config_effective,
    on_container_started,
)
from supervisor.restart.tracker import Decision, GiveUp, Reason, RestartAfter, Stay

if TYPE_CHECKING:
    from supervisor.engine.early import EarlyBundle
    from supervisor.engine.engine import Engine

log = get_logger(__name__)

KILL_WAIT = 10.0


def _now() -> int:
    return time.time_ns()


def _stop_reason(decision: Decision, manually_stopped: bool) -> str:
    """What inspect says about why the container is not running any more."""
    if isinstance(decision, GiveUp):
        reason = decision.reason.describe()
        return f"{reason}: {decision.message}" if decision.message else reason
    if isinstance(decision, Stay):
        if manually_stopped and decision.reason in (Reason.POLICY_NO, Reason.EXIT_SUCCESS):
            return Reason.MANUALLY_STOPPED.describe()
        return decision.reason.describe()
    return ""



class RunsMixin:
    """Launch and supervise runs; mixed into ``Engine`` (which provides the attributes)."""

    # Provided by Engine.
    config: Any
    paths: Any
    runtime: Any
    images: Any
    mounter: Any
    bundle_context: Any
    store: Any
    draining: bool
    exit_hook: Any
    volumes: Any
    network: Any
    activity: Activity
    _containers: dict[str, Container]

    if TYPE_CHECKING:
        @staticmethod
        def take_early_mount(c: Container) -> bool: ...
        @staticmethod
        def take_early_bundle(c: Container) -> EarlyBundle | None: ...
        @staticmethod
        def take_primed(c: Container) -> Primed | None: ...
        def _apply(self, c: Container, fact: st.Fact, **change: Any) -> None: ...
        def _set_state(self, c: Container, state: State) -> None: ...
        def _publish(self, c: Container, action: str, **extra: str) -> None: ...
        async def _remove(self, c: Container, *, remove_volumes: bool | None = None) -> None: ...
        def _volumes_from(self, ref: str) -> tuple[str, Any]: ...
        def _pid_of(self, ref: str) -> int: ...

    def _busy(self) -> contextlib.AbstractContextManager[None]:
        """A start or an exit in progress: background work (spares, deleting directories) waits."""
        return self.activity.busy()

    async def _launch(self, c: Container) -> tuple[Any, int, int]:
        with self._busy():
            return await self._launch_run(c)

    async def _launch_run(self, c: Container) -> tuple[Any, int, int]:
        """Plan the network, then wire it while the rootfs and bundle are made; run. Cleans up on failure.

        The network is wired before the runtime runs (the container joins the
        namespace ``plan`` made), so the user's process starts with its veth,
        address and published ports ready, and a single ``runc run --detach``
        replaces ``create`` + ``start``. The wiring (netlink) overlaps the
        mount and the bundle: both wait on the kernel in worker threads.
        """
        cid = c.id
        spec = c.record.spec
        image = self.images.resolve(spec.image_id or spec.image)
        plan = self.images.rootfs_plan(image)
        rootfs = self.paths.rootfs(cid)
        fds: list[int] = []
        mounted = False
        wiring = False
        user = None
        primed: Primed | None = None  # held here until started or discarded
        ahead: EarlyBundle | None = None
        try:
            # What create prepared is taken first, so that every failure below finds it to
            # release. Unmounting what is not mounted is a no-op, and the mount must never
            # outlive a start that failed or was cancelled.
            early = self.take_early_mount(c)
            ahead = self.take_early_bundle(c)
            primed = self.take_primed(c)
            mounted = c.rootfs_mounted = True
            net = None
            if self.network is not None:
                net = await self.network.plan(cid, c.name, spec, pid_of=self._pid_of)
            # Both branches keep their own error, so the caller sees a plain
            # StartFailed or BerthError, never an ExceptionGroup.
            failures: list[Exception] = []

            async def wire() -> None:
                assert self.network is not None
                try:
                    await self.network.attach(cid, c.name, spec)
                except Exception as exc:
                    failures.append(exc)
                    nursery.cancel_scope.cancel()

            async with trio.open_nursery() as nursery:
                if self.network is not None:
                    wiring = True
                    nursery.start_soon(wire)
                try:
                    layers = {"upper": self.paths.upper(cid), "work": self.paths.work(cid), "target": rootfs}
                    resolved = None
                    if self.volumes is not None and not self.volumes.needs_rootfs(cid):
                        # No mount points: nothing waits for the rootfs (no thread hop either).
                        resolved = await self.volumes.resolve_mounts(
                            cid, spec, image_rootfs=None, volumes_from=self._volumes_from,
                        )
                    mounts = resolved.mounts if resolved else None
                    propagation = resolved.rootfs_propagation if resolved else None
                    fits = early and ahead is not None and ahead.fits(c.record, net, mounts, propagation)
                    if primed is not None and not fits:
                        # Made from a bundle this start does not want: the runtime's id must be free.
                        await discard(self.runtime, cid, primed)
                        primed = None
                    if fits:
                        # Written with the early mount from what this start would write: as it is.
                        assert ahead is not None
                        user = ahead.user
                    elif early and (resolved is not None or self.volumes is None):
                        # Mounted right after create (``early``): only the bundle is left.
                        user = await trio.to_thread.run_sync(functools.partial(
                            prepare_bundle, c.record, plan, self.paths, self.bundle_context, self.config, net,
                            mounts, propagation,
                        ))
                    elif resolved is not None or self.volumes is None:
                        # The common case: mount and write the bundle in one worker-thread call.
                        user = await self.mounter.mount_then(plan, **layers, then=functools.partial(
                            prepare_bundle, c.record, plan, self.paths, self.bundle_context, self.config, net,
                            mounts, propagation,
                        ))
                    else:
                        # Volumes are filled from the mounted image (copy-up) before the bundle names them.
                        await self.mounter.mount(plan, **layers)
                        resolved = await self.volumes.resolve_mounts(
                            cid, spec, image_rootfs=rootfs, volumes_from=self._volumes_from,
                            image_mounts=plan.mounts,
                        )
                        user = await trio.to_thread.run_sync(
                            prepare_bundle, c.record, plan, self.paths, self.bundle_context, self.config, net,
                            resolved.mounts, resolved.rootfs_propagation,
                        )
                except Exception as exc:
                    failures.insert(0, exc)
                    nursery.cancel_scope.cancel()
            if failures:
                raise failures[0]
            assert user is not None
            c.exec_user = f"{user.uid}:{user.gid}"
            if primed is not None:
                # Made at create (``primed``): its init only has to exec now.
                try:
                    await self.runtime.start_created(cid, primed.process)
                except StartFailed as exc:
                    # Its init died while it waited (the OOM killer, say): run it afresh.
                    log.warning("container made at create could not start", container_id=cid, error=exc.message)
                    await discard(self.runtime, cid, primed)
                    primed = None
                except BaseException:
                    await discard(self.runtime, cid, primed)
                    primed = None
                    raise
            if primed is not None:
                process = primed.process
                out_r, err_r, in_w = primed.pipes.out_r, primed.pipes.err_r, primed.pipes.in_w
                fds += primed.pipes.fds()
                primed = None
            else:
                out_r, out_w = open_pipe()
                err_r, err_w = open_pipe()
                fds += [out_r, out_w, err_r, err_w]
                if spec.open_stdin:
                    in_r, in_w = open_pipe()
                    fds += [in_r, in_w]
                else:
                    in_r = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
                    in_w = -1
                    fds.append(in_r)
                process = await self.runtime.run(
                    cid, self.paths.bundle(cid), Stdio(stdin=in_r, stdout=out_w, stderr=err_w)
                )
                # The child holds its copies now; ours must go or the pipes never reach EOF.
                for fd in (in_r, out_w, err_w):
                    os.close(fd)
                    fds.remove(fd)
            try:
                if self.network is not None:
                    self.network.running(cid, process.pid)
                if in_w >= 0:
                    c.stdin = trio.lowlevel.FdStream(in_w)
                    fds.remove(in_w)
            except BaseException:
                # Running but not yet supervised: it must not outlive this failure.
                with trio.CancelScope(shield=True), trio.move_on_after(KILL_WAIT):
                    process.send_signal(signal_mod.SIGKILL)
                    await process.wait()
                    await self.runtime.delete(cid, force=True)
                raise
            fds.remove(out_r)
            fds.remove(err_r)
            return process, out_r, err_r
        except BaseException:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            with trio.CancelScope(shield=True):
                if primed is not None:
                    await discard(self.runtime, cid, primed)
                if (wiring or ahead is not None) and self.network is not None:
                    # What was attached, or planned at create (its namespace, its address).
                    await self.network.detach(cid)
                if self.volumes is not None:
                    self.volumes.unmounted(cid)
                if mounted:
                    await self.mounter.unmount(rootfs)
                    c.rootfs_mounted = False
            raise

    async def _supervise(self, c: Container, *, task_status: trio.TaskStatus[None]) -> None:
        """A container's life from its start to its last exit, restarts included.

        The first launch happens before ``task_status.started()`` so that its
        failure reaches the API caller. Every exit is fed to the restart
        tracker; its decision is applied here: record the exit and end, or
        record "restarting", sleep the backoff (a stop/kill/rm cancels it) and
        launch again.
        """
        try:
            launched = await self._launch(c)
        except StartFailed as exc:
            self._apply(c, st.Fact.START_FAILED, now=_now(), error=exc.message, exit_code=exc.exit_code)
            self._set_state(c, replace(c.state, stop_reason=f"start failed: {exc.message}"))
            raise
        except BerthError as exc:
            self._apply(c, st.Fact.START_FAILED, now=_now(), error=exc.message, exit_code=128)
            self._set_state(c, replace(c.state, stop_reason=f"start failed: {exc.message}"))
            raise
        except Exception as exc:
            # A bug or an unexpected OS error: this container fails, the daemon does not.
            log.exception("container start failed unexpectedly", container_id=c.id)
            message = f"start failed: {type(exc).__name__}: {exc}"
            self._apply(c, st.Fact.START_FAILED, now=_now(), error=message, exit_code=128)
            raise RuntimeFailed(message) from exc
        c.run_done = trio.Event()
        try:
            self._began_run(c, launched)
            task_status.started()
            await self._supervise_runs(c, launched)
        except Exception as exc:
            # Contain failures per container (serve_listeners' advice): record and log.
            log.exception("container supervision failed", container_id=c.id)
            if c.process is not None:
                c.process.send_signal(signal_mod.SIGKILL)
            with trio.CancelScope(shield=True), trio.move_on_after(KILL_WAIT):
                try:
                    await self._cleanup_run(c)
                except Exception:
                    log.exception("cleanup after a failure failed", container_id=c.id)
            if c.state.running:
                self._record_exit(c, 255, 0.0, f"internal error: {type(exc).__name__}: {exc}")
        finally:
            c.run_done.set()
        try:
            if self._removed_on_exit(c):
                try:
                    await self._remove(c)
                except BerthError as exc:
                    log.error("auto-remove failed", container_id=c.id, error=exc.message)
            # Not removed after all (or the removal failed): what the last run left goes now.
            with trio.CancelScope(shield=True):
                await self._release_leftovers(c)
        except Exception:
            # An OS error past the container's supervision: this container's, not the daemon's.
            log.exception("cleanup after the last exit failed", container_id=c.id)

    def _removed_on_exit(self, c: Container) -> bool:
        """Whether the run that ends now is ``--rm``'s: the container goes with its exit."""
        return c.record.spec.auto_remove and not c.restarting_by_api and not self.draining

    async def _supervise_runs(self, c: Container, launched: tuple[Any, int, int]) -> None:
        """Feed every exit to the tracker and apply its decision, until the last exit."""
        while True:
            exit_code, duration = await self._run_until_exit(c, launched)
            with trio.CancelScope(shield=True):
                # A --rm container's runtime state and mount outlive its exit a little:
                # they go right after its removal is announced, off `docker run --rm`'s path.
                await self._cleanup_run(c, keep_network=True, keep_runtime=self._removed_on_exit(c))
            decision = c.tracker.on_exit(
                trio.current_time(), exit_code, duration,
                manually_stopped=c.state.manually_stopped, daemon_shutting_down=self.draining,
            )
            if not isinstance(decision, RestartAfter):
                with trio.CancelScope(shield=True):
                    await self._release_network(c)
                self._record_exit(
                    c, exit_code, duration, _stop_reason(decision, c.state.manually_stopped)
                )
                return
            with trio.CancelScope(shield=True):
                await self._release_leftovers(c)
            self._record_restarting(c, exit_code, duration)
            relaunched = await self._restart_after(c, decision.delay)
            if relaunched is None:
                return
            launched = relaunched
            self._began_run(c, launched)

    def _began_run(self, c: Container, launched: tuple[Any, int, int]) -> None:
        process = launched[0]
        c.process = process
        c.launched.set()
        c.stopping = False
        c.exited = trio.Event()
        c.run_started = trio.current_time()
        state = st.apply(
            c.state, st.Fact.STARTED,
            st.Change(now=_now(), pid=process.pid, pid_start=process_start_time(process.pid)),
        )
        health = self._health_config(c)
        if health is not None:
            state = replace(state, health=health_state_to_model(on_container_started(
                health_state_from_model(state.health)
            )))
        self._set_state(c, replace(state, restart_count=c.tracker.restart_count))
        self._publish(c, "start")

    async def _run_until_exit(self, c: Container, launched: tuple[Any, int, int]) -> tuple[int, float]:
        """Pump the output and run the health checks until the init exits."""
        process, out_r, err_r = launched
        started = trio.current_time()
        exit_code: int | None = None
        health = self._health_config(c)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(c.output.pump, out_r, STDOUT)
                nursery.start_soon(c.output.pump, err_r, STDERR)
                probes = trio.CancelScope()
                if health is not None:
                    nursery.start_soon(run_health_checks, cast("Engine", self), c, health, probes)
                exit_code = await process.wait()
                probes.cancel()
                # Give the pipes two seconds to drain (Docker waits the same), then stop reading.
                nursery.cancel_scope.deadline = trio.current_time() + 2
        finally:
            with trio.CancelScope(shield=True):
                if exit_code is None and process.send_signal(signal_mod.SIGKILL):
                    with trio.move_on_after(KILL_WAIT):
                        exit_code = await process.wait()
                process.close()
                c.process = None
                if exit_code is None:
                    await self._cleanup_run(c)
                    self._record_exit(c, 255, trio.current_time() - started, "daemon stopped")
        return (255 if exit_code is None else exit_code), trio.current_time() - started

    def note_oom(self, container_id: str) -> None:
        """The kernel's OOM killer struck in this container's cgroup: State.OOMKilled, ``oom``."""
        c = self._containers.get(container_id)
        if c is None:
            return
        if not c.state.oom_killed:
            self._set_state(c, replace(c.state, oom_killed=True))
        self._publish(c, "oom")

    async def _cleanup_run(self, c: Container, *, keep_network: bool = False, keep_runtime: bool = False) -> None:
        """Release what a run held: stdin, the runtime's state and cgroups, the rootfs mount.

        With ``keep_network`` the container's network (its kept namespace, veth,
        address and published ports) stays for the next run of a policy restart.
        With ``keep_runtime`` the runtime's state and the mount stay too, marked as
        leftovers for ``_release_leftovers`` (the container is about to be removed).
        """
        with self._busy():
            await self._release_run(c, keep_network=keep_network, keep_runtime=keep_runtime)

    async def _release_leftovers(self, c: Container, *, inline: bool = False) -> None:
        """Delete the runtime's state and cgroups, then unmount, if a run left them.

        Not ``inline`` (the default), the runtime's state goes in a worker thread: this
        runs right after a removal is announced, while its waiters are being answered.
        """
        if not c.runtime_leftover:
            return
        with self._busy():
            await self.runtime.delete(c.id, force=True, inline=inline)
            c.runtime_leftover = False
            await self.mounter.unmount(self.paths.rootfs(c.id))
            c.rootfs_mounted = False

    async def _release_run(self, c: Container, *, keep_network: bool, keep_runtime: bool = False) -> None:
        if self.exit_hook is not None:
            # A last look at the cgroup before runc removes it (an OOM right before exit).
            self.exit_hook(c.id)
        if self.volumes is not None:
            self.volumes.unmounted(c.id)
        if c.stdin is not None:
            with contextlib.suppress(OSError, trio.ClosedResourceError):
                await c.stdin.aclose()
            c.stdin = None
        if self.network is not None and not keep_network:
            await self.network.detach(c.id)
        c.runtime_leftover = True
        if not keep_runtime:
            await self._release_leftovers(c, inline=True)

    async def _release_network(self, c: Container) -> None:
        """The last run ended: the container's network goes (a restart keeps it)."""
        if self.network is not None:
            with self._busy():
                await self.network.detach(c.id)

    def _end_of_run_output(self, c: Container, exit_code: int) -> None:
        c.output.end_run()
        if c.log is not None:
            c.log.end_run()
        c.notify_exit(exit_code)

    def _health_at_exit(self, state: State) -> State:
        if state.health is None:
            return state
        # Docker's compatibility quirk: a stopped monitor reads as unhealthy (no event).
        return replace(state, health=replace(state.health, status="unhealthy"))

    def _record_exit(self, c: Container, exit_code: int, duration: float, reason: str) -> None:
        if not c.state.running:
            return
        c.launched = trio.Event()  # the next run's (an attach's stdin waits for it)
        state = st.apply(c.state, st.Fact.EXITED, st.Change(now=_now(), exit_code=exit_code))
        self._set_state(c, replace(self._health_at_exit(state), stop_reason=reason))
        self._publish(c, "die", exitCode=str(exit_code), execDuration=str(int(duration)))
        self._end_of_run_output(c, exit_code)
        c.exited.set()

    def _record_restarting(self, c: Container, exit_code: int, duration: float) -> None:
        c.launched = trio.Event()
        state = st.apply(c.state, st.Fact.RESTARTING, st.Change(now=_now(), exit_code=exit_code))
        self._set_state(
            c, replace(self._health_at_exit(state), restart_count=c.tracker.restart_count)
        )
        self._publish(c, "die", exitCode=str(exit_code), execDuration=str(int(duration)))
        self._end_of_run_output(c, exit_code)
        c.exited.set()

    async def _restart_after(self, c: Container, delay: float) -> tuple[Any, int, int] | None:
        """Sleep the backoff, then launch again; None if cancelled or given up (state recorded)."""
        while True:
            with trio.CancelScope() as scope:
                c.backoff_scope = scope
                await trio.sleep(delay)
            c.backoff_scope = None
            if scope.cancelled_caught or c.tracker.cancelled or self.draining:
                reason = "daemon shutting down" if self.draining else "stopped by hand"
                with trio.CancelScope(shield=True):
                    await self._release_network(c)
                self._settle_restarting(c, reason)
                return None
            try:
                return await self._launch(c)
            except BerthError as exc:
                log.error("restart failed", container_id=c.id, error=exc.message)
                self._set_state(c, replace(c.state, error=exc.message))
                decision = c.tracker.on_start_failed(trio.current_time())
                if not isinstance(decision, RestartAfter):
                    with trio.CancelScope(shield=True):
                        await self._release_network(c)
                    self._settle_restarting(c, f"start failed: {exc.message}")
                    return None
                self._set_state(c, replace(c.state, restart_count=c.tracker.restart_count))
                delay = decision.delay

    def _settle_restarting(self, c: Container, reason: str) -> None:
        """A restart that will not happen: restarting → exited, keeping the last exit code."""
        state = st.apply(c.state, st.Fact.EXITED, st.Change(now=_now(), exit_code=c.state.exit_code))
        self._set_state(c, replace(state, stop_reason=reason))

    def _health_config(self, c: Container) -> EffectiveHealth | None:
        spec = c.record.spec
        return health_config_effective(spec.healthcheck, spec.shell)

