"""Typed events and their two JSON forms (pure: no trio, no I/O, no clock).

An :class:`Event` records something that already happened. The bus stamps its
``seq`` (monotonic, unique per daemon data root) and ``time_nano`` (wall clock,
for humans and for ``since``/``until``); everything else comes from the
publisher.

Two codecs live here:

* :func:`to_docker` / :func:`from_docker`: Docker's ``events.Message`` as the
  API sends it (moby 28.2.2, API 1.50), including the deprecated
  ``status``/``id``/``from`` fields that docker-compose 1.29 still reads.
  Docker's JSON carries no ``seq``, so :func:`from_docker` takes it as an
  argument.
* :func:`to_record` / :func:`from_record`: our own compact persisted form (one
  JSON object per line in the history segments). ``from_record(to_record(e)) == e``
  for every event; anything else raises :class:`~supervisor.errors.InvalidArgument`.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from supervisor.errors import InvalidArgument

__all__ = [
    "Event",
    "EventType",
    "from_docker",
    "from_record",
    "to_docker",
    "to_record",
]

_NS_PER_S = 1_000_000_000


class EventType(enum.Enum):
    """The object an event is about (Docker's ``Type``)."""

    CONTAINER = "container"
    IMAGE = "image"
    VOLUME = "volume"
    NETWORK = "network"
    DAEMON = "daemon"
    PLUGIN = "plugin"
    SERVICE = "service"
    NODE = "node"
    SECRET = "secret"
    CONFIG = "config"
    BUILDER = "builder"


def parse_event_type(value: object) -> EventType:
    """Return the EventType named by ``value``.

    Raises:
        InvalidArgument: ``value`` is not one of Docker's event types.
    """
    try:
        return EventType(value)
    except ValueError as exc:
        known = ", ".join(t.value for t in EventType)
        msg = f"invalid event type {value!r}: must be one of {known}"
        raise InvalidArgument(msg) from exc


@dataclass(frozen=True, slots=True)
class Event:
    """One fact published on the bus.

    ``attributes`` is copied into a read-only mapping at construction so an
    event can be shared by every subscriber without anyone mutating it. It is
    left out of ``hash()`` (mappings are unhashable) but takes part in ``==``.
    """

    type: EventType
    action: str
    actor_id: str
    attributes: Mapping[str, str] = field(hash=False)
    time_nano: int
    seq: int
    scope: str = "local"

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", types.MappingProxyType(dict(self.attributes)))

    @property
    def time(self) -> int:
        """Whole seconds since the epoch, as Docker's ``time`` field (Go's ``Unix()``)."""
        return self.time_nano // _NS_PER_S


def to_docker(event: Event) -> dict[str, Any]:
    """Return Docker's JSON object for ``event`` (moby 28.2.2 ``events.Message``).

    Key order and the ``omitempty`` rules follow Go's encoder: ``status``,
    ``id``, ``from`` (only for container and image events, and only when
    non-empty), ``Type``, ``Action``, ``Actor``, then ``scope``, ``time``,
    ``timeNano`` when non-empty/non-zero.
    """
    out: dict[str, Any] = {}
    if event.type in (EventType.CONTAINER, EventType.IMAGE):
        if event.action:
            out["status"] = event.action
        if event.actor_id:
            out["id"] = event.actor_id
        if event.type is EventType.CONTAINER and event.attributes.get("image"):
            out["from"] = event.attributes["image"]
    out["Type"] = event.type.value
    out["Action"] = event.action
    out["Actor"] = {"ID": event.actor_id, "Attributes": dict(event.attributes)}
    if event.scope:
        out["scope"] = event.scope
    if event.time:
        out["time"] = event.time
    if event.time_nano:
        out["timeNano"] = event.time_nano
    return out


def from_docker(obj: object, *, seq: int = 0) -> Event:
    """Parse Docker's JSON event object (as produced by :func:`to_docker`).

    Only the modern fields are read; the deprecated ``status``/``id``/``from``
    are derived data. ``timeNano`` wins over ``time`` when both are present.

    Raises:
        InvalidArgument: the object does not have Docker's shape.
    """
    data = _require_object(obj, "event")
    actor = _require_object(data.get("Actor", {}), "event Actor")
    attributes = _require_str_map(actor.get("Attributes") or {}, "event Actor.Attributes")
    time_nano = data.get("timeNano")
    if time_nano is None:
        time_nano = _require_int(data.get("time", 0), "event time") * _NS_PER_S
    return Event(
        type=parse_event_type(data.get("Type")),
        action=_require_str(data.get("Action", ""), "event Action"),
        actor_id=_require_str(actor.get("ID", ""), "event Actor.ID"),
        attributes=attributes,
        time_nano=_require_int(time_nano, "event timeNano"),
        seq=seq,
        scope=_require_str(data.get("scope", ""), "event scope"),
    )


def to_record(event: Event) -> dict[str, Any]:
    """Return the persisted form of ``event`` (short keys: it is stored 100,000 times)."""
    return {
        "seq": event.seq,
        "t": event.time_nano,
        "type": event.type.value,
        "action": event.action,
        "id": event.actor_id,
        "attrs": dict(event.attributes),
        "scope": event.scope,
    }


def from_record(obj: object) -> Event:
    """Rebuild an Event from :func:`to_record`'s form.

    Raises:
        InvalidArgument: a key is missing or has the wrong type.
    """
    data = _require_object(obj, "event record")
    try:
        return Event(
            type=parse_event_type(data["type"]),
            action=_require_str(data["action"], "record action"),
            actor_id=_require_str(data["id"], "record id"),
            attributes=_require_str_map(data["attrs"], "record attrs"),
            time_nano=_require_int(data["t"], "record t"),
            seq=_require_int(data["seq"], "record seq"),
            scope=_require_str(data["scope"], "record scope"),
        )
    except KeyError as exc:
        msg = f"event record is missing key {exc.args[0]!r}"
        raise InvalidArgument(msg) from exc


def _require_object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        msg = f"{what} must be a JSON object, not {type(value).__name__}"
        raise InvalidArgument(msg)
    return value


def _require_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        msg = f"{what} must be a string, not {type(value).__name__}"
        raise InvalidArgument(msg)
    return value


def _require_int(value: object, what: str) -> int:
    # bool is an int subclass; a JSON true is never a timestamp or a seq.
    if not isinstance(value, int) or isinstance(value, bool):
        msg = f"{what} must be an integer, not {type(value).__name__}"
        raise InvalidArgument(msg)
    return value


def _require_str_map(value: object, what: str) -> dict[str, str]:
    data = _require_object(value, what)
    for key, item in data.items():
        if not isinstance(item, str):
            msg = f"{what}[{key!r}] must be a string, not {type(item).__name__}"
            raise InvalidArgument(msg)
    return data
