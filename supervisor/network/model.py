"""Networks and endpoints as berth records them: pure data, JSON round-trips.

A ``Network`` is a definition (persisted under ``<data-root>/network/``);
an ``EndpointConfig`` is what a container asked for on one network (create's
``NetworkingConfig`` or ``POST /networks/{id}/connect``), kept until the
container is removed; an ``Endpoint`` is one live attachment (a veth in the
container's namespace with an address), gone when the run ends.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

# Docker's three pre-defined networks; "bridge" is backed by a real bridge.
BRIDGE = "bridge"
HOST = "host"
NONE = "none"
PREDEFINED = (BRIDGE, HOST, NONE)


class Driver(enum.Enum):
    """The network drivers berth knows (Docker's names)."""

    BRIDGE = "bridge"
    HOST = "host"
    NULL = "null"


class NetnsMode(enum.Enum):
    """How the container's network namespace is made (for the spec builder)."""

    NEW = "new"  # a fresh namespace (bridge, user networks, none)
    HOST = "host"  # no namespace at all: the host's
    PATH = "path"  # join an existing one (container:NAME)


@dataclass(frozen=True, slots=True)
class Network:
    """One network definition.

    ``bridge`` is the Linux bridge device ("" for host/none); ``subnet`` and
    ``gateway`` are IPv4 (CIDR and address), "" for host/none.
    """

    id: str
    name: str
    driver: Driver = Driver.BRIDGE
    created: int = 0
    bridge: str = ""
    subnet: str = ""
    gateway: str = ""
    internal: bool = False
    attachable: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)
    user_subnet: bool = False  # the subnet came from the user (--subnet): static IPs allowed
    mtu: int = 1500

    @property
    def predefined(self) -> bool:
        return self.name in PREDEFINED

    @property
    def prefix_len(self) -> int:
        return int(self.subnet.partition("/")[2] or 0)


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """What a container asked for on one network (Docker's EndpointSettings input)."""

    aliases: tuple[str, ...] = ()
    ipv4_address: str = ""  # IPAMConfig.IPv4Address


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One live attachment of a container to a network."""

    network_id: str
    network_name: str
    endpoint_id: str
    ip: str
    prefix_len: int
    gateway: str
    mac: str
    host_ifname: str
    ifname: str
    aliases: tuple[str, ...] = ()


def driver_of(name: str) -> Driver:
    return {HOST: Driver.HOST, NONE: Driver.NULL}.get(name, Driver.BRIDGE)


def network_to_json(n: Network) -> dict[str, object]:
    return {
        "id": n.id, "name": n.name, "driver": n.driver.value, "created": n.created,
        "bridge": n.bridge, "subnet": n.subnet, "gateway": n.gateway, "internal": n.internal,
        "attachable": n.attachable, "labels": dict(n.labels), "options": dict(n.options),
        "user_subnet": n.user_subnet, "mtu": n.mtu,
    }


def network_from_json(data: Mapping[str, object]) -> Network:
    return Network(
        id=str(data["id"]), name=str(data["name"]), driver=Driver(str(data.get("driver", "bridge"))),
        created=int(data.get("created", 0)),  # type: ignore[call-overload]
        bridge=str(data.get("bridge", "")), subnet=str(data.get("subnet", "")),
        gateway=str(data.get("gateway", "")), internal=bool(data.get("internal", False)),
        attachable=bool(data.get("attachable", False)),
        labels=dict(data.get("labels") or {}),  # type: ignore[call-overload]
        options=dict(data.get("options") or {}),  # type: ignore[call-overload]
        user_subnet=bool(data.get("user_subnet", False)),
        mtu=int(data.get("mtu", 1500)),  # type: ignore[call-overload]
    )


def endpoint_config_to_json(e: EndpointConfig) -> dict[str, object]:
    return {"aliases": list(e.aliases), "ipv4_address": e.ipv4_address}


def endpoint_config_from_json(data: Mapping[str, object]) -> EndpointConfig:
    return EndpointConfig(
        aliases=tuple(str(a) for a in data.get("aliases") or ()),  # type: ignore[attr-defined]
        ipv4_address=str(data.get("ipv4_address", "")),
    )


def mac_for(ip: str) -> str:
    """Docker's MAC for an address: 02:42 and the four address bytes."""
    return "02:42:" + ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(ip).packed)
