"""The stats sampler: one trio task reads every running container once per interval.

Theory of operation:

- Each tick lists the targets (a callable the daemon builds from the
  engine), makes ONE hop to a worker thread where ``TickReader.collect``
  reads and parses every file of every container, and comes back with frozen
  samples. The trio thread then only stores and fans out: the last two
  samples per container (for Docker's precpu and the instant ``stream=false``),
  a history point, the OOM counters, and one offer per subscriber.
- Ticks keep a fixed cadence (deadline += interval); a tick that overruns is
  not made up for, the next one starts one interval after the late one.
- Subscribers (API streams) each hold a one-slot mailbox: ``offer`` never
  blocks and the latest value wins (the coalescing policy), so a slow client
  can never hold the sampler up; ``coalesced`` counts what it skipped. A
  subscriber of a container that is not running gets ``None`` each tick, which
  the stats route turns into Docker's empty object.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import trio

from supervisor._logging import get_logger
from supervisor.engine.cgroups import CgroupLayout
from supervisor.stats.history import StatsHistory, point_from
from supervisor.stats.model import HistoryPoint, Sample, Target
from supervisor.stats.oom import OomWatcher
from supervisor.stats.reader import FileSource, HostFiles, TickReader

__all__ = ["Latest", "StatsSampler", "StatsSubscription", "Target"]

log = get_logger(__name__)

_NOTHING = object()


class StatsSubscription:
    """A one-slot, latest-wins mailbox of ``Sample | None`` for one container."""

    def __init__(self, container_id: str) -> None:
        self.container_id = container_id
        self._item: object = _NOTHING
        self._wake = trio.Event()
        self._closed = False
        self.coalesced = 0

    def offer(self, item: Sample | None) -> None:
        """Deliver without blocking; an undelivered older item is replaced."""
        if self._item is not _NOTHING:
            self.coalesced += 1
        self._item = item
        self._wake.set()

    def close(self) -> None:
        self._closed = True
        self._wake.set()

    async def receive(self) -> Sample | None:
        """The next tick's item.

        Raises:
            trio.EndOfChannel: the sampler stopped.
        """
        while self._item is _NOTHING:
            if self._closed:
                raise trio.EndOfChannel
            await self._wake.wait()
            self._wake = trio.Event()
        item, self._item = self._item, _NOTHING
        return item  # type: ignore[return-value]

    def __aiter__(self) -> StatsSubscription:
        return self

    async def __anext__(self) -> Sample | None:
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None


@dataclass(frozen=True, slots=True)
class Latest:
    """A running container's newest sample, the one before it in the same run, and its target."""

    target: Target
    cur: Sample
    pre: Sample | None


