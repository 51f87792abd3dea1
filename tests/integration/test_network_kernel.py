"""The network manager on the real kernel, with processes in fresh namespaces standing in for containers.

Each "container" is ``unshare -n sleep`` (a new, empty network namespace, as
runc create leaves it); the manager wires it like the engine will. Traffic
goes only to loopback and to these namespaces. Every link, namespace holder
and process is removed in finally blocks, and the host's link list is
compared before and after.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trio

from supervisor.engine.model import ContainerSpec
from supervisor.errors import BerthError, RuntimeFailed
from supervisor.network.manager import NetworkConfig, NetworkManager
from supervisor.network.model import NetnsMode
from supervisor.network.netlink import links_with_prefix
from supervisor.network import prewired
from supervisor.network.prewired import Prewired
from supervisor.network.sandbox import NetworkPlan
from supervisor.network.spares import SparePool

pytestmark = pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("busybox") is None, reason="needs unshare and busybox")

FORWARDING = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "1"


def _links() -> set[str]:
    return set(links_with_prefix(("br-", "veth", "bt")))


@pytest.fixture
def root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="berth-net"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Sandboxes:
    """Processes in new network namespaces; all killed at the end."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def new(self, *cmd: str) -> int:
        argv = ["unshare", "-n", *(cmd or ("sleep", "60"))]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        # unshare execs the command: the pid is the namespace holder once the exec happened.
        # Compare the links' targets ("net:[inode]"): until unshare(2) ran, the pid is
        # still in the host's namespace, and wiring it would touch the host's links.
        host = os.readlink("/proc/self/ns/net")
        for _ in range(1000):
            try:
                if os.readlink(f"/proc/{proc.pid}/ns/net") != host:
                    return proc.pid
            except OSError:
                pass
            time.sleep(0.005)
        msg = f"unshare -n did not leave the host's network namespace: {argv}"
        raise RuntimeError(msg)

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait(10)


async def _in_ns(pid: int, *cmd: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["nsenter", "-t", str(pid), "-n", *cmd], capture_output=True, text=True, timeout=timeout)

    return await trio.to_thread.run_sync(run)


@pytest.fixture
def spare_netns() -> int:
    """The manager's spare namespaces (a test parametrizes it to 0 for the path without)."""
    return 2


@pytest.fixture
def bridge_subnet() -> str:
    """The default bridge's subnet ("": the manager chooses; a test parametrizes a tiny one)."""
    return ""


@pytest.fixture
async def env(
    root: Path, nursery: trio.Nursery, spare_netns: int, bridge_subnet: str
) -> AsyncIterator[tuple[NetworkManager, Sandboxes, str]]:
    before = _links()
    bridge = "bt" + secrets.token_hex(4)
    manager = NetworkManager(NetworkConfig(
        data_root=root, exec_root=root / "exec", bridge_name=bridge, spare_netns=spare_netns,
        bridge_subnet=bridge_subnet,
    ))
    scope = trio.CancelScope()
    sandboxes = Sandboxes()
    done = trio.Event()

    async def run(*, task_status: trio.TaskStatus[NetworkManager]) -> None:
        try:
            with scope:
                await manager.run(task_status=task_status)
        finally:
            done.set()

    try:
        await nursery.start(run)
        yield manager, sandboxes, bridge
    finally:
        scope.cancel()
        with trio.fail_after(20):
            await done.wait()
        sandboxes.close()
    leftovers = _links() - before
    for name in leftovers:
        subprocess.run(["ip", "link", "del", name], check=False)
    assert not leftovers, f"links left behind: {leftovers}"


def spec(network: str = "bridge", **kw: object) -> ContainerSpec:
    return ContainerSpec(image="busybox", cmd=("sh",), network_mode=network, **kw)  # type: ignore[arg-type]


