"""One spare namespace wired ahead of need for the default bridge: such a start does no netlink.

A spare (``spares``) still has its veth pair plugged into the bridge and
addressed when a container takes it: four netlink requests in a worker
thread, 1 to 2 ms on the start's critical path while the overlay mount runs
beside it. Most containers join only the default bridge, at an address IPAM
picks, so the manager keeps one spare fully wired for them: its address
reserved (IPAM owner ``spare:<veth>``), the host side on the bridge and up,
the peer ``eth0`` with its MAC, address and default route, exactly as
``plug_veth`` would leave it for that address.

``plan`` hands it to a container whose first network is the default bridge
and that asks for no static address: the address changes owner and the
namespace becomes the container's, with nothing left to do at ``attach``.
Any other container takes a plain spare as before.

The slot is refilled from the pool in the engine's lulls, like the pool
itself. Its spare is dropped (namespace and pair) when the manager stops; a
crashed daemon's is swept with the other spares at the next start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

from supervisor import background
from supervisor._logging import get_logger
from supervisor.errors import BerthError
from supervisor.network import netlink
from supervisor.network.model import BRIDGE, EndpointConfig, Network, mac_for
from supervisor.network.spares import (
    MAX_FAILURES,
    RETRY_DELAY,
    SPARE_IFNAME,
    Spare,
    SparePool,
    TakenSpare,
)

if TYPE_CHECKING:
    from supervisor.network.store import NetworkState

log = get_logger(__name__)

FULL_SUBNET_DELAY = 30.0  # seconds before wiring again when the default bridge has no free address


@dataclass(frozen=True, slots=True)
class Prewired:
    """A spare plugged into a network at a reserved address."""

    spare: Spare
    network_id: str
    plan: netlink.VethPlan

    @property
    def owner(self) -> str:
        """Its address's IPAM owner while no container has it."""
        return f"spare:{self.spare.host_ifname}"


def wiring_plan(spare: Spare, n: Network, ip: str) -> netlink.VethPlan:
    """What ``_connect_live`` would plug for the first endpoint of ``n`` at ``ip``."""
    return netlink.VethPlan(
        bridge=n.bridge, host_ifname=spare.host_ifname, netns_path=spare.netns_path,
        ifname=SPARE_IFNAME, address=ip, prefix_len=n.prefix_len, mac=mac_for(ip), mtu=n.mtu,
        gateway="" if n.internal else n.gateway,
    )


class PrewiredMixin:
    """Keep one spare wired for the default bridge; mixed into ``NetworkManager``."""

    # Provided by NetworkManager.
    state: NetworkState
    _spares: SparePool
    _netns: dict[str, str]
    _prewired: Prewired | None
    _prewired_taken: trio.Event
    _taken: dict[str, TakenSpare]

    if TYPE_CHECKING:
        def _by_name(self, name: str) -> Network | None: ...

    async def _keep_prewired(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Wire a spare from the pool whenever the slot is empty (in lulls); drop it when cancelled."""
        task_status.started()
        failures = 0
        pending: Prewired | None = None
        try:
            while self._spares.size:
                if self._prewired is not None:
                    await self._prewired_taken.wait()
                    self._prewired_taken = trio.Event()
                    continue
                await self._spares.wait_ready()
                await self._spares.activity.wait_quiet()
                n = self._by_name(BRIDGE)
                if n is None or not n.bridge:
                    return
                spare = self._spares.take_nowait()
                if spare is None:
                    continue
                try:
                    ip = self.state.ipam.allocate(n.id, n.subnet, n.gateway, f"spare:{spare.host_ifname}")
                except BerthError:
                    # The bridge's subnet is full: starts use plain spares until addresses free up.
                    await background.run_sync(self._spares.discard, spare)
                    await trio.sleep(FULL_SUBNET_DELAY)
                    continue
                pending = Prewired(spare, n.id, wiring_plan(spare, n, ip))
                try:
                    await background.run_sync(netlink.plug_veth, pending.plan)
                except (BerthError, OSError) as exc:
                    failures += 1
                    error = exc.message if isinstance(exc, BerthError) else str(exc)
                    log.warning("spare not wired for the default bridge", error=error)
                    with trio.CancelScope(shield=True):
                        await self._drop_prewired(pending)
                    pending = None
                    if failures >= MAX_FAILURES:
                        return
                    await trio.sleep(RETRY_DELAY)
                    continue
                failures = 0
                self._prewired, pending = pending, None
        finally:
            left = [p for p in (pending, self._prewired) if p is not None]
            self._prewired = None
            with trio.CancelScope(shield=True):
                for p in left:
                    await self._drop_prewired(p)

    async def _drop_prewired(self, p: Prewired) -> None:
        self.state.ipam.release(p.network_id, p.owner)
        await trio.to_thread.run_sync(self._spares.discard, p.spare)

    def _adopt_prewired(self, container_id: str, configs: dict[str, EndpointConfig]) -> Prewired | None:
        """Give the wired spare to ``container_id`` if its networks fit; the spare or None.

        Fits: the first network is the spare's and no static address is asked
        for. The address changes owner; the namespace becomes the container's.
        """
        p = self._prewired
        if p is None or not configs:
            return None
        first, cfg = next(iter(configs.items()))
        if first != p.network_id or cfg.ipv4_address:
            return None
        self._prewired = None
        self._prewired_taken.set()
        self.state.ipam.transfer(p.network_id, p.owner, container_id)
        self._netns[container_id] = p.spare.netns_path
        self._taken[container_id] = TakenSpare(p.spare.host_ifname, p.plan.address)
        return p

    def _return_prewired(self, container_id: str, p: Prewired) -> None:
        """Undo ``_adopt_prewired`` (the plan failed after it): the slot has its spare again."""
        self._netns.pop(container_id, None)
        self._taken.pop(container_id, None)
        self.state.ipam.release(p.network_id, container_id)
        n = self.state.networks.get(p.network_id)
        if n is not None:
            self.state.ipam.allocate(n.id, n.subnet, n.gateway, p.owner, p.plan.address)
        self._prewired = p
