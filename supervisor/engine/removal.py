"""Removing a container: announced first, torn down right after.

A removal takes the container out of the tables and announces it (the
``destroy`` event, ``wait?condition=removed``) before its teardown, so that
``docker run --rm`` returns as soon as the container is gone from the daemon.
The teardown (log close, runc's state and cgroups, the rootfs mount, then the
directories in the store's writer thread) follows in the same task.
``docker rm``'s answer, ``rmi`` and the daemon's shutdown wait for it
(``settle_teardowns``): a removed container's overlay holds its image's layers
until then.
"""

from __future__ import annotations

import signal as signal_mod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

from supervisor._logging import get_logger
from supervisor.engine import state as st
from supervisor.engine.container import Container
from supervisor.engine.primed import discard
from supervisor.engine.runs import KILL_WAIT
from supervisor.errors import BerthError, Conflict

if TYPE_CHECKING:
    import contextlib

    from supervisor.engine.early import EarlyBundle
    from supervisor.engine.primed import Primed

log = get_logger(__name__)


class RemovalMixin:
    """``rm`` and ``--rm``; mixed into ``Engine`` (which provides the attributes)."""

    # Provided by Engine.
    paths: Any
    runtime: Any
    store: Any
    mounter: Any
    volumes: Any
    network: Any
    remove_hook: Callable[[str], None] | None
    _containers: dict[str, Container]
    _names: dict[str, str]
    _teardowns: set[trio.Event]

    if TYPE_CHECKING:
        def get(self, ref: str) -> Container: ...
        def _busy(self) -> contextlib.AbstractContextManager[None]: ...
        def _apply(self, c: Container, fact: st.Fact, **change: Any) -> None: ...
        def _publish(self, c: Container, action: str, **extra: str) -> None: ...
        def _mark_manual_stop(self, c: Container) -> None: ...
        async def _cancel_restart(self, c: Container) -> None: ...
        async def _resume_quietly(self, c: Container) -> None: ...
        async def _release_leftovers(self, c: Container, *, inline: bool = False) -> None: ...
        @staticmethod
        def take_early_mount(c: Container) -> bool: ...
        @staticmethod
        def take_early_bundle(c: Container) -> EarlyBundle | None: ...
        @staticmethod
        def take_primed(c: Container) -> Primed | None: ...

    async def remove(self, ref: str, *, force: bool = False, remove_volumes: bool = False) -> None:
        c = self.get(ref)
        if c.state.running:
            if not force:
                msg = (
                    f'cannot remove container "/{c.name}": container is running: stop the '
                    "container before removing or force remove"
                )
                raise Conflict(msg)
            self._mark_manual_stop(c)
            if c.state.restarting:
                await self._cancel_restart(c)
            elif c.process is not None:
                c.tracker.cancel()
                c.stopping = True
                self._publish(c, "kill", signal=str(int(signal_mod.SIGKILL)))
                c.process.send_signal(signal_mod.SIGKILL)
                if c.state.paused:
                    await self._resume_quietly(c)
            with trio.move_on_after(KILL_WAIT):
                await c.run_done.wait()
        if c.id not in self._containers:
            # Auto-removed meanwhile (--rm): answer once its teardown is done, as for any rm.
            await self.settle_teardowns()
            return
        await self._remove(c, remove_volumes=remove_volumes)

    async def _remove(self, c: Container, *, remove_volumes: bool | None = None) -> None:
        """Remove ``c``; its anonymous volumes too with ``remove_volumes`` (default: --rm's)."""
        if remove_volumes is None:
            remove_volumes = c.record.spec.auto_remove  # moby: AutoRemove implies RemoveVolume
        with self._busy():
            await self._remove_locked(c, remove_volumes)

    async def _remove_locked(self, c: Container, remove_volumes: bool) -> None:
        async with c.lock:
            if c.id not in self._containers:
                return
            if c.state.running:
                msg = f"container {c.id} is running"
                raise Conflict(msg)
            self._apply(c, st.Fact.REMOVING)
            self.take_early_mount(c)  # an early mount goes with the rootfs below,
            self.take_early_bundle(c)  # its network plan with the network's ``forget``
            primed = self.take_primed(c)
            if primed is not None:  # the runtime's container made ahead of a start goes first
                await discard(self.runtime, c.id, primed)
            done = trio.Event()
            self._teardowns.add(done)
            try:
                if self.network is not None:
                    with trio.CancelScope(shield=True):
                        await self.network.forget(c.id)
                del self._containers[c.id]
                self._names.pop(c.name, None)
                try:
                    if self.volumes is not None:
                        with trio.CancelScope(shield=True):
                            await self.volumes.release(c.id, remove_anonymous=remove_volumes)
                finally:
                    # Gone from the tables: announced whatever happened to its volumes.
                    self._publish(c, "destroy")
                    c.notify_removed()
                    if self.remove_hook is not None:
                        self.remove_hook(c.id)
            finally:
                try:
                    # Announced (`docker run --rm` goes on now): nothing can reach the container
                    # any more, and what the kernel and the disk still hold for it goes.
                    with trio.CancelScope(shield=True):
                        await self._teardown(c)
                finally:
                    self._teardowns.discard(done)
                    done.set()

    async def settle_teardowns(self) -> None:
        """Wait until the removals already announced have torn down (milliseconds).

        A removed container's overlay mount holds its image's layers until its
        teardown ends: ``rmi`` and shutdown wait for it.
        """
        for done in list(self._teardowns):  # those begun so far, not the ones still to come
            await done.wait()

    async def _teardown(self, c: Container) -> None:
        """A removed container's log, runtime state, mount, then its directories."""
        if c.log is not None:
            await c.log.close()
        try:
            await self._release_leftovers(c)
            if c.rootfs_mounted:  # a run's end unmounted it already
                await self.mounter.unmount(self.paths.rootfs(c.id))
                c.rootfs_mounted = False
        except Exception as exc:
            # Its directory stays (the mount may be inside); the next daemon start finds it.
            error = exc.message if isinstance(exc, BerthError) else repr(exc)
            log.error("removed container's rootfs stays mounted", container_id=c.id, error=error)
            return
        # The directories go in the store's writer thread, off the caller's path.
        self.store.forget_nowait(c.id, also=(self.paths.bundle(c.id),))
