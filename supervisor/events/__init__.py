"""The event bus: typed events, Docker's filters, subscriptions, a persisted history, replay.

Layers (imports only go downwards):

* ``model``   — the frozen :class:`Event`, :class:`EventType`, Docker's JSON form
  and our persisted form. Pure.
* ``filters`` — the ``filters``/``since``/``until`` query parameters and Docker's
  matching rules. Pure.
* ``history`` — the ring of recent events, persisted as JSON-lines segments
  with a batching writer task (trio).
* ``bus``     — synchronous ``publish``, bounded ``subscribe`` blocks (trio).
* ``stream``  — Docker's ``GET /events`` semantics: replay, then live (trio).

The daemon wires it as::

    history = EventHistory(data_root / "events")
    await trio.to_thread.run_sync(history.load)
    bus = EventBus(history)
    await nursery.start(history.run_writer)

The pure names are imported eagerly; the trio ones lazily, so that
``supervisor.events.model`` and ``.filters`` stay importable without trio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from supervisor.events.filters import EventFilter, parse_filters, parse_timestamp
from supervisor.events.model import Event, EventType, from_docker, to_docker

if TYPE_CHECKING:
    from supervisor.events.bus import BusStatistics, EventBus, SlowPolicy
    from supervisor.events.history import EventHistory
    from supervisor.events.stream import EndReason, EventStream, open_event_stream

__all__ = [
    "BusStatistics",
    "EndReason",
    "Event",
    "EventBus",
    "EventFilter",
    "EventHistory",
    "EventStream",
    "EventType",
    "SlowPolicy",
    "from_docker",
    "open_event_stream",
    "parse_filters",
    "parse_timestamp",
    "to_docker",
]

_LAZY = {
    "BusStatistics": "supervisor.events.bus",
    "EventBus": "supervisor.events.bus",
    "SlowPolicy": "supervisor.events.bus",
    "EventHistory": "supervisor.events.history",
    "EndReason": "supervisor.events.stream",
    "EventStream": "supervisor.events.stream",
    "open_event_stream": "supervisor.events.stream",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module), name)
