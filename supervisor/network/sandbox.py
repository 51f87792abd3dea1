"""The container side of a network: a run's namespace, veths, addresses and published ports.

Split out of ``manager.py`` (``NetworkManager`` inherits this mixin), in the
order a run uses it:

- ``plan`` (before the bundle is written): addresses from IPAM, the
  container's /etc/hosts line, the resolver for resolv.conf, and the
  namespace the container will join: a spare made ahead of need
  (``spares``), or one only named here and made with the first veth.
- ``attach`` (before the runtime runs, while the rootfs is mounted): the
  veth pairs (a spare's plugged in, others made), port proxies bound and
  served. With a ``pid``, the namespace of that process is wired instead.
- ``running`` once the runtime ran; ``detach`` after the last exit:
  proxies stopped, veths deleted in the background, addresses released, the
  namespace dropped. A policy restart keeps it all (no ``detach``).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from supervisor import background
from supervisor.engine.etcfiles import HostEntry, own_host_entry
from supervisor.engine.model import ContainerSpec
from supervisor.errors import BerthError, Conflict, NotFound, RuntimeFailed
from supervisor.network import netlink
from supervisor.network.model import (
    BRIDGE,
    HOST,
    Endpoint,
    EndpointConfig,
    NetnsMode,
    Network,
    mac_for,
)
from supervisor.network.ports import PortBinding, plan_ports
from supervisor.network.prewired import PrewiredMixin
from supervisor.network.proxy import BoundPort, bind_port, serve_port
from supervisor.network.spares import SPARE_IFNAME, SparePool, TakenSpare

if TYPE_CHECKING:
    from pathlib import Path

    from supervisor.network.store import NetworkState

PidOf = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class NetworkPlan:
    """What the bundle needs before runc create (from ``plan``)."""

    mode: NetnsMode
    netns_path: str | None = None  # for NetnsMode.PATH
    hosts: tuple[HostEntry, ...] = ()  # the container's own /etc/hosts line(s)
    nameservers: tuple[str, ...] = ()  # the resolver for resolv.conf; () = the host's


@dataclass(frozen=True, slots=True)
class Attachment:
    """A container's live networking after ``attach``."""

    container_id: str
    endpoints: tuple[Endpoint, ...] = ()
    ports: tuple[PortBinding, ...] = ()

    @property
    def primary(self) -> Endpoint | None:
        return self.endpoints[0] if self.endpoints else None


@dataclass
class Live:
    """A container's network while it runs: its namespace, endpoints and published ports."""

    name: str
    hostname: str
    pid: int
    netns_path: str
    endpoints: dict[str, Endpoint] = field(default_factory=dict)  # network id -> endpoint
    ports: list[PortBinding] = field(default_factory=list)
    proxies: trio.CancelScope = field(default_factory=trio.CancelScope)
    attached: bool = False


def netns_mode(spec: ContainerSpec) -> NetnsMode:
    """How the container's namespace is made, from its network mode alone."""
    if spec.network_mode == HOST:
        return NetnsMode.HOST
    if spec.network_mode.startswith("container:"):
        return NetnsMode.PATH
    return NetnsMode.NEW

