"""Published ports: from a container's spec to the list of proxies to run. Pure.

Input is what ``create_body`` stored: ``port_bindings`` (``"80/tcp"`` →
``({"HostIp": "", "HostPort": "8080"}, ...)``, HostPort "" = any free port,
``"8000-8010"`` = the first free port of the range), ``exposed_ports`` and
``publish_all_ports`` (``-P``: every exposed port without a binding gets a free
host port). An empty HostIp means every IPv4 address (0.0.0.0). The proxies
serve TCP and UDP; SCTP is refused at create time.

``PortBinding`` is one host socket; ``port_map``/``summary`` turn the bound
ones back into Docker's JSON shapes, with the real host ports.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from supervisor.errors import InvalidArgument

PROTOCOLS = ("tcp", "udp")


@dataclass(frozen=True, slots=True)
class PortRequest:
    """One binding to make: container port/proto on host_ip, in [host_lo, host_hi] (0 = any)."""

    container_port: int
    proto: str
    host_ip: str = "0.0.0.0"
    host_lo: int = 0
    host_hi: int = 0

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"

    @property
    def ephemeral(self) -> bool:
        return self.host_lo == 0


@dataclass(frozen=True, slots=True)
class PortBinding:
    """One bound host socket (the real host port)."""

    container_port: int
    proto: str
    host_ip: str
    host_port: int

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"


def parse_port_key(key: str) -> tuple[int, str]:
    """``"80/tcp"`` / ``"80"`` → (80, "tcp").

    Raises:
        InvalidArgument: "invalid port specification".
    """
    number, _, proto = key.partition("/")
    proto = (proto or "tcp").lower()
    if not number.isdigit() or not 0 < int(number) <= 65535 or proto not in (*PROTOCOLS, "sctp"):
        msg = f"invalid port specification: {key!r}"
        raise InvalidArgument(msg)
    return int(number), proto


def parse_host_port(value: str) -> tuple[int, int]:
    """``""`` → (0, 0); ``"8080"`` → (8080, 8080); ``"8000-8010"`` → (8000, 8010).

    Raises:
        InvalidArgument: not a port or a range of ports.
    """
    value = value.strip()
    if not value:
        return 0, 0
    lo, dash, hi = value.partition("-")
    if not lo.isdigit() or (dash and not hi.isdigit()):
        msg = f"invalid hostPort: {value}"
        raise InvalidArgument(msg)
    low, high = int(lo), int(hi) if dash else int(lo)
    if not 0 <= low <= 65535 or not 0 <= high <= 65535 or high < low:
        msg = f"invalid hostPort: {value}"
        raise InvalidArgument(msg)
    if low == 0:
        return 0, 0
    return low, high


def parse_host_ip(value: str) -> str:
    """A binding's HostIp: "" means 0.0.0.0; IPv6 is not served (the proxies are IPv4).

    Raises:
        InvalidArgument: not an IPv4 address.
    """
    value = value.strip().strip("[]")
    if not value:
        return "0.0.0.0"
    try:
        addr = ipaddress.ip_address(value)
    except ValueError as exc:
        msg = f"invalid IP address: {value}"
        raise InvalidArgument(msg) from exc
    if addr.version != 4:
        msg = f"invalid IP address {value}: berth publishes ports on IPv4 addresses only"
        raise InvalidArgument(msg)
    return str(addr)


def plan_ports(
    port_bindings: Mapping[str, Iterable[Mapping[str, str]]],
    exposed_ports: Iterable[str] = (),
    publish_all: bool = False,
) -> list[PortRequest]:
    """Every host binding the container needs, in a stable order.

    Raises:
        InvalidArgument: a malformed key, host port or host IP, or SCTP.
    """
    out: list[PortRequest] = []
    seen: set[str] = set()
    for key, bindings in port_bindings.items():
        port, proto = parse_port_key(key)
        if proto == "sctp":
            msg = f"publishing SCTP ports is not supported by berth's userland proxy: {key}"
            raise InvalidArgument(msg)
        seen.add(f"{port}/{proto}")
        items = list(bindings) or ([{"HostIp": "", "HostPort": ""}] if publish_all else [])
        for b in items:
            lo, hi = parse_host_port(b.get("HostPort", "") or "")
            out.append(PortRequest(port, proto, parse_host_ip(b.get("HostIp", "") or ""), lo, hi))
    if publish_all:
        for key in exposed_ports:
            port, proto = parse_port_key(key)
            if f"{port}/{proto}" in seen or proto == "sctp":
                continue
            seen.add(f"{port}/{proto}")
            out.append(PortRequest(port, proto))
    return out


def port_map(
    bindings: Iterable[PortBinding], exposed_ports: Iterable[str] = ()
) -> dict[str, list[dict[str, str]] | None]:
    """Docker's ``NetworkSettings.Ports``: every binding has HostIp and HostPort (strings)."""
    ports: dict[str, list[dict[str, str]] | None] = {}
    for key in exposed_ports:
        port, proto = parse_port_key(key)
        ports.setdefault(f"{port}/{proto}", None)
    for b in bindings:
        entry = ports.get(b.key) or []
        entry.append({"HostIp": b.host_ip, "HostPort": str(b.host_port)})
        ports[b.key] = entry
    return ports


def summary(
    bindings: Iterable[PortBinding], exposed_ports: Iterable[str] = ()
) -> list[dict[str, object]]:
    """Docker's list ``Ports``: ``{IP, PrivatePort, PublicPort, Type}``; exposed-only without IP."""
    out: list[dict[str, object]] = []
    bound: set[str] = set()
    for b in bindings:
        bound.add(b.key)
        out.append({"IP": b.host_ip, "PrivatePort": b.container_port, "PublicPort": b.host_port, "Type": b.proto})
    for key in exposed_ports:
        port, proto = parse_port_key(key)
        if f"{port}/{proto}" not in bound:
            out.append({"PrivatePort": port, "Type": proto})
    return out


def parse_port_filter(value: str) -> tuple[int, str]:
    """``berth port NAME 80[/tcp]``'s argument.

    Raises:
        InvalidArgument: Docker's "Error: No public port '...' published for ..." is the
            caller's; this only refuses malformed input.
    """
    return parse_port_key(value)
