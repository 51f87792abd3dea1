"""The network manager: the one object the engine, the daemon and the API talk to.

Theory of operation:

- ``run`` (a service in the daemon's root nursery, started before the
  engine) loads the persisted state, sets up the pre-defined networks
  (``bridge`` gets a subnet that collides with no host route, chosen once and
  kept), brings up a bridge per network and a DNS resolver per user network,
  and hosts the resolvers and port proxies in its own nursery. When
  cancelled it deletes every veth and bridge it made; the definitions stay on
  disk. Containers do not survive a daemon restart, so no address is in use
  when ``run`` starts: every IPAM allocation is released then.
- A container's run: ``plan`` → ``attach`` (before the runtime runs) →
  ``detach`` after the last exit; see ``sandbox``, which this class inherits.
- What a container asked for on each network (aliases, a static address) is
  its endpoint config, recorded at create (``register``) and by
  connect/disconnect, kept until the container is removed (``forget``).
- Isolation without a firewall: containers on different bridges can reach
  each other only if the host routes between the bridges, which needs
  net.ipv4.ip_forward=1. berth never sets it; with forwarding off (the
  default) the kernel drops such packets. With forwarding on and no
  firewall, they are NOT isolated: see ``isolation_note``.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import ipaddress
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import trio

from supervisor._logging import get_logger
from supervisor.activity import Activity
from supervisor.engine.model import ContainerSpec
from supervisor.errors import (
    BerthError,
    InvalidArgument,
    NotFound,
)
from supervisor.network import netlink
from supervisor.network.definitions import DefinitionsMixin, new_network_id
from supervisor.network.model import (
    BRIDGE,
    HOST,
    NONE,
    Driver,
    Endpoint,
    EndpointConfig,
    NetnsMode,
    Network,
)
from supervisor.network.nat import NatNetwork, NatRules
from supervisor.network.ports import PortBinding, plan_ports, port_map, summary
from supervisor.network.prewired import Prewired
from supervisor.network.resolver import Resolver, host_nameservers
from supervisor.network.sandbox import Live, SandboxMixin, netns_mode
from supervisor.network.spares import SparePool, TakenSpare
from supervisor.network.store import NetworkState, load_state, save_state, state_path
from supervisor.network.subnets import (
    DEFAULT_CANDIDATES,
    choose_subnet,
    gateway_for,
    parse_subnet,
)

log = get_logger(__name__)

DEFAULT_DATA_ROOT = Path("/var/lib/berth")


def isolation_note() -> str:
    """What the host guarantees about traffic between networks, read from its sysctl."""
    try:
        forward = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "1"
    except OSError:
        forward = False
    if forward:
        return "net.ipv4.ip_forward=1: the host routes between bridges; networks are not isolated without a firewall"
    return "net.ipv4.ip_forward=0: the host routes nothing between bridges; networks are isolated"


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    """Daemon options for networking."""

    data_root: Path
    exec_root: Path
    bridge_name: str = ""  # "" = berth0 for the default data root, else berth-<hash>
    nat: bool = False  # --nat: outbound masquerade + ip_forward (see nat.py); off by default
    bridge_subnet: str = ""  # --bridge-subnet: the default bridge's subnet ("" = choose)
    mtu: int = 1500
    host_resolv_conf: str = ""
    subnet_candidates: tuple[str, ...] = DEFAULT_CANDIDATES
    spare_netns: int = 2  # --spare-netns: namespaces with a veth pair made ahead of need (spares.py)

    def default_bridge_name(self) -> str:
        if self.bridge_name:
            return self.bridge_name
        if self.data_root == DEFAULT_DATA_ROOT:
            return "berth0"
        return "berth-" + hashlib.sha256(str(self.data_root).encode()).hexdigest()[:6]


class NetworkManager(SandboxMixin, DefinitionsMixin):
    """Networks, endpoints, published ports and the embedded resolver."""

    def __init__(self, config: NetworkConfig, bus: Any | None = None, activity: Activity | None = None) -> None:
        """``activity``: the engine's (spares are made only in its lulls); None: a private one."""
        self.config = config
        self.bus = bus
        self.state = NetworkState()
        self._live: dict[str, Live] = {}
        self._resolvers: dict[str, trio.CancelScope] = {}
        self._bridges_made: set[str] = set()
        self._doomed: set[str] = set()  # veths being deleted in the background
        self._task_done: dict[trio.CancelScope, trio.Event] = {}  # scoped tasks still running
        # Per-container network namespaces kept across the container's restarts.
        self._netns: dict[str, str] = {}
        # Containers whose namespace ``plan`` named but the first veth's thread call has
        # yet to make (one worker-thread hop on the start path instead of two).
        self._netns_unmade: set[str] = set()
        self._netns_dir = Path(config.exec_root) / "netns"
        # Namespaces made ahead of need, and one wired for the default bridge (``prewired``).
        self._spares = SparePool(self._netns_dir, config.spare_netns, activity=activity)
        self._prewired: Prewired | None = None
        self._prewired_taken = trio.Event()
        # The spares containers took, until their first endpoint is recorded.
        self._taken: dict[str, TakenSpare] = {}
        self._nursery: trio.Nursery | None = None
        self._save_lock = trio.Lock()
        self._forwarders = tuple(host_nameservers(config.host_resolv_conf))
        self._routes: list[str] = []
        tag = hashlib.sha256(str(config.data_root).encode()).hexdigest()[:8]
        self._nat = NatRules(tag) if config.nat else None

    # --- service -----------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[NetworkManager] = trio.TASK_STATUS_IGNORED) -> None:
        """Set up the networks, host resolvers and proxies; tear down every link when cancelled."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                await self._open()
                await nursery.start(self._spares.run)
                await nursery.start(self._keep_prewired)
                task_status.started(self)
                await trio.sleep_forever()
        finally:
            self._nursery = None
            with trio.CancelScope(shield=True), trio.move_on_after(15):
                await self._teardown()

    async def _open(self) -> None:
        path = state_path(self.config.data_root)
        self.state = await trio.to_thread.run_sync(load_state, path)
        for owner_table in (self.state.ipam.to_json(),):  # no container survives a restart
            for nid in owner_table:
                for owner in set(self.state.ipam.owned(nid).values()):
                    self.state.ipam.release(nid, owner)
        self._routes = await trio.to_thread.run_sync(netlink.host_routes)
        await trio.to_thread.run_sync(self._drop_stale_netns)
        self._ensure_predefined()
        for n in list(self.state.networks.values()):
            if n.driver is Driver.BRIDGE:
                await self._bring_up(n)
        await self._save()
        await self._apply_nat()
        log.info(
            "networks ready", count=len(self.state.networks),
            isolation="--nat: forwarding on, berth's networks kept apart by its nft table"
            if self._nat else isolation_note(),
        )

    async def _apply_nat(self) -> None:
        """(Re)install the --nat table for the current networks; a no-op without --nat."""
        if self._nat is None:
            return
        nets = [
            NatNetwork(n.bridge, n.subnet, n.internal)
            for n in self.state.networks.values()
            if n.driver is Driver.BRIDGE and n.bridge
        ]
        await trio.to_thread.run_sync(self._nat.apply, nets)

    def _drop_stale_netns(self) -> None:
        """Namespaces a previous daemon kept for its containers (none survives a restart)."""
        if self._netns_dir.is_dir():
            for entry in self._netns_dir.iterdir():
                netlink.delete_netns(str(entry))

    def _ensure_predefined(self) -> None:
        by_name = {n.name: n for n in self.state.networks.values()}
        now = time.time_ns()
        if HOST not in by_name:
            n = Network(new_network_id(), HOST, Driver.HOST, now)
            self.state.networks[n.id] = n
        if NONE not in by_name:
            n = Network(new_network_id(), NONE, Driver.NULL, now)
            self.state.networks[n.id] = n
        bridge = by_name.get(BRIDGE)
        wanted_dev = self.config.default_bridge_name()
        others = [n.subnet for n in self.state.networks.values() if n.subnet and n.name != BRIDGE]
        own_routes = [r for r in self._routes if bridge is None or r != bridge.subnet]
        if self.config.bridge_subnet:
            subnet = parse_subnet(self.config.bridge_subnet)
        elif bridge is not None and bridge.subnet and not _collides(bridge.subnet, own_routes, bridge.bridge):
            subnet = bridge.subnet
        else:
            subnet = choose_subnet(self._routes, others, self.config.subnet_candidates)
        gateway = bridge.gateway if bridge is not None and bridge.subnet == subnet else gateway_for(subnet)
        if bridge is None:
            bridge = Network(new_network_id(), BRIDGE, Driver.BRIDGE, now)
        self.state.networks[bridge.id] = replace(
            bridge, bridge=wanted_dev, subnet=subnet, gateway=gateway, mtu=self.config.mtu
        )

    async def _bring_up(self, n: Network) -> None:
        created = await trio.to_thread.run_sync(
            netlink.ensure_bridge, n.bridge, n.gateway, n.prefix_len, n.mtu
        )
        self._bridges_made.add(n.bridge)
        log.debug("bridge up", bridge=n.bridge, subnet=n.subnet, created=created)
        if n.name != BRIDGE and n.id not in self._resolvers:
            await self._start_resolver(n)

    async def _start_resolver(self, n: Network) -> None:
        resolver = Resolver(
            n.gateway, self._make_lookup(n.id), self._forwarders, forward=not n.internal
        )
        try:
            self._resolvers[n.id] = await self._start_scoped(resolver.serve)
        except OSError as exc:
            log.warning("embedded DNS unavailable", network=n.name, address=n.gateway, error=str(exc))

    async def _start_scoped(
        self, fn: Callable[..., Awaitable[None]], *args: Any
    ) -> trio.CancelScope:
        """Start ``fn`` in our nursery under its own scope; failures after start are logged."""
        if self._nursery is None:
            msg = "the network manager is not running"
            raise BerthError(msg)
        scope = trio.CancelScope()
        done = self._task_done[scope] = trio.Event()

        async def runner(*, task_status: trio.TaskStatus[None]) -> None:
            started = False

            class _Status:
                def started(self, value: None = None) -> None:
                    nonlocal started
                    started = True
                    task_status.started(value)

            try:
                with scope:
                    try:
                        await fn(*args, task_status=_Status())
                    except Exception as exc:
                        if not started:
                            raise
                        log.error("network task failed", task=getattr(fn, "__name__", "?"), error=repr(exc))
            finally:
                done.set()
                self._task_done.pop(scope, None)

        await self._nursery.start(runner)
        return scope

    async def _teardown(self) -> None:
        for live in self._live.values():
            live.proxies.cancel()
        hosts = [e.host_ifname for live in self._live.values() for e in live.endpoints.values()]
        hosts += sorted(self._doomed)  # detached veths whose background deletion had not run
        hosts += sorted(t.host_ifname for t in self._taken.values())  # spares taken, never used
        self._taken.clear()
        bridges = sorted(self._bridges_made)

        def remove_all() -> None:
            for name in (*hosts, *bridges):
                try:
                    netlink.delete_link(name)
                except BerthError as exc:
                    log.warning("link not removed", link=name, error=exc.message)

        await trio.to_thread.run_sync(remove_all)
        for cid, path in list(self._netns.items()):
            if cid not in self._netns_unmade:
                await trio.to_thread.run_sync(netlink.delete_netns, path)
        self._netns.clear()
        self._netns_unmade.clear()
        if self._nat is not None:
            await trio.to_thread.run_sync(self._nat.remove)
        self._live.clear()
        self._doomed.clear()
        self._bridges_made.clear()
        self._resolvers.clear()
        with contextlib.suppress(BerthError, OSError):
            await self._save()

    async def _save(self) -> None:
        data = self.state.to_json()
        async with self._save_lock:
            await trio.to_thread.run_sync(save_state, state_path(self.config.data_root), data)

    def _publish(self, action: str, n: Network, **attrs: str) -> None:
        if self.bus is None:
            return
        from supervisor.events.model import EventType

        self.bus.publish(EventType.NETWORK, action, n.id, {"name": n.name, "type": n.driver.value, **attrs})

    # --- lookup ------------------------------------------------------------------

    def get(self, ref: str) -> Network:
        """The network ``ref`` names: full id, name, then unique id prefix (moby's order).

        Raises:
            NotFound: "network x not found".
            InvalidArgument: an ambiguous prefix.
        """
        nets = self.state.networks
        if ref in nets:
            return nets[ref]
        for n in nets.values():
            if n.name == ref:
                return n
        matches = [n for n in nets.values() if ref and n.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            msg = f"network {ref} is ambiguous ({len(matches)} matches found based on ID prefix)"
            raise InvalidArgument(msg)
        msg = f"network {ref} not found"
        raise NotFound(msg)

    def list(self) -> list[Network]:
        return sorted(self.state.networks.values(), key=lambda n: (n.created, n.name))

    def containers_of(self, network_id: str) -> dict[str, dict[str, str]]:
        """Docker's network ``Containers``: the running containers attached to it."""
        out = {}
        for cid, live in self._live.items():
            e = live.endpoints.get(network_id)
            if e is not None:
                out[cid] = {
                    "Name": live.name, "EndpointID": e.endpoint_id, "MacAddress": e.mac,
                    "IPv4Address": f"{e.ip}/{e.prefix_len}", "IPv6Address": "",
                }
        return out

    def in_use(self) -> dict[str, bool]:
        used: dict[str, bool] = {}
        for live in self._live.values():
            for nid in live.endpoints:
                used[nid] = True
        return used

    # --- container side: create ----------------------------------------------------

    def _configs(self, container_id: str, spec: ContainerSpec) -> dict[str, EndpointConfig]:
        """The container's networks: its recorded endpoint configs, or its network mode's."""
        table = self.state.endpoints.get(container_id)
        if table is not None:
            return {nid: cfg for nid, cfg in table.items() if nid in self.state.networks}
        mode = spec.network_mode
        if mode in (HOST, NONE) or mode.startswith("container:"):
            return {}
        try:
            return {self.get(mode).id: EndpointConfig()}
        except NotFound:
            return {}

    def validate(
        self, spec: ContainerSpec, endpoints: Mapping[str, EndpointConfig | tuple[str, ...]] | None = None
    ) -> None:
        """Refuse at create what would fail at start: unknown networks, bad ports, bad modes.

        Args:
            endpoints: create's ``NetworkingConfig.EndpointsConfig`` (name → config or aliases).

        Raises:
            NotFound: "network x not found".
            InvalidArgument: bad port bindings, ports with container: mode, static
                addresses on networks without a user subnet.
        """
        mode = spec.network_mode
        plan_ports(spec.port_bindings, spec.exposed_ports, spec.publish_all_ports)
        if mode.startswith("container:"):
            if not mode.partition(":")[2]:
                msg = "invalid network mode: container: needs a container name or id"
                raise InvalidArgument(msg)
            if spec.port_bindings or spec.publish_all_ports:
                msg = "conflicting options: port publishing and the container type network mode"
                raise InvalidArgument(msg)
        elif mode not in (HOST, NONE):
            self.get(mode)
        for name, cfg in (endpoints or {}).items():
            n = self.get(name)
            if isinstance(cfg, EndpointConfig) and cfg.ipv4_address:
                self._check_static(n, cfg.ipv4_address)

    def _check_static(self, n: Network, address: str) -> None:
        if not n.user_subnet:
            msg = "user specified IP address is supported only when connecting to networks with user configured subnets"
            raise InvalidArgument(msg)
        try:
            ok = ipaddress.IPv4Address(address) in ipaddress.IPv4Network(n.subnet)
        except ValueError as exc:
            msg = f"invalid IPv4 address: {address!r}"
            raise InvalidArgument(msg) from exc
        if not ok:
            msg = f"no configured subnet or ip-range contain the IP address {address}"
            raise InvalidArgument(msg)

    async def register(
        self,
        container_id: str,
        spec: ContainerSpec,
        endpoints: Mapping[str, EndpointConfig | tuple[str, ...]] | None = None,
    ) -> None:
        """Record a new container's endpoint configs (create's NetworkingConfig)."""
        mode = spec.network_mode
        table: dict[str, EndpointConfig] = {}
        if mode not in (HOST, NONE) and not mode.startswith("container:"):
            table[self.get(mode).id] = EndpointConfig()
            for name, cfg in (endpoints or {}).items():
                if not isinstance(cfg, EndpointConfig):
                    cfg = EndpointConfig(aliases=tuple(cfg))
                n = self.get(name)
                if n.driver is Driver.BRIDGE:
                    table[n.id] = cfg
        if container_id not in self.state.endpoints and table == self._configs(container_id, spec):
            # Nothing beyond what the network mode says (the common case): ``_configs``
            # derives exactly this table from the spec, so nothing is written on create.
            return
        self.state.endpoints[container_id] = table
        await self._save()

    async def forget(self, container_id: str) -> None:
        """The container is removed: drop its endpoint configs (and anything still held)."""
        if container_id in self._live or container_id in self._netns:
            # Running, or planned and never attached (a bundle written ahead of its start).
            await self.detach(container_id)
        recorded = self.state.endpoints.pop(container_id, None)
        self.state.ipam.release_owner(container_id)
        if recorded is not None:  # addresses are not persisted (see ``plan``); only the table is
            await self._save()

    def rename(self, container_id: str, new_name: str) -> None:
        live = self._live.get(container_id)
        if live is not None:
            live.name = new_name

    # --- what the container sees and shows ------------------------------------------------

    def inspect_settings(self, container_id: str, spec: ContainerSpec, running: bool = True) -> dict[str, Any]:
        """Docker's ``NetworkSettings`` (the keys berth knows), for inspect's ``extra``."""
        live = self._live.get(container_id) if running else None
        networks: dict[str, Any] = {}
        mode = spec.network_mode
        if mode in (HOST, NONE):
            n = self._by_name(mode)
            networks[mode] = _endpoint_json(n.id if n else "", None, ())
        elif not mode.startswith("container:"):
            for nid, cfg in self._configs(container_id, spec).items():
                n = self.state.networks[nid]
                e = live.endpoints.get(nid) if live else None
                networks[n.name] = _endpoint_json(n.id, e, cfg.aliases)
        ports = port_map(live.ports, spec.exposed_ports) if live is not None else {}
        if live is None or netns_mode(spec) is not NetnsMode.NEW:
            ports = {} if live is None else port_map((), spec.exposed_ports)
        settings: dict[str, Any] = {
            "Networks": networks,
            "Ports": ports,
            "SandboxKey": live.netns_path if live else "",
            "SandboxID": container_id if live else "",
        }
        primary = next(iter(live.endpoints.values()), None) if live else None
        if primary is not None and primary.network_name == BRIDGE:
            settings.update({
                "IPAddress": primary.ip, "IPPrefixLen": primary.prefix_len, "Gateway": primary.gateway,
                "MacAddress": primary.mac, "EndpointID": primary.endpoint_id,
                "Bridge": self.state.networks[primary.network_id].bridge,
            })
        return settings

    def summary_ports(self, container_id: str, spec: ContainerSpec | None = None) -> builtins.list[dict[str, object]]:
        """Docker's list ``Ports`` for ``docker ps`` (empty when not running)."""
        live = self._live.get(container_id)
        if live is None:
            return []
        return summary(live.ports, spec.exposed_ports if spec else ())

    def port_bindings(self, container_id: str) -> builtins.list[PortBinding]:
        live = self._live.get(container_id)
        return list(live.ports) if live else []

    def _by_name(self, name: str) -> Network | None:
        for n in self.state.networks.values():
            if n.name == name:
                return n
        return None

    # --- DNS -------------------------------------------------------------------------

    def _make_lookup(self, network_id: str) -> Callable[[str, str], builtins.list[str] | None]:
        def lookup(name: str, asker: str) -> list[str] | None:
            return self.resolve_name(name, asker, network_id)

        return lookup

    def resolve_name(self, name: str, asker: str, network_id: str) -> builtins.list[str] | None:
        """Addresses of containers named/aliased ``name`` that share a network with ``asker``."""
        name = name.lower().rstrip(".")
        shared = {network_id}
        for live in self._live.values():
            if any(e.ip == asker for e in live.endpoints.values()):
                shared = set(live.endpoints)
                break
        found: list[str] = []
        for cid, live in self._live.items():
            for nid, e in live.endpoints.items():
                if nid not in shared:
                    continue
                names = {live.name.lower(), live.hostname.lower(), cid[:12], *(a.lower() for a in e.aliases)}
                if name in names and e.ip not in found:
                    found.append(e.ip)
        return found or None

def _endpoint_json(network_id: str, e: Endpoint | None, aliases: tuple[str, ...]) -> dict[str, Any]:
    return {
        "IPAMConfig": None, "Links": None, "Aliases": list(aliases) or None, "MacAddress": e.mac if e else "",
        "DriverOpts": None, "GwPriority": 0, "NetworkID": network_id,
        "EndpointID": e.endpoint_id if e else "", "Gateway": e.gateway if e else "",
        "IPAddress": e.ip if e else "", "IPPrefixLen": e.prefix_len if e else 0,
        "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "DNSNames": None,
    }


def _collides(subnet: str, routes: list[str], device: str) -> bool:
    net = ipaddress.IPv4Network(subnet)
    return any(net.overlaps(ipaddress.IPv4Network(r, strict=False)) for r in routes)
