"""OOM detection: tell the engine when the kernel's OOM killer hit a container.

Theory of operation:

- The source of truth is the cgroup's ``oom_kill`` counter (v1
  ``memory.oom_control``, v2 ``memory.events``). A new run has a new cgroup
  whose counter starts at 0, so the baseline of every (id, pid) is 0 and an
  OOM in the first second of a run is not lost.
- Wake-ups come from the kernel so the event precedes the ``die`` the kill
  causes: on v1 an eventfd registered through ``cgroup.event_control`` for
  ``memory.oom_control`` (the kernel signals it before it picks a victim, and
  once more when the cgroup is removed — told apart by the control file being
  gone, as runc does); on v2 one inotify watch per container on
  ``memory.events`` (the kernel notifies modifications, as containerd uses).
  Each sampler tick also compares the counters it read, and the engine can
  ask for a last look with ``check`` before it deletes the cgroup.
- ``OomTracker`` (pure) decides, so that the same kill seen by several
  wake-ups is reported once: a v1 notification may arrive before the counter
  moves, so it counts as one kill ahead of the counter.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import struct
from collections.abc import Callable, Iterable
from pathlib import Path

import trio

from supervisor._logging import get_logger
from supervisor.engine.cgroups import UNIFIED, container_cgroup_dirs
from supervisor.errors import InvalidArgument
from supervisor.stats.cgroup_v1 import oom_kills
from supervisor.stats.model import Target
from supervisor.stats.reader import TickReader

log = get_logger(__name__)

RunKey = tuple[str, int]

IN_MODIFY = 0x00000002
IN_IGNORED = 0x00008000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
_EVENT = struct.Struct("iIII")


class OomTracker:
    """Pure: which counter readings and notifications are new OOM kills."""

    def __init__(self) -> None:
        self._seen: dict[RunKey, int] = {}

    def counter(self, key: RunKey, oom_kills: int) -> bool:
        """A counter reading; True if it shows a kill not reported yet."""
        if oom_kills > self._seen.get(key, 0):
            self._seen[key] = oom_kills
            return True
        return False

    def notified(self, key: RunKey, oom_kills: int | None) -> bool:
        """A kernel notification: always an OOM; the counter may lag by one."""
        prev = self._seen.get(key, 0)
        self._seen[key] = max(oom_kills or 0, prev + 1)
        return True

    def retain(self, keys: Iterable[RunKey]) -> None:
        """Forget runs that ended."""
        keep = set(keys)
        for key in [k for k in self._seen if k not in keep]:
            del self._seen[key]


class _Inotify:
    """A minimal inotify binding (ctypes): add/remove watches, read events."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        self.fd: int = fd

    def add(self, path: str) -> int | None:
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(path), IN_MODIFY)
        return None if wd < 0 else int(wd)

    def remove(self, wd: int) -> None:
        self._libc.inotify_rm_watch(self.fd, wd)

    def read_events(self) -> list[tuple[int, int]]:
        """(wd, mask) of every pending event; [] if none."""
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return []
        out, offset = [], 0
        while offset + _EVENT.size <= len(data):
            wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
            out.append((wd, mask))
            offset += _EVENT.size + length
        return out

    def close(self) -> None:
        trio.lowlevel.notify_closing(self.fd)
        os.close(self.fd)


