"""The embedded DNS resolver: container names and aliases on user networks.

Docker answers on 127.0.0.11 inside every container, reached through
iptables DNAT rules in the container's namespace. berth changes no firewall,
so it listens instead on the gateway address of each user network (port 53,
UDP and TCP), and containers on that network get that address as their only
nameserver. The gateway is on the bridge, so the query never leaves the
network it belongs to, and no sysctl or rule is needed.

Answers: a name (or alias) of a container that shares a network with the
asker (found by the query's source address) gets its A record(s) on the
shared network(s). Any other name is forwarded as raw bytes to the host's
nameservers (the daemon lives in the host namespace, so even a loopback
resolver such as systemd-resolved works); on an ``--internal`` network it is
answered REFUSED instead, so an internal network learns nothing from outside.
If the forwarders fail the answer is SERVFAIL.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Sequence

import trio

from supervisor._logging import get_logger
from supervisor.network import dns

log = get_logger(__name__)

FORWARD_TIMEOUT = 3.0
TCP_IDLE = 10.0
MAX_TCP_CLIENTS = 256

# (query name, asker's address) -> addresses, [] for "ours but no A record", None for "not ours".
Lookup = Callable[[str, str], "list[str] | None"]


class Resolver:
    """One listening address (a network's gateway) and how to answer there."""

    def __init__(
        self, address: str, lookup: Lookup, forwarders: Sequence[str], *, forward: bool = True, port: int = 53
    ) -> None:
        self.address = address
        self.port = port
        self.lookup = lookup
        self.forwarders = tuple(forwarders)
        self.forward = forward

    async def answer(self, packet: bytes, asker: str) -> bytes | None:
        """The response to one query packet (None: unreadable, dropped)."""
        try:
            query = dns.parse_query(packet)
        except dns.DnsError:
            return None
        if query.qclass == dns.CLASS_IN and query.qtype in (dns.TYPE_A, dns.TYPE_AAAA, dns.TYPE_ANY):
            found = self.lookup(query.name, asker)
            if found is not None:
                return dns.build_response(query, found if query.qtype != dns.TYPE_AAAA else ())
        if not self.forward or not self.forwarders:
            return dns.build_response(query, rcode=dns.REFUSED)
        for server in self.forwarders:
            reply = await _forward(packet, server)
            if reply is not None:
                return reply
        return dns.build_response(query, rcode=dns.SERVFAIL)

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen on UDP and TCP ``address:port`` until cancelled.

        Raises:
            OSError: the address cannot be bound (reported by the caller).
        """
        udp = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            await udp.bind((self.address, self.port))
            await tcp.bind((self.address, self.port))
            tcp.listen(64)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._serve_udp, udp, nursery)
                nursery.start_soon(self._serve_tcp, trio.SocketListener(tcp), nursery)
                task_status.started()
        finally:
            udp.close()
            tcp.close()

    async def _serve_udp(self, sock: trio.socket.SocketType, nursery: trio.Nursery) -> None:
        while True:
            try:
                packet, client = await sock.recvfrom(4096)
            except OSError:
                await trio.sleep(0.01)
                continue
            nursery.start_soon(self._udp_reply, sock, packet, client)

    async def _udp_reply(self, sock: trio.socket.SocketType, packet: bytes, client: tuple[str, int]) -> None:
        reply = await self.answer(packet, client[0])
        if reply is not None:
            try:
                await sock.sendto(reply, client)
            except OSError:
                pass

    async def _serve_tcp(self, listener: trio.SocketListener, nursery: trio.Nursery) -> None:
        limiter = trio.CapacityLimiter(MAX_TCP_CLIENTS)
        async with listener:
            while True:
                try:
                    stream = await listener.accept()
                except OSError:
                    await trio.sleep(0.01)
                    continue
                nursery.start_soon(self._tcp_client, stream, limiter)

    async def _tcp_client(self, stream: trio.SocketStream, limiter: trio.CapacityLimiter) -> None:
        async with limiter, stream:
            asker = stream.socket.getpeername()[0]
            buf = b""
            try:
                while True:
                    with trio.move_on_after(TCP_IDLE) as idle:
                        while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                            data = await stream.receive_some(65536)
                            if not data:
                                return
                            buf += data
                    if idle.cancelled_caught:
                        return
                    size = struct.unpack("!H", buf[:2])[0]
                    packet, buf = buf[2 : 2 + size], buf[2 + size :]
                    reply = await self.answer(packet, asker)
                    if reply is None:
                        return
                    await stream.send_all(struct.pack("!H", len(reply)) + reply)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                return


async def _forward(packet: bytes, server: str) -> bytes | None:
    """Send the query to ``server`` (UDP 53) and return its reply, None on timeout/error."""
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    sock = trio.socket.socket(family, socket.SOCK_DGRAM)
    try:
        await sock.connect((server, 53))
        await sock.send(packet)
        with trio.move_on_after(FORWARD_TIMEOUT):
            while True:
                reply = await sock.recv(65535)
                if reply[:2] == packet[:2]:
                    return reply
        return None
    except OSError:
        return None
    finally:
        sock.close()


def host_nameservers(resolv_conf: str) -> list[str]:
    """The host's nameservers (loopback ones too: the daemon runs in the host namespace)."""
    out = []
    for raw in resolv_conf.splitlines():
        fields = raw.split("#", 1)[0].split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            out.append(fields[1].split("%", 1)[0])
    return out
