"""The network CLI: what it sends and prints (httpx.MockTransport stands in for the daemon)."""

from __future__ import annotations

import json

import httpx
import pytest
from click.testing import CliRunner

from supervisor.cli.main import cli
from supervisor.cli.networks import COMMANDS, port_lines
from supervisor.cli.state import CliState, CommandFailed


def _run(args: list[str], handler) -> tuple[int, str, str]:
    from supervisor.cli import main as main_mod

    for command in COMMANDS:  # the lead registers them; tests must not depend on that
        if command.name not in main_mod.cli.commands:
            main_mod.cli.add_command(command)
    state = CliState(host="unix:///nonexistent.sock", transport=httpx.MockTransport(handler))
    result = CliRunner().invoke(cli, args, obj=state)
    return result.exit_code, result.stdout, result.stderr if result.stderr_bytes is not None else ""


def test_create_sends_docker_body() -> None:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["path"] = request.url.path
        seen["body"] = json.loads(request.content)
        return httpx.Response(201, json={"Id": "f" * 64, "Warning": ""})

    code, out, _ = _run(["network", "create", "--subnet", "10.77.0.0/24", "--label", "a=b", "--internal", "n1"], handler)
    assert code == 0 and out.strip() == "f" * 64
    assert seen["path"].endswith("/networks/create")
    assert seen["body"]["IPAM"]["Config"] == [{"Subnet": "10.77.0.0/24"}]
    assert seen["body"]["Labels"] == {"a": "b"} and seen["body"]["Internal"] is True


def test_ls_table() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[{"Id": "a" * 64, "Name": "bridge", "Driver": "bridge", "Scope": "local"}])

    code, out, _ = _run(["network", "ls"], handler)
    assert code == 0
    assert out.splitlines()[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert out.splitlines()[1].split() == ["a" * 12, "bridge", "bridge", "local"]


def test_rm_reports_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/bridge"):
            return httpx.Response(403, json={"message": "bridge is a pre-defined network and cannot be removed"})
        return httpx.Response(204)

    code, out, err = _run(["network", "rm", "mine", "bridge"], handler)
    assert code == 1 and out.strip() == "mine"
    assert "pre-defined" in err


def test_connect_body() -> None:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["body"] = json.loads(request.content)
        return httpx.Response(200)

    code, _, _ = _run(["network", "connect", "--alias", "db", "--ip", "10.77.0.9", "n1", "c1"], handler)
    assert code == 0
    assert seen["body"] == {"Container": "c1", "EndpointConfig": {"Aliases": ["db"], "IPAMConfig": {"IPv4Address": "10.77.0.9"}}}


def test_port_lines() -> None:
    ports = {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}], "443/tcp": None}
    assert port_lines(ports) == ["53/udp -> 127.0.0.1:5353", "80/tcp -> 0.0.0.0:8080"]
    assert port_lines(ports, "80") == ["0.0.0.0:8080"]
    with pytest.raises(CommandFailed, match="No public port '443/tcp' published"):
        port_lines(ports, "443/tcp")


def test_port_command() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "32768"}]}}})

    code, out, _ = _run(["port", "web"], handler)
    assert code == 0 and out == "80/tcp -> 0.0.0.0:32768\n"
