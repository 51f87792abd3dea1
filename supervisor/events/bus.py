"""The event bus: synchronous publish, bounded subscriptions, a history for replay.

Rules:

1. ``publish`` is synchronous and never blocks or awaits: the engine calls it
   from inside state changes. It stamps ``seq`` and ``time_nano``, records the
   event in the history, then ``send_nowait``s it to every matching
   subscriber. ``MemorySendChannel.close()`` is synchronous too, so even the
   slow-subscriber policy runs without a checkpoint.
2. Every subscription has a bounded buffer. There is deliberately no policy
   that blocks the publisher (supervisord's inline ``notify`` is the warning):
   * ``DISCONNECT`` (API streams): when the buffer is full the send side is
     closed; the consumer drains what was buffered, sees ``EndOfChannel`` and
     ends its response. The client must re-sync.
   * ``DROP`` (internal consumers that must keep their subscription): the
     event is dropped and an error is logged. Give such consumers a large
     buffer so it never happens; the log says which subscription overflowed.
3. ``subscribe`` is a ``with`` block, so the subscription is removed on exit,
   even under cancellation (like ``trio.open_signal_receiver``).
4. The bus is for watching, never for control: nothing may depend on an event
   being delivered to drive a restart.
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import trio

from supervisor._logging import get_logger
from supervisor.events.filters import EventFilter
from supervisor.events.history import EventHistory
from supervisor.events.model import Event, EventType

__all__ = ["DOCKER_HISTORY_SIZE", "BusStatistics", "EventBus", "SlowPolicy"]

_log = get_logger("supervisor.events.bus")

#: The history a bus keeps when none is given: Docker's in-memory ring size.
DOCKER_HISTORY_SIZE = 256


class SlowPolicy(enum.Enum):
    """What publish does when a subscriber's buffer is full."""

    DISCONNECT = "disconnect"
    DROP = "drop"


@dataclass(frozen=True, slots=True)
class BusStatistics:
    """Counters for /debug/bus and tests.

    ``dropped`` counts events a subscriber did not get (one per overflow,
    whatever the policy); ``disconnects`` counts subscriptions closed for
    being slow; ``subscribers`` is the current number of subscriptions.
    """

    published: int
    dropped: int
    disconnects: int
    subscribers: int
    last_seq: int


@dataclass(slots=True)
class _Subscription:
    key: int
    name: str
    send: trio.MemorySendChannel[Event]
    filter: EventFilter | None
    policy: SlowPolicy
    buffer: int
    dropped: int = 0


class EventBus:
    """Publish events to bounded subscriptions and record them in a history.

    Args:
        history: where events are recorded for replay; load it before creating
            the bus so ``seq`` continues after the last stored event. None
            gives a memory-only history of Docker's 256 events.
        clock: wall-clock nanoseconds since the epoch (injectable for tests).
    """

    def __init__(
        self,
        history: EventHistory | None = None,
        *,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.history = (
            history if history is not None else EventHistory(None, capacity=DOCKER_HISTORY_SIZE)
        )
        self.clock = clock
        self._seq = self.history.last_seq
        self._subscriptions: dict[int, _Subscription] = {}
        self._keys = itertools.count()
        self._published = 0
        self._dropped = 0
        self._disconnects = 0
        self._closed = False

    @property
    def closed(self) -> bool:
        """True after :meth:`close` (daemon shutdown)."""
        return self._closed

    @property
    def last_seq(self) -> int:
        """The seq of the most recently published event (0 before the first)."""
        return self._seq

    def publish(
        self,
        type: EventType,
        action: str,
        actor_id: str,
        attributes: Mapping[str, str] | None = None,
    ) -> Event:
        """Stamp, record and fan out one event; return it. Never blocks, never awaits."""
        # max(): a history loaded after the bus was built still moves seq forward.
        self._seq = max(self._seq, self.history.last_seq) + 1
        event = Event(
            type=type,
            action=action,
            actor_id=actor_id,
            attributes=attributes or {},
            time_nano=self.clock(),
            seq=self._seq,
        )
        self._published += 1
        self.history.record(event)
        for subscription in list(self._subscriptions.values()):
            if subscription.filter is not None and not subscription.filter.matches(event):
                continue
            try:
                subscription.send.send_nowait(event)
            except trio.WouldBlock:
                self._overflow(subscription, event)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                # The consumer closed its receive side without leaving the with block.
                self._subscriptions.pop(subscription.key, None)
        return event

    def _overflow(self, subscription: _Subscription, event: Event) -> None:
        self._dropped += 1
        subscription.dropped += 1
        if subscription.policy is SlowPolicy.DISCONNECT:
            self._disconnects += 1
            self._subscriptions.pop(subscription.key, None)
            subscription.send.close()
            _log.warning(
                "event subscriber too slow, disconnected",
                subscription=subscription.name,
                buffer=subscription.buffer,
                seq=event.seq,
            )
        else:
            _log.error(
                "event subscriber buffer overflowed, event lost",
                subscription=subscription.name,
                buffer=subscription.buffer,
                seq=event.seq,
                type=event.type.value,
                action=event.action,
                dropped_total=subscription.dropped,
            )

    @contextlib.contextmanager
    def subscribe(
        self,
        filter: EventFilter | None = None,
        *,
        buffer: int = 256,
        policy: SlowPolicy = SlowPolicy.DISCONNECT,
        name: str = "",
    ) -> Iterator[trio.MemoryReceiveChannel[Event]]:
        """Receive every event published while the block runs and matching ``filter``.

        Args:
            filter: None receives everything.
            buffer: events held for a consumer that is behind (at least 1).
            policy: what happens when the buffer is full (see SlowPolicy).
            name: shown in logs when the subscription overflows.

        Yields:
            The receive side. After a DISCONNECT (or ``close()``), it yields
            what was buffered, then raises ``trio.EndOfChannel``.
        """
        if buffer < 1:
            msg = f"subscription buffer must be at least 1, got {buffer}"
            raise ValueError(msg)
        send, receive = trio.open_memory_channel[Event](buffer)
        key = next(self._keys)
        subscription = _Subscription(
            key, name or f"subscription-{key}", send, filter, policy, buffer
        )
        if self._closed:
            send.close()
        else:
            self._subscriptions[key] = subscription
        try:
            with receive:
                yield receive
        finally:
            self._subscriptions.pop(key, None)
            send.close()

    def close(self) -> None:
        """End every subscription (daemon shutdown); later subscriptions end at once."""
        self._closed = True
        for subscription in list(self._subscriptions.values()):
            subscription.send.close()
        self._subscriptions.clear()

    def statistics(self) -> BusStatistics:
        """Return the bus counters."""
        return BusStatistics(
            published=self._published,
            dropped=self._dropped,
            disconnects=self._disconnects,
            subscribers=len(self._subscriptions),
            last_seq=self._seq,
        )
