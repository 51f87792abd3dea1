"""Choosing a network's subnet so that it collides with no route of the host. Pure.

The candidates are Docker's default address pools (172.17.0.0/16 ...
172.31.0.0/16, then 192.168.0.0/16 cut into /20s). A candidate is usable
when it overlaps no route of the host's main table (the default route
excepted: it overlaps everything) and no other network of ours. The shell
reads the routes with pyroute2 and passes them in as CIDR strings.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from supervisor.errors import Forbidden, InvalidArgument, Unavailable


def default_candidates() -> tuple[str, ...]:
    """Docker's default pools, in the order Docker tries them."""
    wide = [f"172.{n}.0.0/16" for n in range(17, 32)]
    narrow = [str(n) for n in ipaddress.IPv4Network("192.168.0.0/16").subnets(new_prefix=20)]
    return (*wide, *narrow)


DEFAULT_CANDIDATES = default_candidates()


def _nets(cidrs: Iterable[str]) -> list[ipaddress.IPv4Network]:
    out = []
    for cidr in cidrs:
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            continue
        if isinstance(net, ipaddress.IPv4Network) and net.prefixlen > 0:
            out.append(net)
    return out


def choose_subnet(
    routes: Iterable[str], taken: Iterable[str], candidates: Sequence[str] = DEFAULT_CANDIDATES
) -> str:
    """The first candidate overlapping neither a host route nor a taken subnet.

    Raises:
        Unavailable: every candidate collides (Docker's message).
    """
    busy = _nets(routes) + _nets(taken)
    for cidr in candidates:
        net = ipaddress.IPv4Network(cidr)
        if not any(net.overlaps(other) for other in busy):
            return str(net)
    msg = "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network"
    raise Unavailable(msg)


def parse_subnet(value: str) -> str:
    """A user-given ``--subnet``: an IPv4 CIDR, normalised (host bits cleared).

    Raises:
        InvalidArgument: not an IPv4 CIDR, or too small to hold a container.
    """
    try:
        net = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as exc:
        msg = f"invalid subnet {value!r}: {exc}"
        raise InvalidArgument(msg) from exc
    if not isinstance(net, ipaddress.IPv4Network) or "/" not in value:
        msg = f"invalid subnet {value!r}: expected an IPv4 CIDR such as 10.10.0.0/24 (IPv6 is not supported)"
        raise InvalidArgument(msg)
    if net.prefixlen > 30:
        msg = f"invalid subnet {value!r}: too small (at most /30)"
        raise InvalidArgument(msg)
    return str(net)


def check_user_subnet(subnet: str, routes: Iterable[str], taken: Iterable[str]) -> None:
    """A user subnet must overlap no other network (Docker) and no host route (berth).

    Raises:
        Forbidden: overlaps another network (Docker's 403 and message).
        InvalidArgument: overlaps a host route.
    """
    net = ipaddress.IPv4Network(subnet)
    if any(net.overlaps(other) for other in _nets(taken)):
        msg = "invalid pool request: Pool overlaps with other one on this address space"
        raise Forbidden(msg)
    for route in _nets(routes):
        if net.overlaps(route):
            msg = f"subnet {subnet} overlaps the host route {route}: pick another --subnet"
            raise InvalidArgument(msg)


def gateway_for(subnet: str, requested: str = "") -> str:
    """The gateway: ``requested`` (checked to be inside) or the subnet's first address.

    Raises:
        InvalidArgument: ``requested`` is not an address of the subnet.
    """
    net = ipaddress.IPv4Network(subnet)
    if not requested:
        return str(net.network_address + 1)
    try:
        gw = ipaddress.IPv4Address(requested.strip())
    except ValueError as exc:
        msg = f"invalid gateway {requested!r}: not an IPv4 address"
        raise InvalidArgument(msg) from exc
    if gw not in net or gw in (net.network_address, net.broadcast_address):
        msg = f"gateway {gw} is not a usable address of subnet {subnet}"
        raise InvalidArgument(msg)
    return str(gw)
