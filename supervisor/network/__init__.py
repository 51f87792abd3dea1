"""Networking: bridges, veth pairs and IPAM (pyroute2), published ports, name resolution.

Pure core: ``model``, ``ipam``, ``subnets``, ``ports``, ``dns``, ``views``.
Shell: ``netlink`` (blocking pyroute2 calls, run in worker threads),
``proxy`` (userland TCP/UDP port proxies on trio), ``resolver`` (the
embedded DNS server on each user network's gateway), ``store`` (the state
file), and ``manager.NetworkManager``, the one object the daemon, the engine
and the API use. No iptables/nftables rule and no sysctl is ever changed.
"""

from supervisor.network.manager import (
    Attachment,
    NetworkConfig,
    NetworkManager,
    NetworkPlan,
    isolation_note,
    netns_mode,
)
from supervisor.network.model import EndpointConfig, NetnsMode

__all__ = [
    "Attachment",
    "EndpointConfig",
    "NetnsMode",
    "NetworkConfig",
    "NetworkManager",
    "NetworkPlan",
    "isolation_note",
    "netns_mode",
]
