"""Network definitions through the API: ``network create``, ``rm``, ``prune``, ``connect``, ``disconnect``.

Split out of ``manager.py`` (``NetworkManager`` inherits this mixin, as it
does ``sandbox.SandboxMixin``). Each operation validates against Docker's
rules and messages, changes the persisted state, saves it and publishes the
network event; a connect or disconnect of a running container wires or
unwires it live.
"""

from __future__ import annotations

import builtins
import contextlib
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import trio

from supervisor.engine.model import ContainerSpec
from supervisor.errors import BerthError, Conflict, Forbidden, InvalidArgument
from supervisor.network import netlink, views
from supervisor.network.model import (
    HOST,
    NONE,
    PREDEFINED,
    Driver,
    Endpoint,
    EndpointConfig,
    Network,
)
from supervisor.network.subnets import check_user_subnet, choose_subnet, gateway_for, parse_subnet

IFNAME_MAX = 15  # the kernel's limit on a link name (a bridge option names one)

if TYPE_CHECKING:
    from supervisor.network.sandbox import Live
    from supervisor.network.store import NetworkState


def new_network_id() -> str:
    """A network id as Docker makes them (64 hex; never all digits in its short form)."""
    while True:
        nid = secrets.token_hex(32)
        if not nid[:12].isdigit():
            return nid


def parse_until(values: list[str]) -> int | None:
    """``until``: unix seconds (float) or a Go duration like 24h, as an ns instant."""
    if not values:
        return None
    value = values[0].strip()
    try:
        return int(float(value) * 1e9)
    except ValueError:
        pass
    units = {"s": 1, "m": 60, "h": 3600}
    if value and value[-1] in units and value[:-1].replace(".", "", 1).isdigit():
        return time.time_ns() - int(float(value[:-1]) * units[value[-1]] * 1e9)
    msg = f"invalid filter 'until={value}'"
    raise InvalidArgument(msg)


