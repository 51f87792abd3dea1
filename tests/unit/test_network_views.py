"""Network JSON shapes and the list filters."""

from __future__ import annotations

import pytest

from supervisor.errors import InvalidArgument
from supervisor.network.model import Driver, Network, network_from_json, network_to_json
from supervisor.network.views import network_json, select

BR = Network("a" * 64, "bridge", Driver.BRIDGE, 0, "berth0", "172.17.0.0/16", "172.17.0.1")
HOST = Network("b" * 64, "host", Driver.HOST)
WEB = Network("c" * 64, "proj_default", Driver.BRIDGE, 10**18, "br-cccccccccccc", "172.18.0.0/16",
              "172.18.0.1", labels={"com.docker.compose.project": "proj"}, attachable=True)


def test_network_json_has_every_key_clients_read() -> None:
    body = network_json(WEB, {"x" * 64: {"Name": "web", "EndpointID": "e", "MacAddress": "m",
                                        "IPv4Address": "172.18.0.2/16", "IPv6Address": ""}})
    for key in ("Name", "Id", "Created", "Scope", "Driver", "EnableIPv4", "EnableIPv6", "IPAM",
                "Internal", "Attachable", "Ingress", "ConfigFrom", "ConfigOnly", "Containers",
                "Options", "Labels"):
        assert key in body
    assert body["IPAM"]["Config"] == [{"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"}]
    # A user network shows only the options it was created with (compose 1.x compares them).
    assert "com.docker.network.bridge.name" not in body["Options"]
    assert body["Containers"]["x" * 64]["IPv4Address"] == "172.18.0.2/16"
    assert network_json(HOST)["IPAM"]["Config"] == []


@pytest.mark.parametrize(
    ("filters", "names"),
    [
        ({}, ["bridge", "host", "proj_default"]),
        ({"name": ["proj"]}, ["proj_default"]),
        ({"id": ["bbb"]}, ["host"]),
        ({"label": ["com.docker.compose.project=proj"]}, ["proj_default"]),
        ({"label": ["com.docker.compose.project=other"]}, []),
        ({"driver": ["host"]}, ["host"]),
        ({"type": ["builtin"]}, ["bridge", "host"]),
        ({"type": ["custom"]}, ["proj_default"]),
        ({"dangling": ["true"]}, ["proj_default"]),
        ({"name": ["bridge", "host"]}, ["bridge", "host"]),
    ],
)
def test_filters(filters: dict[str, list[str]], names: list[str]) -> None:
    assert [n.name for n in select([BR, HOST, WEB], filters, {})] == names


@pytest.mark.parametrize("filters", [{"bogus": ["x"]}, {"type": ["weird"]}, {"dangling": ["maybe"]}])
def test_bad_filters(filters: dict[str, list[str]]) -> None:
    with pytest.raises(InvalidArgument):
        select([BR], filters, {})


def test_model_round_trip() -> None:
    assert network_from_json(network_to_json(WEB)) == WEB
