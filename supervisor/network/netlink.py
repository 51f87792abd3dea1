"""Kernel networking: bridges, veth pairs, addresses, routes.

Every function here is blocking and meant for ``trio.to_thread.run_sync``.
What runs on every container start or exit (``create_veth``,
``delete_link``) goes through ``rtnl``'s plain netlink socket; the rest
(bridges at daemon start, listings) through pyroute2's ``IPRoute``.

Entering a container's network namespace: ``setns(2)`` with CLONE_NEWNET
changes the namespace of the calling *thread* only, so ``in_netns`` switches
the worker thread, opens a netlink socket there (a socket stays bound to the
namespace it was created in), and switches the thread back before returning
it to trio's thread cache. pyroute2's own netns support forks a helper
process per socket, which costs more than the whole veth setup.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from supervisor.errors import RuntimeFailed
from supervisor.network.rtnl import RtnlError, RtnlSocket

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def in_netns(path: str) -> Iterator[None]:
    """Run the block in the network namespace at ``path`` (this thread only).

    Raises:
        RuntimeFailed: the namespace cannot be entered.
    """
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            msg = f"cannot open network namespace {path}: {exc.strerror}"
            raise RuntimeFailed(msg) from exc
        try:
            _setns(target)
        except OSError as exc:
            msg = f"cannot enter network namespace {path}: {exc.strerror}"
            raise RuntimeFailed(msg) from exc
        finally:
            os.close(target)
        try:
            yield
        finally:
            try:
                _setns(own)
            except OSError:  # a thread stuck in a container's namespace must never be reused
                os.abort()
    finally:
        os.close(own)


def _fail(what: str, exc: Exception) -> RuntimeFailed:
    return RuntimeFailed(f"{what}: {exc}")


def host_routes() -> list[str]:
    """The IPv4 destinations (CIDR) of the host's main routing table, default route excluded."""
    out = []
    with IPRoute() as ipr:
        for route in ipr.route("dump", family=2, table=254):
            dst = route.get_attr("RTA_DST")
            if dst and route["dst_len"] > 0:
                out.append(f"{dst}/{route['dst_len']}")
    return out


def link_exists(name: str) -> bool:
    with IPRoute() as ipr:
        return bool(ipr.link_lookup(ifname=name))


