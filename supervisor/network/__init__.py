"""Networking: bridges, veth pairs and IPAM (pyroute2), published ports, name resolution.

Pure core: ``model``, ``ipam``, ``subnets``, ``ports``, ``dns``, ``views``.
Shell: ``netlink`` (blocking pyroute2 calls, run in worker threads),
``proxy`` (userland TCP/UDP port proxies on trio), ``resolver`` (the
embedded DNS server on each user network's gateway), ``store`` (the state
file), ``spares`` (namespaces made ahead of need), ``sandbox`` (a container
run's namespace, veths and ports) and ``manager.NetworkManager``, the one
object the daemon, the engine and the API use. No iptables/nftables rule and
no sysctl is changed unless ``--nat`` asks for it.
"""

from supervisor.network.manager import NetworkConfig, NetworkManager, isolation_note
from supervisor.network.model import EndpointConfig, NetnsMode
from supervisor.network.sandbox import Attachment, NetworkPlan, netns_mode

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
