"""Subnet choice: never a subnet that overlaps a host route or another network."""

from __future__ import annotations

import pytest

from supervisor.errors import Forbidden, InvalidArgument, Unavailable
from supervisor.network.subnets import (
    DEFAULT_CANDIDATES,
    check_user_subnet,
    choose_subnet,
    gateway_for,
    parse_subnet,
)


@pytest.mark.parametrize(
    ("routes", "taken", "expected"),
    [
        ([], [], "172.17.0.0/16"),
        (["192.0.2.0/24"], [], "172.17.0.0/16"),
        (["172.17.5.0/24"], [], "172.18.0.0/16"),
        (["172.16.0.0/12"], [], "192.168.0.0/20"),
        ([], ["172.17.0.0/16", "172.18.0.0/16"], "172.19.0.0/16"),
        (["172.17.0.0/16"], ["172.18.0.0/16"], "172.19.0.0/16"),
        (["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/17"], [], "192.168.128.0/20"),
        (["0.0.0.0/0"], [], "172.17.0.0/16"),  # the default route overlaps all: ignored
        (["garbage", "fe80::/64"], [], "172.17.0.0/16"),
    ],
)
def test_choose_subnet(routes: list[str], taken: list[str], expected: str) -> None:
    """The first of Docker's pools that overlaps nothing."""
    assert choose_subnet(routes, taken) == expected


def test_every_pool_taken() -> None:
    """When all candidates collide: Docker's message."""
    with pytest.raises(Unavailable, match="non-overlapping IPv4 address pool"):
        choose_subnet(["172.16.0.0/12", "192.168.0.0/16"], [])


def test_candidates_are_docker_defaults() -> None:
    """15 /16s from 172.17 then 16 /20s of 192.168."""
    assert DEFAULT_CANDIDATES[0] == "172.17.0.0/16"
    assert DEFAULT_CANDIDATES[14] == "172.31.0.0/16"
    assert DEFAULT_CANDIDATES[-1] == "192.168.240.0/20"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("10.5.0.0/24", "10.5.0.0/24"), ("10.5.0.7/24", "10.5.0.0/24"), (" 10.5.0.0/16 ", "10.5.0.0/16")],
)
def test_parse_subnet(value: str, expected: str) -> None:
    assert parse_subnet(value) == expected


@pytest.mark.parametrize("value", ["10.5.0.0", "nope", "fd00::/64", "10.5.0.0/31", "10.5.0.0/33"])
def test_parse_subnet_refuses(value: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_subnet(value)


def test_user_subnet_overlapping_network_is_forbidden() -> None:
    """Docker's 403 'Pool overlaps with other one on this address space'."""
    with pytest.raises(Forbidden, match="Pool overlaps"):
        check_user_subnet("172.18.0.0/24", [], ["172.18.0.0/16"])


def test_user_subnet_overlapping_route_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="host route"):
        check_user_subnet("192.0.2.0/25", ["192.0.2.0/24"], [])
    check_user_subnet("10.99.0.0/24", ["192.0.2.0/24"], ["172.17.0.0/16"])


@pytest.mark.parametrize(
    ("subnet", "requested", "expected"),
    [("10.5.0.0/24", "", "10.5.0.1"), ("10.5.0.0/24", "10.5.0.254", "10.5.0.254")],
)
def test_gateway(subnet: str, requested: str, expected: str) -> None:
    assert gateway_for(subnet, requested) == expected


@pytest.mark.parametrize("requested", ["10.6.0.1", "10.5.0.0", "10.5.0.255", "x"])
def test_gateway_refused(requested: str) -> None:
    with pytest.raises(InvalidArgument):
        gateway_for("10.5.0.0/24", requested)