class DefinitionsMixin:
    """The network API's operations; mixed into ``NetworkManager`` (which provides the attributes)."""

    # Provided by NetworkManager.
    config: Any
    state: NetworkState
    _live: dict[str, Live]
    _netns: dict[str, str]
    _resolvers: dict[str, trio.CancelScope]
    _bridges_made: set[str]

    if TYPE_CHECKING:
        def get(self, ref: str) -> Network: ...
        async def detach(self, container_id: str) -> None: ...
        def containers_of(self, network_id: str) -> dict[str, dict[str, str]]: ...
        def _configs(self, container_id: str, spec: ContainerSpec) -> dict[str, EndpointConfig]: ...
        def _check_static(self, n: Network, address: str) -> None: ...
        def _by_name(self, name: str) -> Network | None: ...
        def _publish(self, action: str, n: Network, **attrs: str) -> None: ...
        async def _save(self) -> None: ...
        async def _apply_nat(self) -> None: ...
        async def _bring_up(self, n: Network) -> None: ...
        async def _connect_live(
            self, container_id: str, live: Live, n: Network, cfg: EndpointConfig, *, primary: bool
        ) -> Endpoint: ...

    async def create_network(
        self,
        name: str,
        *,
        driver: str = "bridge",
        internal: bool = False,
        attachable: bool = False,
        labels: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
        subnet: str = "",
        gateway: str = "",
    ) -> Network:
        """``docker network create``.

        Raises:
            InvalidArgument: bad name, driver, subnet, gateway or options.
            Conflict: the name is taken ("network with name x already exists").
            Forbidden: the subnet overlaps another network.
        """
        if not name or not name.strip():
            msg = "network name must not be empty"
            raise InvalidArgument(msg)
        if name in PREDEFINED:
            msg = f"{name} is a pre-defined network and cannot be created"
            raise Forbidden(msg)
        if driver not in ("", "bridge"):
            msg = f"network driver {driver!r} is not supported: berth networks use the bridge driver"
            raise InvalidArgument(msg)
        if self._by_name(name) is not None:
            msg = f"network with name {name} already exists"
            raise Conflict(msg)
        opts = dict(options or {})
        mtu = self.config.mtu
        if "com.docker.network.driver.mtu" in opts:
            raw = opts["com.docker.network.driver.mtu"]
            if not raw.isdigit() or not 68 <= int(raw) <= 65535:
                msg = f"invalid MTU {raw!r}: expected 68-65535"
                raise InvalidArgument(msg)
            mtu = int(raw)
        nid = new_network_id()
        device = opts.get("com.docker.network.bridge.name") or f"br-{nid[:12]}"
        if len(device) > IFNAME_MAX or "/" in device or " " in device:
            msg = f"invalid bridge name {device!r}: at most {IFNAME_MAX} characters, no '/' or spaces"
            raise InvalidArgument(msg)
        if any(n.bridge == device for n in self.state.networks.values()):
            msg = f"bridge name {device} is already used by another network"
            raise Conflict(msg)
        taken = [n.subnet for n in self.state.networks.values() if n.subnet]
        routes = await trio.to_thread.run_sync(netlink.host_routes)
        ours = {n.subnet for n in self.state.networks.values()}
        routes = [r for r in routes if r not in ours]
        user_subnet = bool(subnet)
        if subnet:
            subnet = parse_subnet(subnet)
            check_user_subnet(subnet, routes, taken)
        elif gateway:
            msg = "a gateway needs a subnet: pass --subnet too"
            raise InvalidArgument(msg)
        else:
            subnet = choose_subnet(routes, taken, self.config.subnet_candidates)
        n = Network(
            id=nid, name=name, driver=Driver.BRIDGE, created=time.time_ns(), bridge=device,
            subnet=subnet, gateway=gateway_for(subnet, gateway), internal=internal,
            attachable=attachable, labels=dict(labels or {}), options=opts,
            user_subnet=user_subnet, mtu=mtu,
        )
        self.state.networks[n.id] = n
        try:
            await self._bring_up(n)
        except BaseException:
            self.state.networks.pop(n.id, None)
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(netlink.delete_link, n.bridge)
            self._bridges_made.discard(n.bridge)
            raise
        await self._save()
        await self._apply_nat()
        self._publish("create", n)
        return n


    async def remove_network(self, ref: str) -> None:
        """``docker network rm``.

        Raises:
            NotFound, Forbidden: pre-defined, or running containers are attached.
        """
        n = self.get(ref)
        if n.predefined:
            msg = f"{n.name} is a pre-defined network and cannot be removed"
            raise Forbidden(msg)
        if self.containers_of(n.id):
            msg = f"error while removing network: network {n.name} id {n.id} has active endpoints"
            raise Forbidden(msg)
        scope = self._resolvers.pop(n.id, None)
        if scope is not None:
            scope.cancel()
        await trio.to_thread.run_sync(netlink.delete_link, n.bridge)
        self._bridges_made.discard(n.bridge)
        del self.state.networks[n.id]
        self.state.ipam.drop_network(n.id)
        for table in self.state.endpoints.values():
            table.pop(n.id, None)
        await self._save()
        await self._apply_nat()
        self._publish("destroy", n)

    async def prune(self, filters: Mapping[str, builtins.list[str]]) -> builtins.list[str]:
        """``docker network prune``: remove unused user networks; return their names.

        Raises:
            InvalidArgument: an unknown filter (only ``label``, ``label!`` and ``until``).
        """
        for key in filters:
            if key not in ("label", "label!", "until"):
                msg = f"invalid filter '{key}'"
                raise InvalidArgument(msg)
        until = parse_until(filters.get("until", []))
        removed = []
        for n in list(self.state.networks.values()):
            if n.predefined or self.containers_of(n.id):
                continue
            if not all(views._label_match(n.labels, v) for v in filters.get("label", [])):
                continue
            if any(views._label_match(n.labels, v) for v in filters.get("label!", [])):
                continue
            if until is not None and n.created >= until:
                continue
            with contextlib.suppress(BerthError):
                await self.remove_network(n.id)
                removed.append(n.name)
        return removed

    async def connect(
        self, network_ref: str, container_id: str, name: str, spec: ContainerSpec,
        cfg: EndpointConfig, *, running_pid: int = 0,
    ) -> None:
        """``docker network connect``: record the endpoint; wire it now if the container runs.

        Raises:
            NotFound: no such network.
            Forbidden: host/none/container: modes, or already connected.
            InvalidArgument: a static address where none is allowed.
        """
        n = self.get(network_ref)
        mode = spec.network_mode
        if n.driver is not Driver.BRIDGE or mode in (HOST, NONE) or mode.startswith("container:"):
            msg = "container sharing network namespace with another container or host cannot be connected to any other network"
            if n.driver is not Driver.BRIDGE:
                msg = f"container cannot be disconnected from host network or connected to {n.name} network"
            raise Forbidden(msg)
        if cfg.ipv4_address:
            self._check_static(n, cfg.ipv4_address)
        table = dict(self._configs(container_id, spec))
        if n.id in table:
            msg = f"endpoint with name {name} already exists in network {n.name}"
            raise Forbidden(msg)
        table[n.id] = cfg
        await self._drop_plan_ahead(container_id)
        live = self._live.get(container_id)
        if live is not None and live.attached and running_pid:
            try:
                await self._connect_live(container_id, live, n, cfg, primary=not live.endpoints)
            except BaseException:
                self.state.ipam.release(n.id, container_id)
                raise
        self.state.endpoints[container_id] = table
        await self._save()
        self._publish("connect", n, container=container_id)

    async def _drop_plan_ahead(self, container_id: str) -> None:
        """A plan made for a coming start (``engine.early``) no longer fits the networks: its start plans again."""
        if container_id in self._netns and container_id not in self._live:
            await self.detach(container_id)

    async def disconnect(
        self, network_ref: str, container_id: str, spec: ContainerSpec, *, force: bool = False
    ) -> None:
        """``docker network disconnect``: forget the endpoint; unplug it if the container runs.

        Raises:
            NotFound: no such network.
            Forbidden: host/none, or the container is not connected.
        """
        n = self.get(network_ref)
        if n.driver is not Driver.BRIDGE:
            msg = f"container cannot be disconnected from host network or connected to {n.name} network"
            raise Forbidden(msg)
        table = dict(self._configs(container_id, spec))
        if n.id not in table and not force:
            msg = f"container {container_id} is not connected to network {n.name}"
            raise Forbidden(msg)
        table.pop(n.id, None)
        await self._drop_plan_ahead(container_id)
        live = self._live.get(container_id)
        if live is not None and n.id in live.endpoints:
            e = live.endpoints.pop(n.id)
            await trio.to_thread.run_sync(netlink.delete_link, e.host_ifname)
        self.state.ipam.release(n.id, container_id)
        self.state.endpoints[container_id] = table
        await self._save()
        self._publish("disconnect", n, container=container_id)
