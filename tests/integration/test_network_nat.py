"""berth daemon --nat: containers reach beyond the host only when asked, and the host is left as found.

The "outside world" is a network namespace this test creates and joins to the
host with a veth on a /24 that collides with no route of the host; nothing
leaves the machine.
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import Daemon

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("nft") is None, reason="nft (nftables) not installed"),
]

FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _free_subnet() -> ipaddress.IPv4Network:
    """A /24 that overlaps none of the host's routes (and so none of its addresses)."""
    routes = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True).stdout
    taken = []
    for line in routes.splitlines():
        first = line.split()[1] if line.split()[0] in ("local", "broadcast") else line.split()[0]
        if first != "default":
            try:
                taken.append(ipaddress.ip_network(first, strict=False))
            except ValueError:
                continue
    for candidate in ("198.18.244.0/24", "198.19.244.0/24", "100.64.244.0/24"):
        net = ipaddress.ip_network(candidate)
        if not any(net.overlaps(t) for t in taken):
            return net
    pytest.skip("no free test subnet")


@pytest.fixture
def outside():
    """A namespace at .2 of a free /24 whose only route leads back to the host at .1."""
    net = _free_subnet()
    host_ip, peer_ip = str(net[1]), str(net[2])
    ns, host_if = "berth-t-outside", "bto-host"
    _ip("netns", "add", ns)
    try:
        _ip("link", "add", host_if, "type", "veth", "peer", "name", "bto-peer")
        _ip("link", "set", "bto-peer", "netns", ns)
        _ip("addr", "add", f"{host_ip}/24", "dev", host_if)
        _ip("link", "set", host_if, "up")
        _ip("-n", ns, "addr", "add", f"{peer_ip}/24", "dev", "bto-peer")
        _ip("-n", ns, "link", "set", "bto-peer", "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "route", "add", "default", "via", host_ip)
        yield peer_ip
    finally:
        subprocess.run(["ip", "link", "del", host_if], check=False, capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


def test_nat_is_opt_in_and_cleaned_up(daemon_factory, outside: str) -> None:
    before = FORWARD.read_text()
    plain: Daemon = daemon_factory()
    plain.start()
    plain.import_busybox()
    out = plain.docker("run", "--rm", "busybox", "ping", "-c1", "-W1", outside, check=False)
    if before.strip() == "0":
        assert out.returncode != 0  # no --nat: nothing is routed beyond the host
    plain.stop()

    nat: Daemon = daemon_factory()
    nat.start("--nat")
    nat.import_busybox()
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert "berth_" in tables
    out = nat.docker("run", "--rm", "busybox", "ping", "-c1", "-W2", outside, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    nat.stop()
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert "berth_" not in tables
    assert FORWARD.read_text() == before
