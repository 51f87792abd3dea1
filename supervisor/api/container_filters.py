"""``GET /containers/json`` filters and selection, as moby's ``daemon/list.go``.

Matching rules copied from moby (``filters.Args`` + ``includeContainerInList``):

* values of one key are OR'ed, keys are AND'ed — except ``label``, whose
  values are all required (``MatchKVList``);
* ``name`` is an exact match or an unanchored regular-expression search, tried
  on the name with and without its leading ``/``; an invalid pattern matches
  only exactly;
* ``id`` is an id prefix; ``status`` and ``health`` are exact; ``exited`` only
  matches containers that ran and stopped;
* ``before``/``since`` name a container (id, name or prefix): only older /
  newer containers match;
* ``ancestor`` is an image reference resolved to an id by the caller; a
  reference that resolves to nothing makes the filter match nothing.

``select`` then applies moby's listing order and limits: newest first, only
running containers unless ``all`` (a ``status`` filter or a positive ``limit``
implies all), at most ``limit`` results when ``limit`` > 0.

Pure: lookups of images and containers are callables passed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from supervisor.engine.model import ContainerRecord, Status
from supervisor.errors import InvalidArgument, NotFound

ACCEPTED_KEYS = frozenset(
    {
        "ancestor", "before", "exited", "id", "isolation", "label", "name", "status",
        "health", "since", "volume", "network", "is-task", "publish", "expose",
    }
)  # fmt: skip
HEALTH_VALUES = frozenset({"starting", "healthy", "unhealthy", "none"})
_STATUS_VALUES = frozenset(s.value for s in Status)


def normalize_filters(raw: Any) -> dict[str, list[str]]:
    """Accept both wire forms: ``{"k": ["v"]}`` (docker-py) and ``{"k": {"v": true}}`` (CLI)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        msg = "invalid filter: filters must be a JSON object"
        raise InvalidArgument(msg)
    out: dict[str, list[str]] = {}
    for key, values in raw.items():
        if isinstance(values, Mapping):
            items = list(values)
        elif isinstance(values, (list, tuple)):
            items = list(values)
        elif isinstance(values, str):
            items = [values]
        else:
            msg = f"invalid filter '{key}': values must be a list of strings"
            raise InvalidArgument(msg)
        if not all(isinstance(v, str) for v in items):
            msg = f"invalid filter '{key}': values must be strings"
            raise InvalidArgument(msg)
        out[str(key)] = items
    return out


