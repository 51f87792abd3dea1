"""What a ``GET /events`` client selects: filters and the since/until window (pure).

Theory of operation (moby ``daemon/events/filter.go`` and
``api/types/filters/parse.go``, 28.2.2):

* Values under the same key are OR-ed; different keys are AND-ed.
* ``label`` is the exception: every ``label`` value must match (AND), checked
  against ``Actor.Attributes``: ``k`` means "present", ``k=v`` means "equal".
* ``container``, ``daemon``, ``network``, ``volume``, ``plugin``, ``service``,
  ``node``, ``secret``, ``config``: an exact match, else a prefix match, on
  the actor ID or on the ``name`` attribute. Like Docker, the check is made
  against every event whatever its type, so ``container=web`` also drops
  network events whose actor does not start with ``web``.
* ``event``: exact match on the action, except that if any value is
  ``health_status``, ``exec_create`` or ``exec_start`` every value becomes a
  prefix match (moby#25798: those actions carry ``: <detail>``).
* ``image``: exact match on the actor ID, on the ``image`` attribute
  (``name`` for image events), or on either with its tag/digest stripped and
  its name shortened to the familiar form (``docker.io/library/busybox:1`` →
  ``busybox``).
* ``type`` and ``scope``: exact.

A key given with no values (``{"type": {}}``) filters nothing, as in Docker.
In the map form, values mapped to ``false`` are ignored (Docker treats them
inconsistently: exact matches skip them, prefix matches do not).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from supervisor.errors import InvalidArgument
from supervisor.events.model import Event, EventType

__all__ = [
    "ACCEPTED_KEYS",
    "EventFilter",
    "familiar_name",
    "format_timestamp",
    "parse_filters",
    "parse_timestamp",
    "validate_window",
]

#: The filter keys Docker's /events accepts (docker/cli docs system_events.md).
ACCEPTED_KEYS = frozenset(
    {
        "config",
        "container",
        "daemon",
        "event",
        "image",
        "label",
        "network",
        "node",
        "plugin",
        "scope",
        "secret",
        "service",
        "type",
        "volume",
    }
)

# Keys matched exactly-then-by-prefix against the actor ID or its name attribute.
_NAME_KEYS = (
    "daemon",
    "container",
    "plugin",
    "volume",
    "network",
    "node",
    "service",
    "secret",
    "config",
)

_FUZZY_EVENT_VALUES = frozenset({"health_status", "exec_create", "exec_start"})

_INT64_LIMIT = 2**63


def parse_filters(raw: str | None) -> dict[str, list[str]]:
    """Parse the ``filters`` query parameter into ``{key: [values]}``.

    Accepts Docker's map form ``{"type": {"container": true}}`` and the legacy
    list form ``{"type": ["container"]}`` (docker 1.12 clients); ``None`` or
    ``""`` means no filters. Keys are not checked here (see EventFilter).

    Raises:
        InvalidArgument: not JSON, or not an object of maps/lists of strings.
    """
    if raw is None or raw == "":
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        msg = f"invalid filter: filters is not valid JSON: {raw!r}"
        raise InvalidArgument(msg) from exc
    if not isinstance(data, dict):
        msg = f'invalid filter: filters must be a JSON object like {{"type":{{"container":true}}}}, got {raw!r}'
        raise InvalidArgument(msg)
    out: dict[str, list[str]] = {}
    for key, value in data.items():
        out[key] = _parse_values(key, value)
    return out


def _parse_values(key: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict):
        values: list[str] = []
        for item, enabled in value.items():
            if not isinstance(enabled, bool):
                msg = f"invalid filter '{key}': value {item!r} must map to true or false, not {enabled!r}"
                raise InvalidArgument(msg)
            if enabled:
                values.append(item)
        return values
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, str):
                msg = f"invalid filter '{key}': values must be strings, not {item!r}"
                raise InvalidArgument(msg)
        return list(dict.fromkeys(value))
    msg = f"invalid filter '{key}': expected a map of values to true or a list of strings, got {value!r}"
    raise InvalidArgument(msg)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """A validated set of /events filters; :meth:`matches` decides one event.

    Build it with ``EventFilter.from_dict(parse_filters(raw))`` or
    ``EventFilter.from_query(raw)``.
    """

    criteria: Mapping[str, frozenset[str]] = field(default_factory=dict, hash=False)

    @classmethod
    def from_dict(
        cls, filters: Mapping[str, list[str] | tuple[str, ...] | frozenset[str]]
    ) -> EventFilter:
        """Validate the keys and build the filter.

        Raises:
            InvalidArgument: ``invalid filter 'x'`` for a key /events does not know.
        """
        for key in filters:
            if key not in ACCEPTED_KEYS:
                msg = f"invalid filter '{key}'"
                raise InvalidArgument(msg)
        return cls({key: frozenset(values) for key, values in filters.items()})

    @classmethod
    def from_query(cls, raw: str | None) -> EventFilter:
        """Parse and validate the raw ``filters`` query parameter."""
        return cls.from_dict(parse_filters(raw))

    def matches(self, event: Event) -> bool:
        """Return True if ``event`` passes every filter key."""
        criteria = self.criteria
        if not criteria:
            return True
        return (
            self._match_event(event.action)
            and self._exact("type", event.type.value)
            and self._exact("scope", event.scope)
            and all(self._match_name(key, event) for key in _NAME_KEYS if key in criteria)
            and self._match_image(event)
            and self._match_labels(event.attributes)
        )

    def _values(self, key: str) -> frozenset[str]:
        return self.criteria.get(key, frozenset())

    def _exact(self, key: str, source: str) -> bool:
        values = self._values(key)
        return not values or source in values

    def _fuzzy(self, key: str, source: str) -> bool:
        values = self._values(key)
        if not values or source in values:
            return True
        return any(source.startswith(prefix) for prefix in values)

    def _match_event(self, action: str) -> bool:
        if self._values("event") & _FUZZY_EVENT_VALUES:
            return self._fuzzy("event", action)
        return self._exact("event", action)

    def _match_name(self, key: str, event: Event) -> bool:
        return self._fuzzy(key, event.actor_id) or self._fuzzy(
            key, event.attributes.get("name", "")
        )

    def _match_image(self, event: Event) -> bool:
        values = self._values("image")
        if not values:
            return True
        name_attr = "name" if event.type is EventType.IMAGE else "image"
        image_name = event.attributes.get(name_attr, "")
        candidates = (
            event.actor_id,
            image_name,
            familiar_name(event.actor_id),
            familiar_name(image_name),
        )
        return any(candidate in values for candidate in candidates)

    def _match_labels(self, attributes: Mapping[str, str]) -> bool:
        values = self._values("label")
        if not values:
            return True
        if not attributes:
            return False
        for value in values:
            key, sep, want = value.partition("=")
            if key not in attributes:
                return False
            if sep and attributes[key] != want:
                return False
        return True


# A pragmatic subset of distribution/reference's grammar: enough to decide
# whether a string is a valid reference and to compute its familiar name.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_REFERENCE_RE = re.compile(
    rf"^(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$"
)
_HEX64_RE = re.compile(r"^[a-f0-9]{64}$")


def familiar_name(image: str) -> str:
    """Return ``image`` without tag or digest, in Docker's short familiar form.

    ``docker.io/library/busybox:1.36`` → ``busybox``; ``localhost:5000/a/b:x``
    → ``localhost:5000/a/b``. Strings that are not valid references come back
    unchanged (moby's ``stripTag``).
    """
    if not image or _HEX64_RE.match(image):
        return image
    # A first component is a domain only if it looks like one (moby splitDockerDomain).
    first, slash, _ = image.partition("/")
    has_domain = bool(slash) and (
        "." in first or ":" in first or first == "localhost" or first.lower() != first
    )
    candidate = image if has_domain else f"docker.io/{image}"
    match = _REFERENCE_RE.match(candidate)
    if match is None or match.group("domain") is None:
        return image
    domain = match.group("domain")
    path = match.group("path")
    if len(domain) + 1 + len(path) > 255:
        return image
    if domain == "index.docker.io":
        domain = "docker.io"
    if domain != "docker.io":
        return f"{domain}/{path}"
    if path.startswith("library/") and path.count("/") == 1:
        return path.removeprefix("library/")
    return path


def parse_timestamp(value: str | None) -> int | None:
    """Parse a wire timestamp ``sec[.nanos]`` into nanoseconds since the epoch.

    ``None`` or ``""`` means "not given" and returns None. ``"0"`` is a real
    timestamp (the epoch): for /events, ``since=0`` replays from the very
    beginning, which is what ``docker-py``'s ``events(since=0)`` asks for.
    The fraction is right-padded to 9 digits (``1.5`` = 1.5 s) and digits past
    the ninth are truncated. Like Go's ``strconv.ParseInt``, the seconds may
    carry a sign; the fraction may not.

    Raises:
        InvalidArgument: anything else.
    """
    if value is None or value == "":
        return None
    seconds, dot, fraction = value.partition(".")
    if not re.fullmatch(r"[+-]?[0-9]+", seconds) or (dot and not re.fullmatch(r"[0-9]+", fraction)):
        msg = f"invalid timestamp {value!r}: expected unix seconds with an optional .fraction, like 1700000000.5"
        raise InvalidArgument(msg)
    sec = int(seconds)
    if not -_INT64_LIMIT <= sec < _INT64_LIMIT:
        msg = f"invalid timestamp {value!r}: seconds out of range"
        raise InvalidArgument(msg)
    nanos = int(fraction[:9].ljust(9, "0")) if dot else 0
    # Go adds the fraction to the seconds even when they are negative: "-1.5" is -0.5 s.
    return sec * 1_000_000_000 + nanos


def format_timestamp(ns: int) -> str:
    """Return ``ns`` in the wire form ``sec.nanos`` (for messages and the CLI)."""
    sec, nanos = divmod(ns, 1_000_000_000)
    return f"{sec}.{nanos:09d}"


def validate_window(since_ns: int | None, until_ns: int | None) -> None:
    """Check a since/until pair the way Docker does.

    Raises:
        InvalidArgument: both are given and ``until`` is before ``since``
            (Docker's message, 400).
    """
    if since_ns is not None and until_ns is not None and until_ns < since_ns:
        msg = (
            f"`since` time ({format_timestamp(since_ns)}) cannot be after "
            f"`until` time ({format_timestamp(until_ns)})"
        )
        raise InvalidArgument(msg)
