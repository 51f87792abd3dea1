"""IPAM: addresses are never handed out twice, and the state survives a JSON round trip."""

from __future__ import annotations

import ipaddress
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.errors import Conflict, InvalidArgument, Unavailable
from supervisor.network.ipam import Ipam

NET = "n1"


def test_first_address_skips_network_and_gateway() -> None:
    """The gateway .1 and the network address are never given to a container."""
    ipam = Ipam()
    assert ipam.allocate(NET, "10.9.0.0/24", "10.9.0.1", "a") == "10.9.0.2"
    assert ipam.allocate(NET, "10.9.0.0/24", "10.9.0.1", "b") == "10.9.0.3"


def test_same_owner_gets_same_address() -> None:
    """Allocating twice for one owner is idempotent (plan, then attach)."""
    ipam = Ipam()
    first = ipam.allocate(NET, "10.9.0.0/24", "10.9.0.1", "a")
    assert ipam.allocate(NET, "10.9.0.0/24", "10.9.0.1", "a") == first


def test_round_robin_after_release() -> None:
    """A released address is not reused at once (Docker's round robin)."""
    ipam = Ipam()
    a = ipam.allocate(NET, "10.9.0.0/24", "10.9.0.1", "a")
    ipam.release(NET, "a")
    assert ipam.allocate(NET, "10.9.0.0/24", "10.9.0.1", "b") != a


def test_transfer_hands_the_address_over() -> None:
    """A wired spare's address becomes the container's: allocate then gives the container that one."""
    ipam = Ipam()
    spare_ip = ipam.allocate(NET, "10.9.0.0/24", "10.9.0.1", "spare:veth1")
    assert ipam.transfer(NET, "spare:veth1", "c1") == [spare_ip]
    assert ipam.address_of(NET, "spare:veth1") is None
    assert ipam.allocate(NET, "10.9.0.0/24", "10.9.0.1", "c1") == spare_ip
    assert ipam.transfer(NET, "nobody", "c2") == []
    assert ipam.transfer("other", "c1", "c2") == []


def test_full_subnet() -> None:
    """A /30 has two usable addresses, one is the gateway: the second container fails."""
    ipam = Ipam()
    ipam.allocate(NET, "10.9.0.0/30", "10.9.0.1", "a")
    with pytest.raises(Unavailable):
        ipam.allocate(NET, "10.9.0.0/30", "10.9.0.1", "b")


@pytest.mark.parametrize(
    ("requested", "error"),
    [("10.8.0.5", InvalidArgument), ("bogus", InvalidArgument), ("10.9.0.1", InvalidArgument)],
)
def test_bad_static_addresses(requested: str, error: type[Exception]) -> None:
    """Outside the subnet, not an address, or the gateway itself: refused."""
    with pytest.raises(error):
        Ipam().allocate(NET, "10.9.0.0/24", "10.9.0.1", "a", requested)


def test_static_address_taken() -> None:
    """A static address held by another container: Docker's 'Address already in use'."""
    ipam = Ipam()
    ipam.allocate(NET, "10.9.0.0/24", "10.9.0.1", "a", "10.9.0.9")
    with pytest.raises(Conflict, match="Address already in use"):
        ipam.allocate(NET, "10.9.0.0/24", "10.9.0.1", "b", "10.9.0.9")


ops = st.lists(
    st.tuples(st.sampled_from(["alloc", "release"]), st.integers(0, 20), st.sampled_from([NET, "n2"])),
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_no_double_allocation_and_round_trip(script: list[tuple[str, int, str]]) -> None:
    """Under any sequence of allocate/release, no address has two owners, each owner holds
    at most one address per network, every address is usable, and to_json/from_json is lossless."""
    ipam = Ipam()
    subnets = {NET: ("10.9.0.0/28", "10.9.0.1"), "n2": ("10.10.0.0/29", "10.10.0.1")}
    for op, who, net in script:
        subnet, gw = subnets[net]
        if op == "alloc":
            try:
                ipam.allocate(net, subnet, gw, f"c{who}")
            except Unavailable:
                pass
        else:
            ipam.release(net, f"c{who}")
        for nid, (sub, gw2) in subnets.items():
            owned = ipam.owned(nid)
            owners = list(owned.values())
            assert len(owners) == len(set(owners))
            for ip in owned:
                addr = ipaddress.IPv4Address(ip)
                net_obj = ipaddress.IPv4Network(sub)
                assert addr in net_obj and addr not in (net_obj.network_address, net_obj.broadcast_address)
                assert ip != gw2
    again = Ipam.from_json(json.loads(json.dumps(ipam.to_json())))
    assert again.to_json() == ipam.to_json()