class OomWatcher:
    """Watches the running containers' cgroups and calls ``on_oom(container_id)`` per kill.

    Args:
        reader: reads the counters (and knows the cgroup layout).
        on_oom: called in the trio thread, once per detected OOM kill.
        kernel_events: register eventfd/inotify watches (False with fake files in tests).
    """

    def __init__(
        self, reader: TickReader, on_oom: Callable[[str], None], *, kernel_events: bool = True
    ) -> None:
        self.reader = reader
        self.on_oom = on_oom
        self.kernel_events = kernel_events
        self.tracker = OomTracker()
        self._targets: dict[str, Target] = {}
        self._scopes: dict[RunKey, trio.CancelScope] = {}
        self._wds: dict[int, Target] = {}
        self._wd_of: dict[RunKey, int] = {}
        self._nursery: trio.Nursery | None = None
        self._inotify: _Inotify | None = None
        self.reported = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Host the kernel watches until cancelled."""
        v2 = self.reader.layout.version.is_v2
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                if self.kernel_events and v2:
                    try:
                        self._inotify = _Inotify()
                    except OSError as exc:
                        log.warning("inotify unavailable; OOM seen at each sample", error=str(exc))
                    else:
                        nursery.start_soon(self._inotify_loop, self._inotify)
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            if self._inotify is not None:
                self._inotify.close()
                self._inotify = None

    # --- the sampler's hooks (trio thread, synchronous) ------------------------------

    def sync(self, targets: Iterable[Target]) -> None:
        """Start watching new runs and stop watching ended ones."""
        current = {t.id: t for t in targets}
        keys = {(t.id, t.pid) for t in current.values()}
        for key in [k for k in self._scopes if k not in keys]:
            self._scopes.pop(key).cancel()
        for key in [k for k in self._wd_of if k not in keys]:
            wd = self._wd_of.pop(key)
            self._wds.pop(wd, None)
            if self._inotify is not None:
                self._inotify.remove(wd)
        self.tracker.retain(keys)
        self._targets = current
        if not self.kernel_events or self._nursery is None:
            return
        for t in current.values():
            key = (t.id, t.pid)
            if self._inotify is not None:
                if key not in self._wd_of:
                    self._watch_v2(t)
            elif key not in self._scopes and not self.reader.layout.version.is_v2:
                scope = trio.CancelScope()
                self._scopes[key] = scope
                self._nursery.start_soon(self._watch_v1, t, scope)

    def observe(self, target: Target, oom_kills: int) -> None:
        """A counter value read by the sampler."""
        if self.tracker.counter((target.id, target.pid), oom_kills):
            self._fire(target)

    def check(self, target: Target) -> None:
        """Read ``target``'s counter now: the engine's last look before it deletes the cgroup.

        Catches kills in runs too short for any tick or watch to have seen them.
        """
        try:
            count = self.reader.read_oom_kills(target)
        except InvalidArgument:
            return
        if count is not None:
            self.observe(target, count)

    def _fire(self, t: Target) -> None:
        self.reported += 1
        log.info("container OOM-killed", container_id=t.id)
        try:
            self.on_oom(t.id)
        except Exception:
            log.exception("on_oom callback failed", container_id=t.id)

    # --- v1: eventfd + cgroup.event_control --------------------------------------------

    async def _watch_v1(self, t: Target, scope: trio.CancelScope) -> None:
        with scope:
            try:
                memory = container_cgroup_dirs(self.reader.layout, t.cgroups_path).get("memory")
            except InvalidArgument:
                return
            if memory is None:
                return
            control = memory / "cgroup.event_control"
            try:
                efd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
            except OSError as exc:
                log.warning("eventfd failed", container_id=t.id, error=str(exc))
                return
            ofd = -1
            try:
                ofd = os.open(memory / "memory.oom_control", os.O_RDONLY | os.O_CLOEXEC)
                cfd = os.open(control, os.O_WRONLY | os.O_CLOEXEC)
                try:
                    os.write(cfd, f"{efd} {ofd}".encode())
                finally:
                    os.close(cfd)
                await self._v1_loop(t, efd, control, memory)
            except OSError as exc:
                log.debug("OOM notification not registered", container_id=t.id, error=str(exc))
            finally:
                trio.lowlevel.notify_closing(efd)
                os.close(efd)
                if ofd >= 0:
                    os.close(ofd)

    async def _v1_loop(self, t: Target, efd: int, control: Path, memory: Path) -> None:
        while True:
            await trio.lowlevel.wait_readable(efd)
            try:
                os.eventfd_read(efd)
            except BlockingIOError:
                continue
            if not os.path.exists(control):  # noqa: ASYNC240 - a kernfs stat: no disk, never blocks
                return  # the cgroup was removed: the kernel signals that too
            text = self.reader.files.read(str(memory / "memory.oom_control"))
            count = None if text is None else oom_kills(text)
            if self.tracker.notified((t.id, t.pid), count):
                self._fire(t)

    # --- v2: inotify on memory.events ----------------------------------------------------

    def _watch_v2(self, t: Target) -> None:
        assert self._inotify is not None
        try:
            path = container_cgroup_dirs(self.reader.layout, t.cgroups_path)[UNIFIED] / "memory.events"
        except (InvalidArgument, KeyError):
            return
        wd = self._inotify.add(str(path))
        if wd is not None:
            self._wds[wd] = t
            self._wd_of[(t.id, t.pid)] = wd

    async def _inotify_loop(self, inotify: _Inotify) -> None:
        while True:
            await trio.lowlevel.wait_readable(inotify.fd)
            for wd, mask in inotify.read_events():
                t = self._wds.get(wd)
                if t is None:
                    continue
                if mask & IN_IGNORED:
                    self._wds.pop(wd, None)
                    self._wd_of.pop((t.id, t.pid), None)
                    continue
                if mask & IN_MODIFY:
                    with contextlib.suppress(InvalidArgument):
                        count = self.reader.read_oom_kills(t)
                        if count is not None:
                            self.observe(t, count)
