"""create_veth and delete_link on the real kernel, through rtnl's plain netlink socket.

A scratch bridge and kept namespaces of the test's own; the links and
namespaces are removed in finally blocks and the host's link list is checked.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from supervisor.errors import RuntimeFailed
from supervisor.network import netlink
from supervisor.network.rtnl import RtnlError, RtnlSocket

pytestmark = pytest.mark.skipif(shutil.which("nsenter") is None, reason="needs nsenter")

SUBNET = "10.213.77"  # a bridge with no uplink: nothing leaves the host


def _in(ns: str, *cmd: str) -> str:
    return subprocess.run(["nsenter", f"--net={ns}", *cmd], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def scratch() -> Iterator[tuple[str, Path]]:
    if any(f"{SUBNET}." in r for r in netlink.host_routes()):
        pytest.skip(f"{SUBNET}.0/24 is in use on this host")
    before = set(netlink.links_with_prefix(("bv", "vv")))
    bridge = "bv" + secrets.token_hex(3)
    root = Path(tempfile.mkdtemp(prefix="berth-veth"))
    netlink.ensure_bridge(bridge, f"{SUBNET}.1", 24)
    try:
        yield bridge, root
    finally:
        for ns in root.iterdir():
            netlink.delete_netns(str(ns))
        for name in set(netlink.links_with_prefix(("bv", "vv"))) - before:
            netlink.delete_link(name)
        shutil.rmtree(root, ignore_errors=True)
    assert set(netlink.links_with_prefix(("bv", "vv"))) == before


def _plan(bridge: str, ns: Path, host: str, ifname: str = "eth0", gateway: str = f"{SUBNET}.1") -> netlink.VethPlan:
    return netlink.VethPlan(
        bridge=bridge, host_ifname=host, netns_path=str(ns), ifname=ifname,
        address=f"{SUBNET}.9", prefix_len=24, mac="02:42:0a:d5:4d:09", gateway=gateway,
    )


def test_veth_is_wired_inside_and_on_the_bridge(scratch: tuple[str, Path]) -> None:
    bridge, root = scratch
    ns = root / "a"
    netlink.create_netns(str(ns))
    host = "vv" + secrets.token_hex(3)
    netlink.create_veth(_plan(bridge, ns, host))
    addr = _in(str(ns), "ip", "-o", "-4", "addr")
    assert any(line.split()[1] == "eth0" and f"inet {SUBNET}.9/24" in line for line in addr.splitlines())
    links = _in(str(ns), "ip", "-o", "link")
    assert "02:42:0a:d5:4d:09" in links and "lo: <LOOPBACK,UP" in links
    assert "eth0@" in links and "state UP" in links.split("eth0@")[1].split("\n")[0]
    assert f"default via {SUBNET}.1 dev eth0" in _in(str(ns), "ip", "route")
    assert host in netlink.bridge_ports(bridge)
    # The container side answers from the host over the bridge.
    ping = subprocess.run(["ping", "-c1", "-W2", f"{SUBNET}.9"], capture_output=True) if shutil.which("ping") else None
    if ping is not None:
        assert ping.returncode == 0, ping.stderr
    assert netlink.delete_link(host) is True
    assert netlink.delete_link(host) is False  # ENODEV is "was not there", not an error
    assert "eth0" not in _in(str(ns), "ip", "-o", "link")  # the peer went with it


def test_failures_name_the_step_and_leave_nothing(scratch: tuple[str, Path]) -> None:
    bridge, root = scratch
    ns = root / "b"
    netlink.create_netns(str(ns))
    with pytest.raises(RuntimeFailed, match="bridge nobr0 does not exist"):
        netlink.create_veth(_plan("nobr0", ns, "vv" + secrets.token_hex(3)))
    first = "vv" + secrets.token_hex(3)
    netlink.create_veth(_plan(bridge, ns, first))
    # A second eth0 in the same namespace: the kernel says EEXIST; the new host side is removed again.
    second = "vv" + secrets.token_hex(3)
    with pytest.raises(RuntimeFailed, match=f"cannot attach eth0 to {bridge}: .*File exists"):
        netlink.create_veth(_plan(bridge, ns, second))
    assert second not in netlink.links_with_prefix(("vv",))
    netlink.delete_link(first)


def test_socket_reports_kernel_errors() -> None:
    with RtnlSocket() as rtnl:
        assert rtnl.link_index("lo") == 1
        with pytest.raises(RtnlError) as info:
            rtnl.link_index("no-such-link0")
        assert info.value.errno == 19  # ENODEV
