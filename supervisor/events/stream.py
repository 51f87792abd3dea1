"""Docker's ``GET /events`` semantics over the bus: replay, then live, until ``until``.

Theory of operation (moby ``api/server/router/system/system_routes.go``
``getEvents`` and ``daemon/events/events.go``):

* Replay happens only if ``since`` or ``until`` is given: recorded events with
  ``since ≤ time ≤ until``, filtered, oldest first. With neither, live only.
* ``until`` in the past (before the bus clock's now): replay, then the stream
  ends. ``until`` in the future: replay, then live events until the wall-clock
  ``until`` (converted once to a trio deadline) passes. No ``until``: live
  forever.
* The subscription is opened BEFORE the history is read, and live events
  whose ``seq`` was already covered by the replay are skipped, so nothing
  published in between is lost or sent twice.
* The stream's subscription uses ``SlowPolicy.DISCONNECT``: a consumer that
  falls ``buffer`` events behind is cut off, the iterator ends after what was
  buffered, and ``end_reason`` says so (the API then closes the response;
  Docker silently drops events instead, which is worse: the client cannot tell).
"""

from __future__ import annotations

import contextlib
import enum
import math
from collections import deque
from collections.abc import AsyncIterator

import trio

from supervisor.events.bus import EventBus, SlowPolicy
from supervisor.events.filters import EventFilter, parse_timestamp, validate_window
from supervisor.events.history import select_events
from supervisor.events.model import Event

__all__ = [
    "DOCKER_SUBSCRIBER_BUFFER",
    "EndReason",
    "EventStream",
    "open_event_stream",
    "parse_timestamp",
    "validate_window",
]

#: Histories longer than this are scanned in a worker thread.
REPLAY_IN_THREAD_ABOVE = 5000

#: Docker's per-subscriber buffer for /events (pkg/pubsub, 1024 entries).
DOCKER_SUBSCRIBER_BUFFER = 1024


class EndReason(enum.Enum):
    """Why an event stream ended."""

    UNTIL = "until"  # the until time passed (or was already past: replay only)
    SLOW_CONSUMER = "slow_consumer"  # the bus disconnected a consumer that fell behind
    BUS_CLOSED = "bus_closed"  # the daemon is shutting down


class EventStream:
    """An async iterator of events: the replayed backlog first, then live ones.

    Obtain it from :func:`open_event_stream`; it is only valid inside that block.
    """

    def __init__(
        self,
        bus: EventBus,
        backlog: list[Event],
        receive: trio.MemoryReceiveChannel[Event] | None,
        *,
        replayed_upto: int,
        deadline: float,
    ) -> None:
        self._bus = bus
        self._backlog = deque(backlog)
        self._receive = receive
        self._replayed_upto = replayed_upto
        self._deadline = deadline
        self.end_reason: EndReason | None = None
        self.replayed = len(backlog)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        if self._backlog:
            # Cheap: lets a cancelled request stop a long replay without
            # paying a full scheduling round per event.
            await trio.lowlevel.checkpoint_if_cancelled()
            return self._backlog.popleft()
        if self.end_reason is not None or self._receive is None:
            self.end_reason = self.end_reason or EndReason.UNTIL
            await trio.lowlevel.checkpoint()
            raise StopAsyncIteration
        while True:
            with trio.move_on_at(self._deadline):
                try:
                    event = await self._receive.receive()
                except trio.EndOfChannel:
                    self.end_reason = (
                        EndReason.BUS_CLOSED if self._bus.closed else EndReason.SLOW_CONSUMER
                    )
                    raise StopAsyncIteration from None
                if event.seq > self._replayed_upto:
                    return event
                continue
            self.end_reason = EndReason.UNTIL
            raise StopAsyncIteration


async def _replay(
    bus: EventBus, since_ns: int | None, until_ns: int | None, filter: EventFilter | None
) -> tuple[list[Event], int]:
    """Select the backlog; return it with the last seq the scan covered.

    The scan runs in a worker thread when the history is large: filtering
    100,000 events takes a good fraction of a second, too long for the trio
    thread. The snapshot is a cheap list copy taken synchronously (so its
    last seq is exact), and events are immutable, so the thread needs no lock.
    """
    await trio.lowlevel.checkpoint()
    # No checkpoint from here to the scan/snapshot: `covered` must be exact.
    history = bus.history
    covered = bus.last_seq
    if len(history) <= REPLAY_IN_THREAD_ABOVE:
        return history.replay(since_ns, until_ns, filter), covered
    snapshot = history.snapshot()
    backlog = await trio.to_thread.run_sync(select_events, snapshot, since_ns, until_ns, filter)
    return backlog, covered


@contextlib.asynccontextmanager
async def open_event_stream(
    bus: EventBus,
    filter: EventFilter | None = None,
    since_ns: int | None = None,
    until_ns: int | None = None,
    *,
    buffer: int = DOCKER_SUBSCRIBER_BUFFER,
) -> AsyncIterator[EventStream]:
    """Open Docker's /events stream: replay per since/until, then live events.

    Args:
        bus: the daemon's bus (its history serves the replay, its clock says "now").
        filter: the parsed ``filters`` parameter; None lets everything through.
        since_ns: replay events at or after this time (ns since the epoch);
            0 means from the beginning of the history.
        until_ns: stop at this time; in the past, only the replay is sent.
        buffer: live events held for a consumer before it is disconnected.

    Raises:
        InvalidArgument: ``until`` is before ``since``.
    """
    validate_window(since_ns, until_ns)
    await trio.lowlevel.checkpoint()
    replaying = since_ns is not None or until_ns is not None
    now_ns = bus.clock()
    if until_ns is not None and until_ns < now_ns:
        backlog, covered = await _replay(bus, since_ns, until_ns, filter)
        yield EventStream(bus, backlog, None, replayed_upto=covered, deadline=-math.inf)
        return
    if until_ns is None:
        deadline = math.inf
    else:
        deadline = trio.current_time() + (until_ns - now_ns) / 1e9
    with bus.subscribe(
        filter, buffer=buffer, policy=SlowPolicy.DISCONNECT, name="events stream"
    ) as receive:
        # Subscribed first: everything published from here on is in `receive`,
        # and everything up to `covered` was in the history the replay scanned.
        backlog, covered = await _replay(bus, since_ns, until_ns, filter) if replaying else ([], 0)
        yield EventStream(bus, backlog, receive, replayed_upto=covered, deadline=deadline)
