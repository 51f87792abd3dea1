"""Networks and published ports through the real docker CLI against a berth daemon.

These pass once the lead has wired the network manager into the daemon and
engine; until then the module skips itself (the daemon answers 404 on
``GET /networks``). Traffic goes only to 127.0.0.1 and to the containers the
tests create; every wait loop is bounded.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import HAVE_DOCKER

pytestmark = pytest.mark.skipif(not HAVE_DOCKER, reason="needs the docker CLI")

FORWARDING = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "1"


@pytest.fixture(scope="module")
def wired(daemon):  # type: ignore[no-untyped-def]
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(daemon.socket)), base_url="http://berth") as client:
        if client.get("/v1.50/networks").status_code == 404:
            pytest.skip("networking is not wired into the daemon yet")
    return daemon


def _http_get(port: int, path: str = "/", tries: int = 50) -> str:
    for _ in range(tries):  # bounded: the server may need a moment to listen
        try:
            return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).text
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered on 127.0.0.1:{port}")


def test_publish_ephemeral_port_and_docker_port(wired, tmp_path) -> None:  # type: ignore[no-untyped-def]
    d = wired
    name = "web-" + secrets.token_hex(3)
    d.docker("run", "-d", "--name", name, "-p", "127.0.0.1::80", "busybox", "sh", "-c",
             "mkdir -p /www && echo hello-berth > /www/index.html && httpd -f -p 80 -h /www")
    try:
        out = d.docker("port", name).stdout.strip()
        assert out.startswith("80/tcp -> 127.0.0.1:"), out
        port = int(out.rsplit(":", 1)[1])
        assert _http_get(port).strip() == "hello-berth"
        info = d.inspect(name)
        binding = info["NetworkSettings"]["Ports"]["80/tcp"][0]
        assert binding == {"HostIp": "127.0.0.1", "HostPort": str(port)}
        assert info["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
        assert f"127.0.0.1:{port}->80/tcp" in d.docker("ps", "--filter", f"name={name}").stdout
    finally:
        d.docker("rm", "-f", name, check=False)


def test_port_taken_fails_start(wired) -> None:  # type: ignore[no-untyped-def]
    d = wired
    import socket

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    name = "taken-" + secrets.token_hex(3)
    try:
        r = d.docker("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:80", "busybox", "sleep", "30", check=False)
        assert r.returncode != 0
        assert "port is already allocated" in r.stderr
        # The failed start (the wiring fails while the rootfs is being mounted) leaves nothing:
        # no rootfs mount, and of the namespaces only the spares: the pool's (at most 2, the
        # default) and the one wired for the default bridge.
        assert d.inspect(name)["State"]["Status"] == "created"
        mounts = [line for line in Path("/proc/mounts").read_text().splitlines() if str(d.root) in line]
        assert all("/exec/netns/spare-" in line for line in mounts), mounts
        kept = list((d.exec_root / "netns").glob("*"))
        assert all(p.name.startswith("spare-") for p in kept) and len(kept) <= 3, kept
    finally:
        holder.close()
        d.docker("rm", "-f", name, check=False)


def test_user_network_names_and_isolation(wired) -> None:  # type: ignore[no-untyped-def]
    d = wired
    tag = secrets.token_hex(3)
    front, back = f"front-{tag}", f"back-{tag}"
    names = [f"db-{tag}", f"app-{tag}", f"other-{tag}"]
    d.docker("network", "create", front)
    d.docker("network", "create", back)
    try:
        d.docker("run", "-d", "--name", names[0], "--network", front, "--network-alias", "database", "busybox", "sleep", "60")
        d.docker("run", "-d", "--name", names[1], "--network", front, "busybox", "sleep", "60")
        d.docker("run", "-d", "--name", names[2], "--network", back, "busybox", "sleep", "60")
        db_ip = d.inspect(names[0])["NetworkSettings"]["Networks"][front]["IPAddress"]
        for target in (names[0], "database"):
            out = d.docker("exec", names[1], "nslookup", target).stdout
            assert db_ip in out, out
        assert d.docker("exec", names[1], "ping", "-c1", "-W2", names[0], check=False).returncode == 0
        assert d.docker("exec", names[2], "nslookup", names[0], check=False).returncode != 0 or db_ip not in d.docker("exec", names[2], "nslookup", names[0], check=False).stdout
        if not FORWARDING:
            assert d.docker("exec", names[2], "ping", "-c1", "-W1", db_ip, check=False).returncode != 0
        net = json.loads(d.docker("network", "inspect", front).stdout)[0]
        assert len(net["Containers"]) == 2
        r = d.docker("network", "rm", front, check=False)
        assert r.returncode != 0 and "active endpoints" in r.stderr
    finally:
        d.docker("rm", "-f", *names, check=False)
        d.docker("network", "rm", front, back, check=False)


def test_network_api_basics(wired) -> None:  # type: ignore[no-untyped-def]
    d = wired
    name = "n-" + secrets.token_hex(3)
    d.docker("network", "create", "--subnet", "10.213.5.0/24", "--label", "k=v", name)
    try:
        assert d.docker("network", "create", name, check=False).returncode != 0
        ls = d.docker("network", "ls", "--filter", "label=k=v", "--format", "{{.Name}}").stdout.split()
        assert ls == [name]
        net = json.loads(d.docker("network", "inspect", name).stdout)[0]
        assert net["IPAM"]["Config"] == [{"Subnet": "10.213.5.0/24", "Gateway": "10.213.5.1"}]
        r = d.docker("network", "rm", "bridge", check=False)
        assert "pre-defined" in r.stderr
    finally:
        d.docker("network", "rm", name, check=False)


def test_networks_changed_between_create_and_start(wired) -> None:  # type: ignore[no-untyped-def]
    """A start is prepared right after create (network planned, bundle written); a change before it is honoured."""
    d = wired
    tag = secrets.token_hex(3)
    net, name = f"late-{tag}", f"moved-{tag}"
    d.docker("network", "create", net)
    try:
        d.docker("create", "--name", name, "busybox", "ip", "-4", "-o", "addr", "show")
        time.sleep(0.2)  # the start's preparation has run: the default bridge is planned
        d.docker("network", "connect", net, name)
        d.docker("network", "disconnect", "bridge", name)
        out = d.docker("start", "-a", name).stdout
        subnet = json.loads(d.docker("network", "inspect", net).stdout)[0]["IPAM"]["Config"][0]["Subnet"]
        prefix = subnet.rsplit(".", 2)[0] + "."
        interfaces = [line.split()[1] for line in out.splitlines() if " inet " in line]
        assert interfaces == ["lo", "eth0"], out
        assert f"inet {prefix}" in out, (subnet, out)
        bridge = json.loads(d.docker("network", "inspect", "bridge").stdout)[0]
        assert name not in json.dumps(bridge["Containers"])
    finally:
        d.docker("rm", "-f", name, check=False)
        d.docker("network", "rm", net, check=False)
