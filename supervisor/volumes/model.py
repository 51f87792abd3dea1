"""Volumes as data: the record the local driver keeps, its API view, and Docker's filters.

Pure: no I/O, no clock (times are unix nanoseconds passed in).

An anonymous volume carries the label ``com.docker.volume.anonymous`` (as
moby ≥ 23 does): that is what ``volume prune`` looks for under API ≥ 1.42,
and what ``rm -v`` removes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timezone
from typing import Any

from supervisor.errors import InvalidArgument

ANONYMOUS_LABEL = "com.docker.volume.anonymous"
LOCAL_DRIVER = "local"
LIST_FILTERS = frozenset({"name", "label", "dangling", "driver"})
PRUNE_FILTERS = frozenset({"label", "label!", "all"})


@dataclass(frozen=True, slots=True)
class Volume:
    """One volume of the local driver.

    ``populated``: image content was copied into it once (or it was first
    mounted with copy-up allowed); it is never filled from an image again.
    """

    name: str
    created_at: int
    labels: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)
    driver: str = LOCAL_DRIVER
    populated: bool = False

    @property
    def anonymous(self) -> bool:
        return ANONYMOUS_LABEL in self.labels

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "created_at": self.created_at,
            "labels": dict(self.labels),
            "options": dict(self.options),
            "driver": self.driver,
            "populated": self.populated,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Volume:
        return cls(
            name=str(data["name"]),
            created_at=int(data.get("created_at", 0)),
            labels={str(k): str(v) for k, v in (data.get("labels") or {}).items()},
            options={str(k): str(v) for k, v in (data.get("options") or {}).items()},
            driver=str(data.get("driver") or LOCAL_DRIVER),
            populated=bool(data.get("populated", False)),
        )


def go_rfc3339(ns: int, tz: timezone | None = None) -> str:
    """Go's ``time.RFC3339`` (whole seconds, ``Z`` for UTC, else ``+hh:mm``)."""
    moment = datetime.fromtimestamp(ns // 1_000_000_000, tz or UTC)
    text = moment.isoformat(timespec="seconds")
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def volume_json(volume: Volume, mountpoint: str, tz: timezone | None = None) -> dict[str, Any]:
    """Docker's Volume object (``GET /volumes/{name}``)."""
    return {
        "CreatedAt": go_rfc3339(volume.created_at, tz),
        "Driver": volume.driver,
        "Labels": dict(volume.labels),
        "Mountpoint": mountpoint,
        "Name": volume.name,
        "Options": dict(volume.options),
        "Scope": "local",
    }


# --- filters --------------------------------------------------------------------------


def _invalid_filter(key: str, values: Sequence[str] | None = None) -> InvalidArgument:
    if values is None:
        return InvalidArgument(f"invalid filter '{key}'")
    return InvalidArgument(f"invalid filter '{key}=[{' '.join(values)}]'")


def match_labels(wanted: Sequence[str], labels: Mapping[str, str]) -> bool:
    """moby ``filters.MatchKVList``: every ``k`` or ``k=v`` must be present."""
    for item in wanted:
        key, eq, value = item.partition("=")
        if key not in labels or (eq and labels[key] != value):
            return False
    return True


def _bool_filter(key: str, values: Sequence[str]) -> bool:
    if all(v in ("true", "1") for v in values):
        return True
    if all(v in ("false", "0") for v in values):
        return False
    raise _invalid_filter(key, values)


VolumePredicate = Callable[[Volume, bool], bool]
"""(volume, in use) -> keep it."""


def list_filter(filters: Mapping[str, Sequence[str]]) -> VolumePredicate:
    """``GET /volumes?filters=``: name (substring), label, driver, dangling.

    Raises:
        InvalidArgument: "invalid filter 'x'" for an unknown key or bad value.
    """
    for key in filters:
        if key not in LIST_FILTERS:
            raise _invalid_filter(key)
    names = list(filters.get("name") or ())
    labels = list(filters.get("label") or ())
    drivers = list(filters.get("driver") or ())
    dangling = _bool_filter("dangling", filters["dangling"]) if filters.get("dangling") else None

    def keep(volume: Volume, in_use: bool) -> bool:
        if names and not any(n in volume.name for n in names):
            return False
        if drivers and volume.driver not in drivers:
            return False
        if labels and not match_labels(labels, volume.labels):
            return False
        return dangling is None or dangling != in_use

    return keep


def prune_filter(filters: Mapping[str, Sequence[str]], *, only_anonymous_default: bool) -> VolumePredicate:
    """``POST /volumes/prune?filters=``: label, label!, all; unused volumes only.

    ``only_anonymous_default`` is API ≥ 1.42's rule: without ``all=true`` only
    anonymous volumes are pruned.

    Raises:
        InvalidArgument: unknown key or a bad ``all`` value.
    """
    for key in filters:
        if key not in PRUNE_FILTERS:
            raise _invalid_filter(key)
    labels = list(filters.get("label") or ())
    not_labels = list(filters.get("label!") or ())
    everything = not only_anonymous_default
    if filters.get("all"):
        everything = _bool_filter("all", filters["all"])

    def keep(volume: Volume, in_use: bool) -> bool:
        if in_use:
            return False
        if not everything and not volume.anonymous:
            return False
        if labels and not match_labels(labels, volume.labels):
            return False
        return not (not_labels and match_labels(not_labels, volume.labels))

    return keep


__all__ = [
    "ANONYMOUS_LABEL",
    "LOCAL_DRIVER",
    "Volume",
    "go_rfc3339",
    "list_filter",
    "match_labels",
    "prune_filter",
    "volume_json",
]