def _compile(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _regex_match(patterns: Sequence[tuple[str, re.Pattern[str] | None]], value: str) -> bool:
    """moby ``Args.Match``: exact, else a regular-expression search."""
    return any(raw == value or (rx is not None and rx.search(value)) for raw, rx in patterns)


def _port_set(values: Iterable[str], key: str) -> frozenset[str]:
    """``publish``/``expose`` values: ``80``, ``80/udp`` or ``8000-8010/tcp``."""
    out = set()
    for value in values:
        if ":" in value:
            msg = f"filter for '{key}' should not contain ':': {value}"
            raise InvalidArgument(msg)
        port, _, proto = value.partition("/")
        low, dash, high = port.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            msg = f"error while looking up for {key} {value}: invalid port"
            raise InvalidArgument(msg)
        for number in range(int(low), int(high if dash else low) + 1):
            out.add(f"{number}/{proto.lower() or 'tcp'}")
    return frozenset(out)


@dataclass(frozen=True)
class ListFilter:
    """A parsed ``filters`` parameter; an empty ListFilter matches everything."""

    ids: tuple[str, ...] = ()
    names: tuple[tuple[str, re.Pattern[str] | None], ...] = ()
    labels: tuple[tuple[str, str | None], ...] = ()
    statuses: frozenset[str] = frozenset()
    exited: frozenset[int] = frozenset()
    health: frozenset[str] = frozenset()
    ancestors: frozenset[str] | None = None
    before: tuple[int, str] | None = None
    since: tuple[int, str] | None = None
    volumes: frozenset[str] = frozenset()
    networks: frozenset[str] = frozenset()
    publish: frozenset[str] | None = None
    expose: frozenset[str] | None = None
    is_task: bool | None = None
    isolation: tuple[str, ...] = ()
    raw: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # references not resolved yet (parse_list_filters without lookups); see bind()
    ancestor_refs: tuple[str, ...] | None = None
    before_ref: str | None = None
    since_ref: str | None = None

    @property
    def bound(self) -> bool:
        """True once every image/container reference has been resolved."""
        return self.ancestor_refs is None and self.before_ref is None and self.since_ref is None

    def bind(
        self,
        *,
        lookup: Callable[[str], ContainerRecord | None] | None = None,
        resolve_image: Callable[[str], str | None] | None = None,
    ) -> ListFilter:
        """Resolve the ``ancestor``/``before``/``since`` references.

        Args:
            lookup: id / name / prefix → container; None or NotFound if unknown.
            resolve_image: image reference → image id, None (or NotFound) if unknown.

        Raises:
            NotFound: a ``before``/``since`` container that does not exist.
        """
        if self.bound:
            return self
        ancestors = self.ancestors
        if self.ancestor_refs is not None:
            ancestors = frozenset(
                i for i in (_resolve(resolve_image, r) for r in self.ancestor_refs) if i
            )
        return replace(
            self,
            ancestors=ancestors,
            before=_anchor(lookup, self.before_ref) if self.before_ref else self.before,
            since=_anchor(lookup, self.since_ref) if self.since_ref else self.since,
            ancestor_refs=None,
            before_ref=None,
            since_ref=None,
        )

    @property
    def implies_all(self) -> bool:
        """moby: a status filter lists stopped containers too."""
        return bool(self.statuses)

    def matches(self, record: ContainerRecord, *, health: str | None = None) -> bool:
        """Whether ``record`` passes every filter.

        Args:
            health: the container's health status; None or "none" when it has no check.
        """
        if not self.bound:
            msg = "ListFilter.matches needs bind() first to resolve ancestor/before/since"
            raise RuntimeError(msg)
        spec, state = record.spec, record.state
        checks = (
            not self.ids or any(record.id.startswith(i) for i in self.ids),
            not self.names
            or _regex_match(self.names, f"/{record.name}")
            or _regex_match(self.names, record.name),
            all(k in spec.labels and (v is None or spec.labels[k] == v) for k, v in self.labels),
            not self.statuses or state.status.value in self.statuses,
            not self.exited
            or (not state.running and state.started_at != 0 and state.exit_code in self.exited),
            not self.health or (health or "none") in self.health,
            self.ancestors is None or spec.image_id in self.ancestors,
            self.before is None or (record.created, record.id) < self.before,
            self.since is None or (record.created, record.id) > self.since,
            not self.volumes or bool(self.volumes & _volume_keys(record)),
            not self.networks or spec.network_mode in self.networks,
            self.publish is None or bool(self.publish & set(spec.port_bindings)),
            self.expose is None
            or bool(self.expose & (set(spec.exposed_ports) | set(spec.port_bindings))),
            self.is_task is None or self.is_task is False,
            not self.isolation or "" in self.isolation,
        )
        return all(checks)


def _resolve(resolve_image: Callable[[str], str | None] | None, ref: str) -> str | None:
    """An image id, or None: moby only logs a warning for an unknown ancestor."""
    if resolve_image is None:
        return None
    try:
        return resolve_image(ref)
    except NotFound:
        return None


def _anchor(lookup: Callable[[str], ContainerRecord | None] | None, ref: str) -> tuple[int, str]:
    record = lookup(ref) if lookup is not None else None
    if record is None:
        msg = f"No such container: {ref}"
        raise NotFound(msg)
    return (record.created, record.id)


def _volume_keys(record: ContainerRecord) -> set[str]:
    """Names/sources and destinations of the container's binds and volumes."""
    keys = set(record.spec.volumes)
    for bind in record.spec.binds:
        parts = bind.split(":")
        keys.update(parts[:2])
    return keys


def parse_list_filters(
    filters: Mapping[str, Any],
    *,
    resolve_image: Callable[[str], str | None] | None = None,
    lookup_container: Callable[[str], ContainerRecord | None] | None = None,
) -> ListFilter:
    """Validate and compile a container-list ``filters`` parameter.

    Args:
        filters: either wire form (see ``normalize_filters``).
        resolve_image: image reference → image id, or None if unknown.
        lookup_container: id / name / prefix → container, or None if unknown.
            Without these two, the references stay unresolved until
            ``ListFilter.bind`` (``select`` binds with its own lookups).

    Raises:
        InvalidArgument: unknown key or invalid value (moby's messages).
        NotFound: a ``before``/``since`` container that does not exist.
    """
    args = normalize_filters(filters)
    for key in args:
        if key not in ACCEPTED_KEYS:
            msg = f"invalid filter '{key}'"
            raise InvalidArgument(msg)

    def get(key: str) -> list[str]:
        return args.get(key, [])

    exited = set()
    for value in get("exited"):
        try:
            exited.add(int(value))
        except ValueError as exc:
            msg = f"invalid filter 'exited={value}'"
            raise InvalidArgument(msg) from exc
    for value in get("status"):
        if value not in _STATUS_VALUES:
            msg = f"Invalid filter 'status={value}'"
            raise InvalidArgument(msg)
    for value in get("health"):
        if value not in HEALTH_VALUES:
            msg = f"Unrecognised filter value for health: {value}"
            raise InvalidArgument(msg)
    is_task = None
    if "is-task" in args:
        values = set(get("is-task"))
        if values not in ({"true"}, {"false"}):
            msg = f"invalid filter 'is-task={','.join(get('is-task'))}'"
            raise InvalidArgument(msg)
        is_task = values == {"true"}

    labels = tuple(
        (k, v if sep else None) for k, sep, v in (item.partition("=") for item in get("label"))
    )
    parsed = ListFilter(
        ids=tuple(get("id")),
        names=tuple((n, _compile(n)) for n in get("name")),
        labels=labels,
        statuses=frozenset(get("status")),
        exited=frozenset(exited),
        health=frozenset(get("health")),
        ancestor_refs=tuple(get("ancestor")) if "ancestor" in args else None,
        before_ref=get("before")[-1] if get("before") else None,
        since_ref=get("since")[-1] if get("since") else None,
        volumes=frozenset(get("volume")),
        networks=frozenset(get("network")),
        publish=_port_set(get("publish"), "publish") if "publish" in args else None,
        expose=_port_set(get("expose"), "expose") if "expose" in args else None,
        is_task=is_task,
        isolation=tuple(get("isolation")),
        raw={k: tuple(v) for k, v in args.items()},
    )
    if resolve_image is not None or lookup_container is not None:
        return parsed.bind(lookup=lookup_container, resolve_image=resolve_image)
    return parsed


def select(
    records: Iterable[ContainerRecord],
    *,
    all: bool,
    limit: int,
    filter: ListFilter,
    health_of: Callable[[ContainerRecord], str | None] | None = None,
    lookup: Callable[[str], ContainerRecord | None] | None = None,
    resolve_image: Callable[[str], str | None] | None = None,
) -> list[ContainerRecord]:
    """The containers ``GET /containers/json`` returns, newest first.

    Args:
        all: include stopped containers (implied by a status filter or ``limit`` > 0).
        limit: at most this many (the most recently created); ≤ 0 = no limit.
        health_of: health status per container for the ``health`` filter.
        lookup, resolve_image: resolve the filter's references (see ``ListFilter.bind``).

    Raises:
        NotFound: a ``before``/``since`` container that does not exist.
    """
    bound = filter.bind(lookup=lookup, resolve_image=resolve_image)
    show_all = all or bound.implies_all or limit > 0
    ordered = sorted(records, key=lambda r: (r.created, r.id), reverse=True)
    out = []
    for record in ordered:
        if not show_all and not record.state.running:
            continue
        health = health_of(record) if health_of is not None else None
        if not bound.matches(record, health=health):
            continue
        out.append(record)
        if 0 < limit <= len(out):
            break
    return out
