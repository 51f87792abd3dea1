"""Port publishing plans: Docker's binding syntax, -P, ranges, errors and JSON shapes."""

from __future__ import annotations

import pytest

from supervisor.errors import InvalidArgument
from supervisor.network.ports import (
    PortBinding,
    PortRequest,
    parse_host_port,
    parse_port_key,
    plan_ports,
    port_map,
    summary,
)


@pytest.mark.parametrize(
    ("bindings", "exposed", "publish_all", "expected"),
    [
        ({"80/tcp": ({"HostIp": "", "HostPort": "8080"},)}, (), False, [PortRequest(80, "tcp", "0.0.0.0", 8080, 8080)]),
        ({"80/tcp": ({"HostIp": "127.0.0.1", "HostPort": ""},)}, (), False, [PortRequest(80, "tcp", "127.0.0.1")]),
        ({"53/udp": ({"HostIp": "", "HostPort": "5353"},)}, (), False, [PortRequest(53, "udp", "0.0.0.0", 5353, 5353)]),
        ({"80/tcp": ({"HostIp": "", "HostPort": "8000-8010"},)}, (), False, [PortRequest(80, "tcp", "0.0.0.0", 8000, 8010)]),
        ({"80/tcp": ({"HostIp": "", "HostPort": "0"},)}, (), False, [PortRequest(80, "tcp")]),
        ({}, ("80/tcp", "53/udp"), True, [PortRequest(80, "tcp"), PortRequest(53, "udp")]),
        ({}, ("80/tcp",), False, []),
        (
            {"80/tcp": ({"HostIp": "", "HostPort": "9000"},)}, ("80/tcp", "81/tcp"), True,
            [PortRequest(80, "tcp", "0.0.0.0", 9000, 9000), PortRequest(81, "tcp")],
        ),
        ({"80/tcp": ()}, (), True, [PortRequest(80, "tcp")]),
        ({"80/tcp": ()}, (), False, []),
        (
            {"80/tcp": ({"HostIp": "", "HostPort": "1"}, {"HostIp": "127.0.0.2", "HostPort": "2"})}, (), False,
            [PortRequest(80, "tcp", "0.0.0.0", 1, 1), PortRequest(80, "tcp", "127.0.0.2", 2, 2)],
        ),
    ],
)
def test_plan(bindings: dict, exposed: tuple, publish_all: bool, expected: list[PortRequest]) -> None:
    """Each binding becomes one host socket request; -P adds the exposed ports left unbound."""
    assert plan_ports(bindings, exposed, publish_all) == expected


@pytest.mark.parametrize(
    "bindings",
    [
        {"80/sctp": ({"HostIp": "", "HostPort": "80"},)},
        {"x/tcp": ()},
        {"70000/tcp": ()},
        {"80/tcp": ({"HostIp": "", "HostPort": "abc"},)},
        {"80/tcp": ({"HostIp": "", "HostPort": "90-80"},)},
        {"80/tcp": ({"HostIp": "", "HostPort": "70000"},)},
        {"80/tcp": ({"HostIp": "999.1.1.1", "HostPort": "80"},)},
        {"80/tcp": ({"HostIp": "::1", "HostPort": "80"},)},
    ],
)
def test_plan_refuses(bindings: dict) -> None:
    """Bad keys, ports, ranges, addresses, SCTP and IPv6 are clear InvalidArguments."""
    with pytest.raises(InvalidArgument):
        plan_ports(bindings)


@pytest.mark.parametrize(
    ("value", "expected"), [("", (0, 0)), ("0", (0, 0)), ("8080", (8080, 8080)), ("1-3", (1, 3))]
)
def test_host_port(value: str, expected: tuple[int, int]) -> None:
    assert parse_host_port(value) == expected


@pytest.mark.parametrize(("key", "expected"), [("80", (80, "tcp")), ("53/UDP", (53, "udp"))])
def test_port_key(key: str, expected: tuple[int, str]) -> None:
    assert parse_port_key(key) == expected


def test_port_map_and_summary_shapes() -> None:
    """Every binding has HostIp and HostPort strings; exposed-only ports are null / have no IP."""
    bound = [PortBinding(80, "tcp", "0.0.0.0", 8080), PortBinding(80, "tcp", "127.0.0.1", 9090)]
    assert port_map(bound, ("80/tcp", "443/tcp")) == {
        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "127.0.0.1", "HostPort": "9090"}],
        "443/tcp": None,
    }
    assert summary(bound, ("443/tcp",)) == [
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 9090, "Type": "tcp"},
        {"PrivatePort": 443, "Type": "tcp"},
    ]
