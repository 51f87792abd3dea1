"""Networks → Docker's JSON shapes, and the list filters. Pure.

``network_json`` is the body of ``GET /networks/{id}`` (and, with no
containers, one element of ``GET /networks``); ``select`` applies the list
filters the docker CLI and docker-py send (name, id, label, driver, type,
dangling, scope).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from supervisor.api.humanize import rfc3339_nano
from supervisor.errors import InvalidArgument
from supervisor.network.model import Driver, Network

FILTER_KEYS = ("name", "id", "label", "driver", "type", "dangling", "scope")


def network_json(n: Network, containers: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
    """Docker's network object; ``containers`` is id → {Name, EndpointID, MacAddress, IPv4Address, IPv6Address}."""
    options: dict[str, str] = dict(n.options)
    config: list[dict[str, str]] = []
    if n.driver is Driver.BRIDGE:
        # Like Docker, only the default bridge shows its device options; a user
        # network shows the options it was created with (compose 1.x compares them).
        if n.name == "bridge":
            options.setdefault("com.docker.network.bridge.name", n.bridge)
            options.setdefault("com.docker.network.bridge.default_bridge", "true")
            options.setdefault("com.docker.network.driver.mtu", str(n.mtu))
        config.append({"Subnet": n.subnet, "Gateway": n.gateway})
    return {
        "Name": n.name,
        "Id": n.id,
        "Created": rfc3339_nano(n.created),
        "Scope": "local",
        "Driver": n.driver.value,
        "EnableIPv4": True,
        "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": None if n.predefined else {}, "Config": config},
        "Internal": n.internal,
        "Attachable": n.attachable,
        "Ingress": False,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Containers": {k: dict(v) for k, v in (containers or {}).items()},
        "Options": options,
        "Labels": dict(n.labels),
    }


def _label_match(labels: Mapping[str, str], wanted: str) -> bool:
    key, sep, value = wanted.partition("=")
    if key not in labels:
        return False
    return not sep or labels[key] == value


def check_filters(filters: Mapping[str, list[str]]) -> None:
    """Refuse unknown filter keys and bad values with moby's messages.

    Raises:
        InvalidArgument: "invalid filter 'x'" and friends.
    """
    for key, values in filters.items():
        if key not in FILTER_KEYS:
            msg = f"invalid filter '{key}'"
            raise InvalidArgument(msg)
        if key == "type":
            for v in values:
                if v not in ("custom", "builtin"):
                    msg = f"invalid filter: 'type'='{v}'"
                    raise InvalidArgument(msg)
        if key == "dangling":
            for v in values:
                if v.lower() not in ("true", "false", "1", "0"):
                    msg = f"invalid filter 'dangling={v}'"
                    raise InvalidArgument(msg)


def select(
    networks: Iterable[Network], filters: Mapping[str, list[str]], in_use: Mapping[str, bool]
) -> list[Network]:
    """The networks every filter key accepts (values of one key are OR, keys are AND).

    Args:
        in_use: network id → has containers (for ``dangling``).
    """
    check_filters(filters)
    out = []
    for n in networks:
        if "name" in filters and not any(v in n.name for v in filters["name"]):
            continue
        if "id" in filters and not any(v in n.id for v in filters["id"]):
            continue
        if "label" in filters and not all(_label_match(n.labels, v) for v in filters["label"]):
            continue
        if "driver" in filters and n.driver.value not in filters["driver"]:
            continue
        if "scope" in filters and "local" not in filters["scope"]:
            continue
        if "type" in filters:
            kind = "builtin" if n.predefined else "custom"
            if kind not in filters["type"]:
                continue
        if "dangling" in filters:
            want = {v.lower() in ("true", "1") for v in filters["dangling"]}
            dangling = not n.predefined and not in_use.get(n.id, False)
            if dangling not in want:
                continue
        out.append(n)
    return out