class StatsSampler:
    """Samples every target once per ``interval`` seconds and keeps history.

    Args:
        list_targets: returns the running containers to sample (called once per tick).
        layout: the host's cgroup layout.
        interval: seconds between ticks (Docker: 1).
        history_seconds: how much history each container's ring keeps.
        on_oom: called with a container id for each OOM kill (None: no OOM watching).
        files: where texts come from (tests pass a fake); the host by default.
    """

    def __init__(
        self,
        list_targets: Callable[[], list[Target]],
        layout: CgroupLayout,
        *,
        interval: float = 1.0,
        history_seconds: float = 900,
        on_oom: Callable[[str], None] | None = None,
        files: FileSource | None = None,
    ) -> None:
        if interval <= 0:
            msg = f"stats interval must be positive, got {interval}"
            raise ValueError(msg)
        self.list_targets = list_targets
        self.interval = interval
        self.history_seconds = history_seconds
        self.reader = TickReader(layout, files or HostFiles())
        self._blocking = getattr(self.reader.files, "blocking", True)
        self.history = StatsHistory(max(1, round(history_seconds / interval)))
        self.mem_total = 0
        self.ticks = 0
        self.errors = 0
        self._latest: dict[str, Latest] = {}
        self._subs: dict[str, set[StatsSubscription]] = {}
        self._oom = (
            OomWatcher(self.reader, on_oom, kernel_events=isinstance(self.reader.files, HostFiles))
            if on_oom is not None
            else None
        )
        self._tick_done = trio.Event()

    # --- service -------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[StatsSampler] = trio.TASK_STATUS_IGNORED) -> None:
        """Sample until cancelled; ready after the first tick."""
        if self._blocking:
            self.mem_total = await trio.to_thread.run_sync(self.reader.mem_total)
        else:
            self.mem_total = self.reader.mem_total()
        try:
            async with trio.open_nursery() as nursery:
                if self._oom is not None:
                    await nursery.start(self._oom.run)
                deadline = trio.current_time()
                await self.tick()
                task_status.started(self)  # ready: every running container has a first sample
                while True:
                    deadline += self.interval
                    now = trio.current_time()
                    if deadline < now:
                        deadline = now + self.interval
                    await trio.sleep_until(deadline)
                    await self.tick()
        finally:
            for subs in self._subs.values():
                for sub in subs:
                    sub.close()

    async def tick(self) -> None:
        """One tick: list, read in a thread, store, fan out."""
        targets = self.list_targets()
        if self._blocking:
            result = await trio.to_thread.run_sync(self.reader.collect, targets)
        else:  # in-memory files (tests): no thread, so virtual clocks stay exact
            await trio.lowlevel.checkpoint()
            result = self.reader.collect(targets)
        self.ticks += 1
        if result.errors:
            self.errors += len(result.errors)
            for cid, error in result.errors.items():
                log.debug("stats read failed", container_id=cid, error=error)
        latest: dict[str, Latest] = {}
        for t in targets:
            sample = result.samples.get(t.id)
            if sample is None:
                continue
            prev = self._latest.get(t.id)
            pre = prev.cur if prev is not None and prev.target.pid == t.pid else None
            latest[t.id] = Latest(t, sample, pre)
            self.history.record(t.id, point_from(sample, pre, self.mem_total))
            if self._oom is not None:
                self._oom.observe(t, sample.figures.oom_kills)
        self._latest = latest
        if self._oom is not None:
            self._oom.sync(targets)
        for cid, subs in self._subs.items():
            entry = latest.get(cid)
            for sub in subs:
                sub.offer(entry.cur if entry is not None else None)
        if targets and self.ticks % 60 == 0:
            now = max((s.cur.read_ns for s in latest.values()), default=0)
            if now:
                self.history.expire(now, int(self.history_seconds * 1e9))
        self._tick_done.set()
        self._tick_done = trio.Event()

    # --- readers -----------------------------------------------------------------------

    def latest(self, container_id: str) -> Latest | None:
        """The newest sample of a running container (None: not running or not sampled yet)."""
        return self._latest.get(container_id)

    def all_latest(self) -> list[Latest]:
        """Every running container's newest sample (for /metrics)."""
        return list(self._latest.values())

    def points(
        self, container_id: str, since_ns: int | None = None, until_ns: int | None = None
    ) -> list[HistoryPoint]:
        """The history ring of a container within [since_ns, until_ns]."""
        return self.history.points(container_id, since_ns, until_ns)

    @contextlib.contextmanager
    def subscribe(self, container_id: str) -> Iterator[StatsSubscription]:
        """Receive each tick's sample of ``container_id`` (None when it is not running)."""
        sub = StatsSubscription(container_id)
        self._subs.setdefault(container_id, set()).add(sub)
        try:
            yield sub
        finally:
            subs = self._subs.get(container_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[container_id]

    async def wait_pair(self, container_id: str, patience: float | None = None) -> Latest | None:
        """The latest sample with a previous one; waits for the ticks needed (at most ``patience`` seconds).

        Returns what exists when the time is up (``pre`` may be None), or None
        if the container has no sample at all.
        """
        entry = self._latest.get(container_id)
        if entry is not None and entry.pre is not None:
            return entry
        limit = 2.5 * self.interval if patience is None else patience
        with trio.move_on_after(limit):
            while entry is None or entry.pre is None:
                await self._tick_done.wait()
                entry = self._latest.get(container_id)
        return self._latest.get(container_id)

    def check_oom(self, container_id: str) -> None:
        """Look at a container's OOM counter now; call it when its init exited, before the cgroup goes.

        The container must still be among ``list_targets()`` (recorded running)
        or have been sampled; otherwise this is a no-op.
        """
        if self._oom is None:
            return
        entry = self._latest.get(container_id)
        target = entry.target if entry is not None else None
        if target is None:
            target = next((t for t in self.list_targets() if t.id == container_id), None)
        if target is not None:
            self._oom.check(target)

    def forget(self, container_id: str) -> None:
        """Drop a removed container's history."""
        self.history.forget(container_id)
