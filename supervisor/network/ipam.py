"""IP address management: which address of which network belongs to whom. Pure.

One ``Ipam`` holds, per network id, the addresses handed out and their owner
(the container id). Allocation walks the subnet from just after the last
address given out (Docker's round robin, so a released address is not handed
to the next container at once), skipping the network address, the broadcast
address and the gateway. The state is plain data with ``to_json``/``from_json``
for the persisted file; the shell writes it atomically after every change.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from supervisor.errors import Conflict, InvalidArgument, Unavailable


@dataclass
class _Pool:
    owners: dict[str, str] = field(default_factory=dict)  # ip -> owner
    last: str = ""  # the address given out most recently


class Ipam:
    """Address allocations for every network (mutable, no I/O)."""

    def __init__(self) -> None:
        self._pools: dict[str, _Pool] = {}

    def allocate(
        self, network_id: str, subnet: str, gateway: str, owner: str, requested: str = ""
    ) -> str:
        """Give ``owner`` an address of ``subnet`` (its existing one if it has one).

        Raises:
            InvalidArgument: ``requested`` is not an address of the subnet.
            Conflict: ``requested`` is taken ("Address already in use").
            Unavailable: the subnet is full.
        """
        pool = self._pools.setdefault(network_id, _Pool())
        for ip, who in pool.owners.items():
            if who == owner and (not requested or requested == ip):
                return ip
        net = ipaddress.IPv4Network(subnet, strict=False)
        reserved = {net.network_address, net.broadcast_address}
        if gateway:
            reserved.add(ipaddress.IPv4Address(gateway))
        if requested:
            try:
                addr = ipaddress.IPv4Address(requested)
            except ValueError as exc:
                msg = f"invalid IPv4 address: {requested!r}"
                raise InvalidArgument(msg) from exc
            if addr not in net or (addr in reserved and net.prefixlen < 31):
                msg = f"no configured subnet or ip-range contain the IP address {requested}"
                raise InvalidArgument(msg)
            if str(addr) in pool.owners:
                msg = "Address already in use"
                raise Conflict(msg)
            self.release(network_id, owner)
            pool.owners[str(addr)] = owner
            return str(addr)
        first = int(net.network_address) + 1
        last = int(net.broadcast_address) - 1
        if net.prefixlen >= 31:
            first, last = int(net.network_address), int(net.broadcast_address)
        size = last - first + 1
        start = int(ipaddress.IPv4Address(pool.last)) + 1 if pool.last else first
        if not first <= start <= last:
            start = first
        for step in range(size):
            candidate = ipaddress.IPv4Address(first + (start - first + step) % size)
            if candidate in reserved and net.prefixlen < 31:
                continue
            if str(candidate) in pool.owners:
                continue
            pool.owners[str(candidate)] = owner
            pool.last = str(candidate)
            return str(candidate)
        msg = f"no available IPv4 addresses on this network's address pools: {subnet}"
        raise Unavailable(msg)

    def release(self, network_id: str, owner: str) -> list[str]:
        """Free every address ``owner`` holds on the network; return them."""
        pool = self._pools.get(network_id)
        if pool is None:
            return []
        freed = [ip for ip, who in pool.owners.items() if who == owner]
        for ip in freed:
            del pool.owners[ip]
        return freed

    def transfer(self, network_id: str, owner: str, new_owner: str) -> list[str]:
        """Hand ``owner``'s addresses on the network to ``new_owner``; return them."""
        pool = self._pools.get(network_id)
        if pool is None:
            return []
        moved = [ip for ip, who in pool.owners.items() if who == owner]
        for ip in moved:
            pool.owners[ip] = new_owner
        return moved

    def release_owner(self, owner: str) -> None:
        """Free ``owner``'s addresses on every network."""
        for network_id in list(self._pools):
            self.release(network_id, owner)

    def drop_network(self, network_id: str) -> None:
        self._pools.pop(network_id, None)

    def owned(self, network_id: str) -> Mapping[str, str]:
        """ip -> owner for one network (a copy)."""
        pool = self._pools.get(network_id)
        return dict(pool.owners) if pool else {}

    def address_of(self, network_id: str, owner: str) -> str | None:
        for ip, who in self.owned(network_id).items():
            if who == owner:
                return ip
        return None

    def to_json(self) -> dict[str, object]:
        return {
            nid: {"owners": dict(pool.owners), "last": pool.last}
            for nid, pool in self._pools.items()
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Ipam:
        ipam = cls()
        for nid, raw in data.items():
            if not isinstance(raw, Mapping):
                continue
            owners = raw.get("owners") or {}
            ipam._pools[str(nid)] = _Pool(
                {str(k): str(v) for k, v in owners.items()},
                str(raw.get("last", "")),
            )
        return ipam