class SandboxMixin(PrewiredMixin):
    """Plan, attach and detach containers' runs; mixed into ``NetworkManager`` (which provides the attributes)."""

    # Provided by NetworkManager.
    config: Any
    state: NetworkState
    _live: dict[str, Live]
    _resolvers: dict[str, trio.CancelScope]
    _doomed: set[str]
    _task_done: dict[trio.CancelScope, trio.Event]
    _netns: dict[str, str]
    _netns_unmade: set[str]
    _netns_dir: Path
    _spares: SparePool
    _taken: dict[str, TakenSpare]
    _nursery: trio.Nursery | None

    if TYPE_CHECKING:
        def _configs(self, container_id: str, spec: ContainerSpec) -> dict[str, EndpointConfig]: ...

    def _make_netns(self, path: str) -> None:
        """The directory and the namespace (worker thread)."""
        self._netns_dir.mkdir(0o700, parents=True, exist_ok=True)
        netlink.create_netns(path)

    def _wire_sync(self, container_id: str, plan: netlink.VethPlan) -> None:
        """Make the container's namespace if ``plan`` only named it, then its veth: one worker-thread call."""
        if container_id in self._netns_unmade and plan.netns_path == self._netns.get(container_id):
            self._make_netns(plan.netns_path)
            self._netns_unmade.discard(container_id)
        netlink.create_veth(plan)

    # --- container side: a run ---------------------------------------------------------

    def netns(self, spec: ContainerSpec, pid_of: PidOf) -> tuple[NetnsMode, str | None]:
        """(mode, path) for the spec builder; ``pid_of(ref)`` gives a container's init pid (0: not running).

        Raises:
            Conflict: container:NAME names a container that does not run.
        """
        mode = netns_mode(spec)
        if mode is not NetnsMode.PATH:
            return mode, None
        ref = spec.network_mode.partition(":")[2]
        pid = pid_of(ref)
        if not pid:
            msg = f"cannot join network namespace of a non running container: {ref}"
            raise Conflict(msg)
        return mode, f"/proc/{pid}/ns/net"

    async def plan(
        self, container_id: str, name: str, spec: ContainerSpec, pid_of: PidOf | None = None
    ) -> NetworkPlan:
        """Reserve the run's addresses and say what the bundle needs (before runc create).

        Raises:
            NotFound: a network of the container no longer exists.
            Conflict: container:NAME does not run; a static address is taken.
        """
        mode, path = self.netns(spec, pid_of or (lambda _ref: 0)) if spec.network_mode.startswith("container:") else (netns_mode(spec), None)
        if mode is not NetnsMode.NEW:
            return NetworkPlan(mode, path)
        configs = self._configs(container_id, spec)
        for nid in configs:
            if nid not in self.state.networks:
                msg = f"network {nid} not found"
                raise NotFound(msg)
        hosts: list[HostEntry] = []
        nameservers: tuple[str, ...] = ()
        # The spare wired for the default bridge, if it fits: its address becomes this container's.
        adopted = self._adopt_prewired(container_id, configs) if container_id not in self._netns else None
        try:
            for i, (nid, cfg) in enumerate(configs.items()):
                n = self.state.networks[nid]
                ip = self.state.ipam.allocate(nid, n.subnet, n.gateway, container_id, cfg.ipv4_address)
                if i == 0:
                    hosts.append(own_host_entry(ip, spec.hostname or container_id[:12], spec.domainname))
                    if n.name != BRIDGE and nid in self._resolvers:
                        nameservers = (n.gateway,)
        except BerthError:
            self.state.ipam.release_owner(container_id)
            if adopted is not None:
                self._return_prewired(container_id, adopted)
            raise
        # Not saved: a run's addresses are released at every daemon start (no
        # container survives a restart), so writing them on the start path buys nothing.
        if not configs:
            return NetworkPlan(NetnsMode.NEW, None, tuple(hosts), nameservers)
        path = self._netns.get(container_id)
        if path is None:
            # A namespace of its own that outlives each run: a policy restart joins it
            # again and finds its veth, address and published ports still in place.
            spare = self._spares.take_nowait()
            if spare is not None:
                # Made ahead of need, its veth pair ready: ``attach`` only plugs it in.
                path = spare.netns_path
                self._taken[container_id] = TakenSpare(spare.host_ifname)
            else:
                # Only named here: ``attach`` makes it with the first veth, in one thread call.
                path = str(self._netns_dir / container_id)
                self._netns_unmade.add(container_id)
            self._netns[container_id] = path
        return NetworkPlan(NetnsMode.PATH, path, tuple(hosts), nameservers)

    async def attach(self, container_id: str, name: str, spec: ContainerSpec, pid: int = 0) -> Attachment:
        """Wire the container's network namespace to its networks and publish its ports.

        The engine calls this before the runtime runs the container, on the
        namespace ``plan`` made (``pid`` 0), so the user's process starts with
        its network ready. With a ``pid``, the namespace of that process is
        wired instead (a process that made its own).

        Raises:
            RuntimeFailed: a link could not be made, or a port is taken (Docker's
                "port is already allocated" message): the start must fail.
        """
        kept = self._live.get(container_id)
        if kept is not None and kept.attached and container_id in self._netns:
            # A restart into the namespace kept from the previous run: all still wired.
            kept.pid = pid
            return Attachment(container_id, tuple(kept.endpoints.values()), tuple(kept.ports))
        live = Live(name=name, hostname=spec.hostname or container_id[:12], pid=pid, netns_path="")
        if netns_mode(spec) is not NetnsMode.NEW:
            self._live[container_id] = live
            live.attached = True
            return Attachment(container_id)
        configs = self._configs(container_id, spec)
        if any(self.state.ipam.address_of(nid, container_id) is None for nid in configs):
            await self.plan(container_id, name, spec)
        live.netns_path = f"/proc/{pid}/ns/net" if pid else self._netns.get(container_id, "")
        if configs and not live.netns_path:
            msg = f"container {container_id[:12]} has no network namespace to attach"
            raise RuntimeFailed(msg)
        self._live[container_id] = live
        try:
            for nid, cfg in configs.items():
                await self._connect_live(container_id, live, self.state.networks[nid], cfg, primary=not live.endpoints)
            await self._publish_ports(container_id, live, spec)
        except BaseException:
            with trio.CancelScope(shield=True):
                await self.detach(container_id)
            raise
        live.attached = True
        return Attachment(container_id, tuple(live.endpoints.values()), tuple(live.ports))

    def joinable(self, container_id: str) -> bool:
        """Whether the namespace ``plan`` named for the container exists already (a spare, or a kept one).

        A runtime may then join it before ``attach`` (``engine.primed``); one
        only named waits for ``attach`` to make it with its first veth.
        """
        return container_id in self._netns and container_id not in self._netns_unmade

    def running(self, container_id: str, pid: int) -> None:
        """The attached container's init now runs as ``pid`` (its namespace names it where none was kept)."""
        live = self._live.get(container_id)
        if live is not None:
            live.pid = pid
            live.netns_path = live.netns_path or f"/proc/{pid}/ns/net"

    async def _connect_live(
        self, container_id: str, live: Live, n: Network, cfg: EndpointConfig, *, primary: bool
    ) -> Endpoint:
        ip = self.state.ipam.allocate(n.id, n.subnet, n.gateway, container_id, cfg.ipv4_address)
        ifname = f"eth{len(live.endpoints)}"
        used = {e.ifname for e in live.endpoints.values()}
        k = 0
        while ifname in used:
            k += 1
            ifname = f"eth{k}"
        taken = None
        if ifname == SPARE_IFNAME and live.netns_path == self._netns.get(container_id):
            taken = self._taken.pop(container_id, None)
        if taken is not None and taken.wired_address not in ("", ip):
            # Unreachable while plan hands the spare's own address over; never wire it twice.
            self._taken[container_id] = taken  # detach deletes the pair
            msg = f"the wired spare has {taken.wired_address}, not {ip}"
            raise RuntimeFailed(msg)
        endpoint = Endpoint(
            network_id=n.id, network_name=n.name, endpoint_id=secrets.token_hex(32), ip=ip,
            prefix_len=n.prefix_len, gateway=n.gateway, mac=mac_for(ip),
            host_ifname=taken.host_ifname if taken else "veth" + secrets.token_hex(4)[:7],
            ifname=ifname, aliases=cfg.aliases,
        )
        if taken is not None and taken.wired_address:
            # Wired ahead of need for exactly this address (``prewired``): nothing to do.
            live.endpoints[n.id] = endpoint
            return endpoint
        plan = netlink.VethPlan(
            bridge=n.bridge, host_ifname=endpoint.host_ifname, netns_path=live.netns_path,
            ifname=ifname, address=ip, prefix_len=n.prefix_len, mac=endpoint.mac, mtu=n.mtu,
            gateway=n.gateway if primary and not n.internal else "",
        )
        if taken is not None:
            try:
                await trio.to_thread.run_sync(netlink.plug_veth, plan)
            except BaseException:
                self._taken[container_id] = taken  # still unplugged: detach deletes the pair
                raise
        else:
            await trio.to_thread.run_sync(self._wire_sync, container_id, plan)
        live.endpoints[n.id] = endpoint
        return endpoint

    async def _publish_ports(self, container_id: str, live: Live, spec: ContainerSpec) -> None:
        requests = plan_ports(spec.port_bindings, spec.exposed_ports, spec.publish_all_ports)
        primary = next(iter(live.endpoints.values()), None)
        if not requests or primary is None:
            return
        desc = f"{live.name} ({primary.endpoint_id})"
        bound: list[BoundPort] = []
        try:
            for req in requests:
                bound.append(await bind_port(req, desc))
        except BaseException:
            for b in bound:
                b.close()
            raise
        if self._nursery is None:
            for b in bound:
                b.close()
            msg = "the network manager is not running"
            raise BerthError(msg)
        scope = live.proxies
        done = self._task_done[scope] = trio.Event()

        async def serve_all(*, task_status: trio.TaskStatus[None]) -> None:
            try:
                with scope:
                    async with trio.open_nursery() as nursery:
                        for b in bound:
                            await nursery.start(serve_port, b, (primary.ip, b.binding.container_port))
                        task_status.started()
            finally:
                done.set()
                self._task_done.pop(scope, None)

        await self._nursery.start(serve_all)
        live.ports = [b.binding for b in bound]

    async def detach(self, container_id: str) -> None:
        """The run ended (or its start failed): stop proxies, delete veths, release addresses."""
        live = self._live.pop(container_id, None)
        names: list[str] = []
        if live is not None:
            live.proxies.cancel()
            done = self._task_done.get(live.proxies)
            if done is not None:
                # The published ports are free again when detach returns.
                with trio.move_on_after(5):
                    await done.wait()
            names = [e.host_ifname for e in live.endpoints.values()]
        taken = self._taken.pop(container_id, None)
        if taken is not None:  # a spare taken, its endpoint never recorded: its pair goes too
            names.append(taken.host_ifname)
        if names:
            self._doomed.update(names)

            def remove() -> None:
                for link in names:
                    with contextlib.suppress(BerthError):
                        netlink.delete_link(link)
                    self._doomed.discard(link)

            if self._nursery is not None:
                # Deleting a veth costs ~17 ms in the kernel (and the kernel deletes it
                # anyway once the container's namespace is gone): never on the exit path.
                self._nursery.start_soon(background.run_sync, remove)
            else:
                await trio.to_thread.run_sync(remove)
        self.state.ipam.release_owner(container_id)
        path = self._netns.pop(container_id, None)
        if path is not None and container_id not in self._netns_unmade:
            # Inline: a lazy unmount of an nsfs bind and an unlink under the exec root
            # take microseconds (the kernel frees the namespace in its own worker).
            netlink.delete_netns(path)
        self._netns_unmade.discard(container_id)