def ensure_bridge(name: str, gateway: str, prefix_len: int, mtu: int = 1500) -> bool:
    """Create bridge ``name`` (if missing) with the gateway address, up. True if created."""
    try:
        with IPRoute() as ipr:
            found = ipr.link_lookup(ifname=name)
            created = not found
            if created:
                ipr.link("add", ifname=name, kind="bridge")
                found = ipr.link_lookup(ifname=name)
            index = found[0]
            ipr.link("set", index=index, mtu=mtu)
            have = {
                (a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(index=index, family=2)
            }
            if (gateway, prefix_len) not in have:
                ipr.addr("add", index=index, address=gateway, prefixlen=prefix_len)
            ipr.link("set", index=index, state="up")
            return created
    except NetlinkError as exc:
        raise _fail(f"cannot set up bridge {name}", exc) from exc


def delete_link(name: str) -> bool:
    """Delete the link ``name``; False if it was not there."""
    try:
        with RtnlSocket() as rtnl:
            rtnl.delete_link(name)
            return True
    except RtnlError as exc:
        if exc.errno == errno.ENODEV:
            return False
        msg = f"cannot delete link {name}"
        raise _fail(msg, exc) from exc


@dataclass(frozen=True, slots=True)
class VethPlan:
    """One veth pair to make: host side on ``bridge``, peer ``ifname`` inside ``netns_path``."""

    bridge: str
    host_ifname: str
    netns_path: str
    ifname: str
    address: str
    prefix_len: int
    mac: str
    mtu: int = 1500
    gateway: str = ""  # default route via this ("" = none: internal or secondary network)


def _bridge_index(rtnl: RtnlSocket, name: str) -> int:
    try:
        return rtnl.link_index(name)
    except RtnlError as exc:
        msg = f"bridge {name} does not exist"
        raise RuntimeFailed(msg) from exc


def create_veth(plan: VethPlan) -> None:
    """Make the pair, plug the host side into the bridge, configure the container side.

    Six rtnetlink requests (``rtnl``): the pair with the host side already up
    on the bridge and the peer already named, addressed (MAC) and moved into
    the namespace; then, inside it, the peer's address, link up, ``lo`` up and
    the default route. On failure the host side is deleted again (which
    deletes the peer).

    Raises:
        RuntimeFailed: any netlink error, with the step that failed.
    """
    fd = os.open(plan.netns_path, os.O_RDONLY | os.O_CLOEXEC)
    created = False
    try:
        with RtnlSocket() as rtnl:
            bridge = _bridge_index(rtnl, plan.bridge)
            rtnl.add_veth(
                plan.host_ifname, master=bridge, mtu=plan.mtu,
                peer_ifname=plan.ifname, peer_netns_fd=fd, peer_mac=plan.mac,
            )
            created = True
        _configure_inside(plan, lo=True)
    except RtnlError as exc:
        if created:
            with contextlib.suppress(RuntimeFailed):
                delete_link(plan.host_ifname)
        msg = f"cannot attach {plan.ifname} to {plan.bridge}"
        raise _fail(msg, exc) from exc
    except BaseException:
        if created:
            with contextlib.suppress(RuntimeFailed):
                delete_link(plan.host_ifname)
        raise
    finally:
        os.close(fd)


def _configure_inside(plan: VethPlan, *, lo: bool, mac: bool = False) -> None:
    """Inside the namespace: the peer's MAC and MTU (``mac``), address, link up, ``lo`` up, default route."""
    with in_netns(plan.netns_path):
        inside = RtnlSocket()
    with inside:
        index = inside.link_index(plan.ifname)
        if mac:
            inside.set_link(index, mtu=plan.mtu, up=False, mac=plan.mac)
        inside.add_address(index, plan.address, plan.prefix_len)
        inside.set_up(index)
        if lo:
            inside.set_up(inside.link_index("lo"))
        if plan.gateway:
            inside.add_default_route(plan.gateway)


def make_spare(netns_path: str, host_ifname: str, ifname: str = "eth0", mtu: int = 1500) -> None:
    """A namespace at ``netns_path`` with a veth pair waiting to be plugged in (``plug_veth``).

    The peer is already ``ifname`` inside (down, no address) and ``lo`` is up;
    the host side ``host_ifname`` is down and on no bridge. Making the
    namespace and the pair is most of a container's wiring cost, done here
    before any container asks for it.

    Raises:
        RuntimeFailed: the namespace or the pair could not be made (nothing is left behind).
    """
    create_netns(netns_path)
    try:
        fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            with RtnlSocket() as rtnl:
                rtnl.add_veth(
                    host_ifname, master=None, mtu=mtu, peer_ifname=ifname, peer_netns_fd=fd, peer_mac=None
                )
        finally:
            os.close(fd)
        with in_netns(netns_path):
            inside = RtnlSocket()
        with inside:
            inside.set_up(inside.link_index("lo"))
    except RtnlError as exc:
        delete_netns(netns_path)  # takes the pair with it
        what = "cannot make a spare network namespace"
        raise _fail(what, exc) from exc
    except BaseException:
        delete_netns(netns_path)
        raise


def plug_veth(plan: VethPlan) -> None:
    """Wire a spare's pair (``make_spare``) as ``create_veth`` would have made it.

    The host side ``plan.host_ifname`` joins the bridge and comes up; inside,
    the peer gets the MAC, MTU, address and route. Four requests instead of a
    new namespace and a new pair.

    Raises:
        RuntimeFailed: any netlink error, with the step that failed (the caller
            drops the namespace, which deletes the pair).
    """
    try:
        with RtnlSocket() as rtnl:
            bridge = _bridge_index(rtnl, plan.bridge)
            rtnl.set_link(rtnl.link_index(plan.host_ifname), mtu=plan.mtu, up=True, master=bridge)
        _configure_inside(plan, lo=False, mac=True)
    except RtnlError as exc:
        msg = f"cannot attach {plan.ifname} to {plan.bridge}"
        raise _fail(msg, exc) from exc


def links_with_prefix(prefixes: tuple[str, ...]) -> list[str]:
    """Names of host links starting with one of ``prefixes`` (leftover sweeps, tests)."""
    with IPRoute() as ipr:
        names = [link.get_attr("IFLA_IFNAME") for link in ipr.get_links()]
    return [n for n in names if n and n.startswith(prefixes)]


def bridge_ports(bridge: str) -> list[str]:
    """Names of the links enslaved to ``bridge``."""
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=bridge)
        if not found:
            return []
        return [
            link.get_attr("IFLA_IFNAME") for link in ipr.get_links() if link.get_attr("IFLA_MASTER") == found[0]
        ]


MS_BIND = 4096
MNT_DETACH = 2


def create_netns(path: str) -> None:
    """A new network namespace kept alive by a bind mount at ``path`` (what ``ip netns add`` does).

    Done in the calling (worker) thread: unshare(2) moves only this thread into
    the new namespace, which is bind-mounted and left again (``create_veth``
    brings its ``lo`` up).
    A container joins it through its OCI spec, so its network (veth, address,
    port proxies) survives the container's restarts.

    Raises:
        RuntimeFailed: the namespace could not be made.
    """
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o444)
        os.close(fd)
        if _libc.unshare(CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            msg = f"cannot create a network namespace: {os.strerror(err)}"
            raise RuntimeFailed(msg)
        try:
            if _libc.mount(b"/proc/thread-self/ns/net", path.encode(), None, MS_BIND, None) != 0:
                err = ctypes.get_errno()
                msg = f"cannot keep the network namespace at {path}: {os.strerror(err)}"
                raise RuntimeFailed(msg)
            # lo is brought up with the container's veth (create_veth), in the same netlink pass.
        finally:
            _setns(own)
    except BaseException:
        with contextlib.suppress(OSError):
            delete_netns(path)
        raise
    finally:
        os.close(own)


def delete_netns(path: str) -> None:
    """Drop a namespace made by ``create_netns``; the kernel frees it (and its veths) when unused."""
    _libc.umount2(path.encode(), MNT_DETACH)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