async def test_default_bridge_attach_and_proxy(env) -> None:
    """eth0 with an address and a default route; a published port reaches the container."""
    manager, boxes, bridge = env
    bridge_net = manager.get("bridge")
    assert bridge_net.bridge == bridge
    pid = boxes.new("busybox", "nc", "-l", "-p", "80", "-e", "echo", "hello")
    s = spec(port_bindings={"80/tcp": ({"HostIp": "127.0.0.1", "HostPort": ""},)})
    cid = "a" * 64
    await manager.register(cid, s)
    plan = await manager.plan(cid, "web", s)
    # A namespace of its own, kept across the container's restarts until detach (here
    # attach wires the sandbox's own instead).
    assert plan.mode is NetnsMode.PATH and plan.hosts[0].names == ("aaaaaaaaaaaa",)
    assert plan.netns_path is not None
    att = await manager.attach(cid, "web", s, pid)
    assert att.primary is not None and att.primary.ip == plan.hosts[0].ip
    routes = (await _in_ns(pid, "ip", "route")).stdout
    assert f"default via {bridge_net.gateway} dev eth0" in routes
    port = att.ports[0].host_port
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        with trio.fail_after(5):
            assert (await stream.receive_some(100)).strip() == b"hello"
    settings = manager.inspect_settings(cid, s)
    assert settings["Ports"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert settings["Networks"]["bridge"]["IPAddress"] == att.primary.ip
    await manager.detach(cid)
    assert not os.path.exists(plan.netns_path)
    assert manager.inspect_settings(cid, s, running=False)["Ports"] == {}
    # the port is free again once detached
    again = await trio.open_tcp_listeners(port, host="127.0.0.1")
    for listener in again:
        await listener.aclose()


def _show_addrs(netns_path: str) -> str:
    out = subprocess.run(
        ["nsenter", f"--net={netns_path}", "ip", "-o", "link", "show"],
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout
    out += subprocess.run(
        ["nsenter", f"--net={netns_path}", "ip", "-o", "-4", "addr", "show"],
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout
    return out.replace("\\", " ")


async def _pool_filled(pool: SparePool) -> None:
    """Wait (at most 10 s) until the pool holds its full count of spares."""
    with trio.fail_after(10):
        while len(pool) < pool.size:
            await trio.sleep(0.01)


def _host_link(name: str) -> str:
    return subprocess.run(["ip", "-o", "link", "show", name], capture_output=True, text=True, check=False).stdout


async def _prewired(manager: NetworkManager) -> Prewired:
    """Wait (at most 10 s) for the spare wired for the default bridge."""
    with trio.fail_after(10):
        while manager._prewired is None:
            await trio.sleep(0.01)
    return manager._prewired


async def test_spare_namespace_is_plugged_in(env) -> None:
    """A start on a user network takes a namespace made ahead of need; attach plugs its veth in."""
    manager, _, _ = env
    net = await manager.create_network("spare-" + secrets.token_hex(3))
    pool = manager._spares
    await _prewired(manager)
    await _pool_filled(pool)
    spare_paths = {s.netns_path for s in pool._ready}
    s = spec(net.name)
    cid = "d" * 64
    await manager.register(cid, s)
    plan = await manager.plan(cid, "spare", s)
    assert plan.netns_path in spare_paths
    try:
        att = await manager.attach(cid, "spare", s)
        primary = att.primary
        assert primary is not None and primary.ifname == "eth0"
        shown = await trio.to_thread.run_sync(_show_addrs, plan.netns_path)
        assert f"eth0    inet {primary.ip}/{primary.prefix_len}" in shown
        assert f"link/ether {primary.mac}" in shown
        assert "lo    inet 127.0.0.1/8" in shown
        host = await trio.to_thread.run_sync(_host_link, primary.host_ifname)
        assert f"master {net.bridge}" in host
        assert "state UP" in host or "LOWER_UP" in host
        await _pool_filled(pool)  # the pool made the next one
        assert plan.netns_path not in {s.netns_path for s in pool._ready}
    finally:
        await manager.detach(cid)
    assert not os.path.exists(plan.netns_path)
    await manager.remove_network(net.name)


async def test_default_bridge_start_takes_the_wired_spare(env) -> None:
    """The spare wired ahead of need is exactly what attach would have made; attach does nothing more."""
    manager, _, bridge = env
    wired = await _prewired(manager)
    spare = wired.spare
    # Before any container: host side on the bridge and up; inside, eth0 addressed with a route.
    host = await trio.to_thread.run_sync(_host_link, spare.host_ifname)
    assert f"master {bridge}" in host and ("state UP" in host or "LOWER_UP" in host)
    shown = await trio.to_thread.run_sync(_show_addrs, spare.netns_path)
    assert f"eth0    inet {wired.plan.address}/" in shown
    assert f"link/ether {wired.plan.mac}" in shown
    s = spec()
    cid = "e" * 64
    await manager.register(cid, s)
    plan = await manager.plan(cid, "wired", s)
    assert plan.netns_path == spare.netns_path
    assert plan.hosts[0].ip == wired.plan.address
    try:
        att = await manager.attach(cid, "wired", s)
        primary = att.primary
        assert primary is not None
        assert (primary.ip, primary.host_ifname, primary.mac) == (wired.plan.address, spare.host_ifname, wired.plan.mac)
        assert manager.inspect_settings(cid, s)["Networks"]["bridge"]["IPAddress"] == primary.ip
        routes = await trio.to_thread.run_sync(lambda: subprocess.run(
            ["nsenter", f"--net={plan.netns_path}", "ip", "route"], capture_output=True, text=True, check=True,
        ).stdout)
        assert f"default via {manager.get('bridge').gateway} dev eth0" in routes
        # The slot is wired again from the pool, with another namespace and address.
        again = await _prewired(manager)
        assert again.spare != spare and again.plan.address != primary.ip
    finally:
        await manager.detach(cid)
    assert not os.path.exists(plan.netns_path)
    with trio.fail_after(10):  # the pair is deleted in the background
        while await trio.to_thread.run_sync(_host_link, spare.host_ifname):
            await trio.sleep(0.02)


async def _planned_ahead(manager: NetworkManager, cid: str) -> tuple[Prewired, ContainerSpec, NetworkPlan]:
    """A created container's network planned ahead of its start (``engine.early``): it took the wired spare."""
    wired = await _prewired(manager)
    s = spec()
    await manager.register(cid, s)
    plan = await manager.plan(cid, "created", s)
    assert plan.netns_path == wired.spare.netns_path
    return wired, s, plan


async def test_a_plan_never_attached_is_released_by_forget(env) -> None:
    """A bundle written ahead of a start that never came: the removal frees namespace, veth and address."""
    manager, _, _ = env
    cid = "a" * 64
    wired, _, plan = await _planned_ahead(manager, cid)
    assert manager.joinable(cid)  # the spare's namespace exists: a runtime may join it now
    await manager.forget(cid)
    assert not manager.joinable(cid)
    assert not os.path.exists(plan.netns_path)
    assert manager.state.ipam.address_of(wired.network_id, cid) is None
    with trio.fail_after(10):  # the pair is deleted in the background
        while await trio.to_thread.run_sync(_host_link, wired.spare.host_ifname):
            await trio.sleep(0.02)


async def test_a_plan_never_attached_is_dropped_when_its_networks_change(env) -> None:
    """Disconnected from the default bridge before its start: the spare wired for it goes, the start plans again."""
    manager, _, _ = env
    cid = "b" * 64
    wired, s, plan = await _planned_ahead(manager, cid)
    await manager.disconnect("bridge", cid, s)
    assert not os.path.exists(plan.netns_path)
    assert manager.state.ipam.address_of(wired.network_id, cid) is None
    again = await manager.plan(cid, "created", s)
    assert again.netns_path != plan.netns_path
    await manager.forget(cid)


async def test_a_failed_plan_gives_the_wired_spare_back(env) -> None:
    manager, _, _ = env
    wired = await _prewired(manager)
    net = await manager.create_network("full-" + secrets.token_hex(3), subnet="10.231.9.0/30")
    other = "9" * 64
    await manager.register(other, spec(net.name))
    await manager.plan(other, "taker", spec(net.name))  # the /30's one address
    cid = "8" * 64
    s = spec()
    await manager.register(cid, s, {net.name: ()})
    with pytest.raises(BerthError, match="no available IPv4 addresses"):
        await manager.plan(cid, "late", s)
    assert manager._prewired is wired
    assert manager.state.ipam.address_of(wired.network_id, wired.owner) == wired.plan.address
    await manager.detach(other)
    await manager.forget(cid)
    await manager.remove_network(net.name)


@pytest.mark.parametrize("bridge_subnet", ["10.231.11.0/30"])  # one address besides the gateway
async def test_a_full_default_bridge_leaves_the_wired_slot_empty_until_an_address_frees(
    env, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager, _, _ = env
    monkeypatch.setattr(prewired, "FULL_SUBNET_DELAY", 0.05)
    wired = await _prewired(manager)  # it holds the only address
    first, second = "1" * 64, "2" * 64
    await manager.register(first, spec())
    await manager.register(second, spec())
    plan = await manager.plan(first, "first", spec())
    assert plan.hosts[0].ip == wired.plan.address
    await manager.attach(first, "first", spec())
    await trio.sleep(0.3)  # the slot tries again and again, quietly
    assert manager._prewired is None
    with pytest.raises(BerthError, match="no available IPv4 addresses"):
        await manager.plan(second, "second", spec())
    await manager.detach(first)
    again = await _prewired(manager)  # the address is free again
    assert again.plan.address == wired.plan.address
    await manager.forget(first)
    await manager.forget(second)


async def test_a_spare_that_cannot_be_plugged_in_leaves_nothing(env) -> None:
    """The bridge vanished under the daemon: the start fails and the spare's pair goes too."""
    manager, _, _ = env
    net = await manager.create_network("gone-" + secrets.token_hex(3))
    pool = manager._spares
    await _prewired(manager)
    await _pool_filled(pool)
    spare = pool._ready[0]
    await trio.to_thread.run_sync(lambda: subprocess.run(["ip", "link", "del", net.bridge], check=True))
    s = spec(net.name)
    cid = "f" * 64
    await manager.register(cid, s)
    plan = await manager.plan(cid, "orphaned", s)
    assert plan.netns_path == spare.netns_path
    with pytest.raises(RuntimeFailed, match="does not exist"):
        await manager.attach(cid, "orphaned", s)
    assert not os.path.exists(plan.netns_path)
    with trio.fail_after(10):  # deleted in the background
        while await trio.to_thread.run_sync(_host_link, spare.host_ifname):
            await trio.sleep(0.02)
    await manager.forget(cid)
    await manager.remove_network(net.name)


@pytest.mark.parametrize("spare_netns", [0])
async def test_kept_namespace_is_made_with_the_first_veth(env) -> None:
    """Without spares, attach (pid 0, before the runtime runs) makes the namespace plan named, and wires it."""
    manager, _, _ = env
    s = spec()
    cid = "c" * 64
    await manager.register(cid, s)
    plan = await manager.plan(cid, "early", s)
    assert plan.netns_path is not None and not os.path.exists(plan.netns_path)
    assert not manager.joinable(cid)  # only named: nothing made ahead joins it before attach
    try:
        att = await manager.attach(cid, "early", s)
        assert att.primary is not None
        assert os.path.exists(plan.netns_path)
        assert manager.joinable(cid)

        addrs = await trio.to_thread.run_sync(_show_addrs, plan.netns_path)
        assert f"eth0    inet {att.primary.ip}/" in addrs
        assert "lo    inet 127.0.0.1/8" in addrs
        # A second run of the same container (a policy restart) finds it wired already.
        again = await manager.attach(cid, "early", s)
        assert again.primary == att.primary
    finally:
        await manager.detach(cid)
    assert not os.path.exists(plan.netns_path)


async def test_user_network_dns_and_isolation(env) -> None:
    """Names resolve on a shared network; a container on another network cannot reach them."""
    manager, boxes, _ = env
    front = await manager.create_network("front-" + secrets.token_hex(3))
    back = await manager.create_network("back-" + secrets.token_hex(3))
    web_pid, db_pid, other_pid = boxes.new(), boxes.new(), boxes.new()
    web, db, other = "1" * 64, "2" * 64, "3" * 64
    await manager.register(web, spec(front.name))
    await manager.register(db, spec(front.name), {front.name: ("database",)})
    await manager.register(other, spec(back.name))
    plan = await manager.plan(web, "web", spec(front.name))
    assert plan.nameservers == (front.gateway,)
    await manager.attach(web, "web", spec(front.name), web_pid)
    db_att = await manager.attach(db, "db", spec(front.name), db_pid)
    await manager.attach(other, "other", spec(back.name), other_pid)
    for name in ("db", "database"):
        out = await _in_ns(web_pid, "busybox", "nslookup", name, front.gateway)
        assert db_att.primary.ip in out.stdout, out
    ping = await _in_ns(web_pid, "busybox", "ping", "-c1", "-W2", db_att.primary.ip)
    assert ping.returncode == 0, ping
    out = await _in_ns(other_pid, "busybox", "nslookup", "db", back.gateway)
    assert db_att.primary.ip not in out.stdout
    if not FORWARDING:
        ping = await _in_ns(other_pid, "busybox", "ping", "-c1", "-W1", db_att.primary.ip)
        assert ping.returncode != 0
    with pytest.raises(BerthError, match="active endpoints"):
        await manager.remove_network(front.name)
    for cid in (web, db, other):
        await manager.detach(cid)
    await manager.remove_network(front.name)
    await manager.remove_network(back.name)


async def test_internal_network_has_no_default_route(env) -> None:
    manager, boxes, _ = env
    net = await manager.create_network("int-" + secrets.token_hex(3), internal=True, subnet="10.231.7.0/24")
    pid = boxes.new()
    cid = "4" * 64
    await manager.register(cid, spec(net.name))
    att = await manager.attach(cid, "x", spec(net.name), pid)
    assert att.primary.ip.startswith("10.231.7.")
    routes = (await _in_ns(pid, "ip", "route")).stdout
    assert "default" not in routes
    await manager.detach(cid)
    await manager.remove_network(net.name)


async def test_taken_port_fails_attach_without_leftovers(env) -> None:
    manager, boxes, _ = env
    holder = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = holder[0].socket.getsockname()[1]
    try:
        pid = boxes.new()
        s = spec(port_bindings={"80/tcp": ({"HostIp": "127.0.0.1", "HostPort": str(port)},)})
        cid = "5" * 64
        await manager.register(cid, s)
        with pytest.raises(RuntimeFailed, match="port is already allocated"):
            await manager.attach(cid, "web", s, pid)
        assert manager.state.ipam.address_of(manager.get("bridge").id, cid) is None
        assert not manager.containers_of(manager.get("bridge").id)
    finally:
        for listener in holder:
            await listener.aclose()


async def test_connect_live_and_disconnect(env) -> None:
    manager, boxes, _ = env
    extra = await manager.create_network("extra-" + secrets.token_hex(3))
    pid = boxes.new()
    cid = "6" * 64
    from supervisor.network.model import EndpointConfig

    await manager.register(cid, spec())
    await manager.attach(cid, "c", spec(), pid)
    await manager.connect(extra.name, cid, "c", spec(), EndpointConfig(("alias1",)), running_pid=pid)
    addrs = (await _in_ns(pid, "ip", "-br", "addr")).stdout
    assert "eth1" in addrs
    assert set(manager.inspect_settings(cid, spec())["Networks"]) == {"bridge", extra.name}
    await manager.disconnect(extra.name, cid, spec())
    assert "eth1" not in (await _in_ns(pid, "ip", "-br", "addr")).stdout
    await manager.detach(cid)
    await manager.remove_network(extra.name)


async def test_definitions_survive_restart(root: Path) -> None:
    """A user network and the default bridge keep their subnets; no link outlives either run."""
    before = _links()
    bridge = "bt" + secrets.token_hex(4)
    config = NetworkConfig(data_root=root, exec_root=root / "exec", bridge_name=bridge)
    first = NetworkManager(config)
    async with trio.open_nursery() as nursery:
        await nursery.start(first.run)
        net = await first.create_network("keep-" + secrets.token_hex(3), labels={"k": "v"})
        default_subnet = first.get("bridge").subnet
        nursery.cancel_scope.cancel()
    assert _links() - before == set()
    second = NetworkManager(config)
    async with trio.open_nursery() as nursery:
        await nursery.start(second.run)
        again = second.get(net.name)
        assert (again.id, again.subnet, again.labels) == (net.id, net.subnet, {"k": "v"})
        assert second.get("bridge").subnet == default_subnet
        assert again.bridge in _links()
        await second.remove_network(net.name)
        nursery.cancel_scope.cancel()
    assert _links() - before == set()
