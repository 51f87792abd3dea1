"""Ending or freezing a run on request: stop, kill, restart, pause, unpause.

Split out of ``engine.py`` (the Engine inherits this mixin, as it inherits
``RunsMixin``). Docker's rules: ``stop`` sends the stop signal, waits the
stop timeout, then SIGKILL; a stop or kill by hand marks the container
manually stopped (its restart policy then leaves it down) and cancels a
pending policy restart; ``restart`` is a stop then a start; a paused
container is resumed before it is signalled.
"""

from __future__ import annotations

import contextlib
import math
import signal as signal_mod
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import trio

from supervisor._logging import get_logger
from supervisor.engine import state as st
from supervisor.engine.container import Container
from supervisor.engine.model import State, Status
from supervisor.engine.runs import KILL_WAIT
from supervisor.engine.signals import parse_signal
from supervisor.errors import BerthError, Conflict, NotModified, RuntimeFailed

log = get_logger(__name__)


class StoppingMixin:
    """Stop, kill, restart and pause runs; mixed into ``Engine`` (which provides the attributes)."""

    # Provided by Engine.
    config: Any
    runtime: Any
    draining: bool

    if TYPE_CHECKING:
        def get(self, ref: str) -> Container: ...
        def _apply(self, c: Container, fact: st.Fact, **change: Any) -> None: ...
        def _set_state(self, c: Container, state: State) -> None: ...
        def _publish(self, c: Container, action: str, **extra: str) -> None: ...
        async def start_container(self, c: Container) -> None: ...

    def _stop_params(self, c: Container, timeout: int | None, signal: str | None) -> tuple[int, float]:
        spec = c.record.spec
        sig = parse_signal(signal or spec.stop_signal or "SIGTERM")
        if timeout is None:
            timeout = spec.stop_timeout if spec.stop_timeout is not None else self.config.default_stop_timeout
        return sig, (math.inf if timeout < 0 else float(timeout))

    async def stop(self, ref: str, *, timeout: int | None = None, signal: str | None = None) -> None:
        """Docker's stop: signal, wait ``timeout`` seconds, SIGKILL. 304 if not running.

        A container waiting to be restarted is not signalled: its pending
        restart is cancelled and it is recorded exited.
        """
        c = self.get(ref)
        if c.state.restarting:
            self._mark_manual_stop(c)
            await self._cancel_restart(c)
            self._publish(c, "stop")
            return
        if not c.state.running or c.process is None:
            msg = "container already stopped"
            raise NotModified(msg)
        sig, wait = self._stop_params(c, timeout, signal)
        self._mark_manual_stop(c)
        await self._stop_run(c, sig, wait)
        self._publish(c, "stop")

    async def _cancel_restart(self, c: Container) -> None:
        c.tracker.cancel()
        if c.backoff_scope is not None:
            c.backoff_scope.cancel()
        with trio.move_on_after(KILL_WAIT):
            await c.run_done.wait()

    def _mark_manual_stop(self, c: Container) -> None:
        if self.draining:
            return
        if c.log is not None:
            c.log.stop_following_restarts()
        if not c.state.manually_stopped:
            self._set_state(c, replace(c.state, manually_stopped=True))

    async def _stop_run(self, c: Container, sig: int, wait: float, *, cancel_restart: bool = True) -> None:
        """Signal the running process, wait, then SIGKILL: the shape of trio's deliver_cancel."""
        process = c.process
        if process is None:
            return
        if cancel_restart:
            c.tracker.cancel()
        c.stopping = True
        exited = c.exited
        self._publish(c, "kill", signal=str(sig))
        sent = process.send_signal(sig)
        if c.state.paused:
            await self._resume_quietly(c)
        with trio.move_on_after(wait if sent else min(wait, 2.0)):
            await exited.wait()
        if exited.is_set():
            return
        log.info(
            "container failed to exit within timeout of signal - using the force",
            container_id=c.id, timeout=wait, signal=sig,
        )
        self._publish(c, "kill", signal=str(int(signal_mod.SIGKILL)))
        process.send_signal(signal_mod.SIGKILL)
        with trio.move_on_after(KILL_WAIT):
            await exited.wait()
        if not exited.is_set():
            msg = "tried to kill container, but did not receive an exit event"
            raise RuntimeFailed(msg)

    async def restart_unhealthy(self, c: Container) -> None:
        """berth.restart-on-unhealthy: end this run; the restart tracker restarts it."""
        sig, wait = self._stop_params(c, None, None)
        log.info("restarting unhealthy container", container_id=c.id)
        try:
            await self._stop_run(c, sig, wait, cancel_restart=False)
        except BerthError as exc:
            log.error("unhealthy restart failed", container_id=c.id, error=exc.message)

    async def _resume_quietly(self, c: Container) -> None:
        try:
            await self.runtime.resume(c.id)
        except BerthError as exc:
            log.warning("resume after signal failed", container_id=c.id, error=exc.message)
        else:
            if c.state.paused:
                self._apply(c, st.Fact.UNPAUSED)

    async def kill(self, ref: str, signal: str | None = None) -> None:
        """Send a signal (SIGKILL by default, then wait for the exit)."""
        c = self.get(ref)
        sig = parse_signal(signal or "SIGKILL")
        stop_sig = parse_signal(c.record.spec.stop_signal or "SIGTERM")
        ending = sig in (signal_mod.SIGKILL, stop_sig)
        if c.state.restarting and ending:
            self._mark_manual_stop(c)
            await self._cancel_restart(c)
            return
        if not c.state.running or c.process is None:
            msg = f"cannot kill container: {ref}: container {c.id} is not running"
            raise Conflict(msg)
        # Only a signal meant to end the container counts as a manual stop: a HUP
        # for a config reload must not disable the restart policy (moby#41302).
        if ending:
            self._mark_manual_stop(c)
            c.tracker.cancel()
            c.stopping = True
        self._publish(c, "kill", signal=str(sig))
        exited = c.exited
        c.process.send_signal(sig)
        if c.state.paused and ending:
            await self._resume_quietly(c)
        if sig == signal_mod.SIGKILL:
            with trio.move_on_after(KILL_WAIT):
                await exited.wait()

    async def restart(self, ref: str, *, timeout: int | None = None, signal: str | None = None) -> None:
        """Stop if running, then start again with a fresh restart state; emits ``restart``."""
        c = self.get(ref)
        if c.state.restarting:
            await self._cancel_restart(c)
        elif c.state.running and c.process is not None:
            sig, wait = self._stop_params(c, timeout, signal)
            c.restarting_by_api = True
            try:
                await self._stop_run(c, sig, wait)
                with trio.move_on_after(KILL_WAIT):
                    await c.run_done.wait()
                self._publish(c, "stop")
            finally:
                c.restarting_by_api = False
        with contextlib.suppress(NotModified):
            await self.start_container(c)
        self._publish(c, "restart")

    # --- pause -----------------------------------------------------------------------

    async def pause(self, ref: str) -> None:
        c = self.get(ref)
        async with c.lock:
            status = c.state.status
            if status is Status.PAUSED:
                msg = f"Container {c.id} is already paused"
                raise Conflict(msg)
            if status is Status.RESTARTING:
                msg = f"Container {c.id} is restarting, wait until the container is running"
                raise Conflict(msg)
            if status is not Status.RUNNING:
                msg = f"Container {c.id} is not running"
                raise Conflict(msg)
            await self.runtime.pause(c.id)
            self._apply(c, st.Fact.PAUSED)
            self._publish(c, "pause")

    async def unpause(self, ref: str) -> None:
        c = self.get(ref)
        async with c.lock:
            if c.state.status is not Status.PAUSED:
                msg = f"Container {c.id} is not paused"
                raise Conflict(msg)
            await self.runtime.resume(c.id)
            self._apply(c, st.Fact.UNPAUSED)
            self._publish(c, "unpause")
