"""A daemon start after a crash: the containers on disk come back, what ran is stopped.

Containers do not survive a daemon restart (no live-restore yet). After a
crash, ``_recover`` loads every record, stops survivors and records them
exited (255 when the code is unknown), stops runc containers whose records
(written up to 50 ms late, see ``store``) do not say running, unmounts what
a previous daemon left mounted, and drops containers created moments before
the crash whose records never reached the disk (``orphan_ids``).
"""

from __future__ import annotations

import math
import os
import signal as signal_mod
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import trio

from supervisor._logging import get_logger
from supervisor.engine import state as st
from supervisor.engine.container import Container
from supervisor.engine.process import process_start_time
from supervisor.engine.runs import KILL_WAIT
from supervisor.errors import BerthError

if TYPE_CHECKING:
    from supervisor.engine.model import State

log = get_logger(__name__)


class RecoveryMixin:
    """Bring the containers on disk back at daemon start; mixed into ``Engine``."""

    # Provided by Engine.
    paths: Any
    store: Any
    runtime: Any
    mounter: Any
    _containers: dict[str, Container]
    _names: dict[str, str]

    if TYPE_CHECKING:
        async def _open_log(self, c: Container) -> None: ...
        def _apply(self, c: Container, fact: st.Fact, **change: Any) -> None: ...
        def _set_state(self, c: Container, state: State) -> None: ...
        def _stop_params(self, c: Container, timeout: int | None, signal: str | None) -> tuple[int, float]: ...
        async def _unmount_left_behind(self, containers: list[Container], orphans: Sequence[str] = ()) -> None: ...

    async def _recover(self) -> None:
        records = await trio.to_thread.run_sync(self.store.load_all)
        for record in records:
            c = Container(record)
            try:
                await self._open_log(c)
            except BerthError as exc:
                log.error("container log unavailable", container_id=record.id, error=exc.message)
            self._containers[record.id] = c
            self._names[record.name] = record.id
            if record.state.removing:
                # Its removal was cut short: runc's state may be left too (``docker rm`` clears it).
                c.runtime_leftover = True
                self._set_state(c, replace(record.state, removing=False, dead=True))
        orphans = await trio.to_thread.run_sync(self.store.orphan_ids)
        await self._drop_unsupervised(orphans)
        await self._unmount_left_behind(list(self._containers.values()), orphans)
        for cid in orphans:
            # Created (maybe started) moments before a crash, its record not on disk yet:
            # it is gone, and so go its directory and bundle.
            self.store.forget_nowait(cid, also=(self.paths.bundle(cid),))
        if orphans:
            log.warning("containers created just before a crash dropped", count=len(orphans))
        async with trio.open_nursery() as nursery:
            for c in list(self._containers.values()):
                if c.state.running:
                    nursery.start_soon(self._recover_one, c)
        log.info("containers recovered", count=len(records))

    async def _drop_unsupervised(self, orphans: list[str]) -> None:
        """Kill and delete what the runtime still has for containers not recorded as running.

        Records reach the disk up to ``MAX_WRITE_DELAY`` after a change, so a
        daemon that crashed right after a start can leave a container running
        that its record calls created (or that has no record: ``orphans``).
        Nothing supervises it; it goes before its rootfs is unmounted.
        """
        root = self.paths.runtime_root
        known = await trio.to_thread.run_sync(lambda: os.listdir(root) if root.is_dir() else [])
        for cid in known:
            c = self._containers.get(cid)
            if cid in orphans or (c is not None and not c.state.running):
                try:
                    await self.runtime.delete(cid, force=True)
                except Exception:
                    log.exception("runtime state of an unsupervised container not deleted", container_id=cid)
                else:
                    log.warning("container not recorded as running stopped", container_id=cid)

    async def _recover_one(self, c: Container) -> None:
        """A container recorded running whose daemon died: stop what is left, record the exit."""
        pid, start = c.state.pid, c.state.pid_start
        exit_code = 255
        if pid and start and process_start_time(pid) == start:
            try:
                process = self.runtime.adopt(pid)
            except ProcessLookupError:
                process = None
            if process is not None:
                sig, wait = self._stop_params(c, None, None)
                process.send_signal(sig)
                with trio.move_on_after(wait if wait != math.inf else 30):
                    await process.wait()
                    process = None
                if process is not None:
                    process.send_signal(signal_mod.SIGKILL)
                    with trio.move_on_after(KILL_WAIT):
                        await process.wait()
                    process.close()
        await self.runtime.delete(c.id, force=True)
        await self.mounter.unmount(self.paths.rootfs(c.id))
        c.rootfs_mounted = False
        self._apply(c, st.Fact.DIED_UNSEEN, now=time.time_ns(), exit_code=exit_code)
