"""Spare network namespaces: made ahead of need, each with a veth pair ready to plug in.

Making a namespace and a veth pair is most of what wiring a container costs
(about 3 ms of kernel and netlink work, more under load), and it sits on the
start's critical path. The pool keeps a few made in advance, in a worker
thread while nothing waits for them. A start takes one (``take_nowait``,
never blocking), plugs its pair into the bridge and addresses it; the pool
makes the next one in the background. With the pool empty (a burst of
starts) or disabled (size 0) a start makes its own, as before.

Spares are made only while the engine is quiet: no start and no exit in
progress for a few milliseconds (``supervisor.activity``). Made during a start, a spare
would compete with it for the kernel's rtnl and mount locks and cost it more
than it saves; between starts it costs nothing on anyone's path.

A spare is a namespace bind-mounted under the exec root's ``netns`` directory
(swept at every daemon start, like the containers' own) plus a host-side
``vethXXXXXXX`` that is down and on no bridge. The pool drops its unused
spares when the daemon stops; dropping the namespace deletes the pair.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import trio

from supervisor import background
from supervisor._logging import get_logger
from supervisor.activity import Activity
from supervisor.errors import BerthError
from supervisor.network import netlink

log = get_logger(__name__)

SPARE_IFNAME = "eth0"  # the peer's name inside: a container's first interface
MAX_FAILURES = 3  # in a row, before the pool gives up
RETRY_DELAY = 1.0  # seconds between attempts after a failure
@dataclass(frozen=True, slots=True)
class Spare:
    """One ready namespace and the host side of its veth pair."""

    netns_path: str
    host_ifname: str


@dataclass(frozen=True, slots=True)
class TakenSpare:
    """A spare a container took, until its first endpoint is recorded.

    ``wired_address`` is set for the spare wired for the default bridge
    (``prewired``: plugged in and addressed already); empty, the veth pair
    still waits to be plugged in. Either way the host side is deleted if the
    container lets it go unused.
    """

    host_ifname: str
    wired_address: str = ""


def _make(directory: Path, spare: Spare) -> None:
    directory.mkdir(0o700, parents=True, exist_ok=True)
    netlink.make_spare(spare.netns_path, spare.host_ifname, SPARE_IFNAME)


def _drop(spare: Spare) -> None:
    # The pair first: the kernel would delete it with the namespace, but later, in a worker of its own.
    try:
        netlink.delete_link(spare.host_ifname)
    finally:
        netlink.delete_netns(spare.netns_path)


class SparePool:
    """Keeps up to ``size`` spares ready; ``run`` is its task (refills, drops the rest on exit).

    Args:
        directory: where the namespaces are bind-mounted.
        size: how many to keep ready (0 disables the pool).
        make, drop: the blocking kernel work; replaced in tests.
        threaded: run ``make``/``drop`` in a worker thread (False: inline, for
            in-memory fakes, so virtual time stays exact).
    """

    def __init__(
        self,
        directory: Path,
        size: int,
        *,
        make: Callable[[Path, Spare], None] = _make,
        drop: Callable[[Spare], None] = _drop,
        activity: Activity | None = None,
        threaded: bool = True,
    ) -> None:
        self.directory = directory
        self._threaded = threaded
        self.size = max(0, size)
        self._make = make
        self._drop = drop
        self.activity = activity or Activity()
        self._ready: deque[Spare] = deque()
        self._wanted = trio.Event()
        self._added = trio.Event()
        self.made = 0
        self.taken = 0

    def __len__(self) -> int:
        return len(self._ready)

    def take_nowait(self) -> Spare | None:
        """A ready spare, now (None when the pool is empty); the pool starts making the next."""
        if not self._ready:
            return None
        spare = self._ready.popleft()
        self.taken += 1
        self._wanted.set()
        return spare

    async def wait_ready(self) -> None:
        """Return once a spare is ready (never, with the pool disabled)."""
        while not self._ready:
            await self._added.wait()

    def new_spare(self) -> Spare:
        token = secrets.token_hex(8)
        return Spare(str(self.directory / f"spare-{token}"), "veth" + token[:7])

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Fill the pool, refill it after takes (in quiet moments); drop the unused spares when cancelled.

        A spare that cannot be made is tried again a second later; after
        ``MAX_FAILURES`` failures in a row (no permission for namespaces, say)
        the pool is disabled with a warning, and starts make their own.
        """
        task_status.started()
        failures = 0
        try:
            while self.size:
                while len(self._ready) < self.size:
                    await self.activity.wait_quiet()
                    spare = self.new_spare()
                    try:
                        # Not cancellable once started: the spare is recorded the moment
                        # it exists, so the finally below always drops it.
                        if self._threaded:
                            await background.run_sync(self._make, self.directory, spare)
                        else:
                            self._make(self.directory, spare)
                            await trio.lowlevel.checkpoint()
                    except BerthError as exc:
                        failures += 1
                        if failures >= MAX_FAILURES:
                            log.warning("spare network namespaces disabled", error=exc.message)
                            self.size = 0
                            break
                        log.warning("spare network namespace not made, trying again", error=exc.message)
                        await trio.sleep(RETRY_DELAY)
                        continue
                    failures = 0
                    self._ready.append(spare)
                    self.made += 1
                    self._added.set()
                    self._added = trio.Event()
                await self._wanted.wait()
                self._wanted = trio.Event()
            await trio.sleep_forever()
        finally:
            spares, self._ready = list(self._ready), deque()
            if spares:
                if self._threaded:
                    with trio.CancelScope(shield=True):
                        await trio.to_thread.run_sync(self._drop_all, spares)
                else:
                    self._drop_all(spares)

    def discard(self, spare: Spare) -> None:
        """Drop a spare taken from the pool and not used (blocking: a worker thread)."""
        self._drop_all([spare])

    def _drop_all(self, spares: list[Spare]) -> None:
        for spare in spares:
            try:
                self._drop(spare)
            except (OSError, BerthError) as exc:
                error = exc.message if isinstance(exc, BerthError) else str(exc)
                log.warning("spare network namespace not dropped", path=spare.netns_path, error=error)
