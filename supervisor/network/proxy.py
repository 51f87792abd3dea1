"""Userland port proxies on trio: host ip:port → container ip:port, TCP and UDP.

Why userland: publishing ports this way needs no iptables/nftables rule and
no sysctl (route_localnet, ip_forward), so the daemon leaves the host's
firewall alone. The cost is one copy through the daemon per byte.

Binding is separate from serving: ``bind_port`` runs in the container's
start path, so a port that is taken fails the start with Docker's message;
``serve_tcp``/``serve_udp`` then run in the network manager's nursery under
the container's cancel scope, and cancelling that scope closes everything.

TCP: one pair of copy loops per connection; EOF in one direction is passed on
as a half-close (``send_eof``) so request/response protocols work. UDP: one
connected upstream socket per client address (a "flow"), dropped after
``UDP_IDLE`` seconds without traffic (Docker's userland proxy uses 90 s);
at most ``MAX_UDP_FLOWS`` flows, the oldest evicted first.
"""

from __future__ import annotations

import errno
import socket
from collections import OrderedDict
from dataclasses import dataclass

import trio

from supervisor._logging import get_logger
from supervisor.errors import RuntimeFailed
from supervisor.network.ports import PortBinding, PortRequest

log = get_logger(__name__)

COPY_CHUNK = 65536
MAX_TCP_CONNECTIONS = 4096
UDP_IDLE = 90.0
MAX_UDP_FLOWS = 1024
UDP_MAX_DATAGRAM = 65535


class PortAllocated(RuntimeFailed):
    """The host port is held by someone else."""


@dataclass
class BoundPort:
    """A bound (and for TCP, listening) host socket and what it publishes."""

    binding: PortBinding
    sock: trio.socket.SocketType

    def close(self) -> None:
        self.sock.close()


def _already_allocated(endpoint: str, req: PortRequest, port: int) -> PortAllocated:
    return PortAllocated(
        f"driver failed programming external connectivity on endpoint {endpoint}: "
        f"Bind for {req.host_ip}:{port} failed: port is already allocated"
    )


async def _try_bind(req: PortRequest, port: int) -> trio.socket.SocketType:
    kind = socket.SOCK_STREAM if req.proto == "tcp" else socket.SOCK_DGRAM
    sock = trio.socket.socket(socket.AF_INET, kind)
    try:
        if req.proto == "tcp":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        await sock.bind((req.host_ip, port))
        if req.proto == "tcp":
            sock.listen(socket.SOMAXCONN)
    except BaseException:
        sock.close()
        raise
    return sock


async def bind_port(req: PortRequest, endpoint: str) -> BoundPort:
    """Bind the host side of ``req``: its port, the first free one of its range, or any.

    Args:
        endpoint: "<container name> (<endpoint id>)" for the error message.

    Raises:
        PortAllocated: Docker's "port is already allocated" message.
        RuntimeFailed: the address cannot be bound for another reason.
    """
    ports = [0] if req.ephemeral else list(range(req.host_lo, req.host_hi + 1))
    last: OSError | None = None
    for port in ports:
        try:
            sock = await _try_bind(req, port)
        except OSError as exc:
            last = exc
            if exc.errno == errno.EADDRINUSE:
                continue
            msg = (
                f"driver failed programming external connectivity on endpoint {endpoint}: "
                f"Error starting userland proxy: listen {req.proto}4 {req.host_ip}:{port}: {exc.strerror}"
            )
            raise RuntimeFailed(msg) from exc
        actual = sock.getsockname()[1]
        return BoundPort(PortBinding(req.container_port, req.proto, req.host_ip, actual), sock)
    raise _already_allocated(endpoint, req, req.host_lo if req.host_lo == req.host_hi else ports[-1]) from last


async def _copy(src: trio.SocketStream, dst: trio.SocketStream) -> None:
    try:
        while True:
            data = await src.receive_some(COPY_CHUNK)
            if not data:
                break
            await dst.send_all(data)
        await dst.send_eof()
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass


async def _relay(client: trio.SocketStream, target: tuple[str, int], limiter: trio.CapacityLimiter) -> None:
    async with limiter:
        try:
            with trio.fail_after(10):
                upstream = await trio.open_tcp_stream(*target)
        except (OSError, trio.TooSlowError):
            await client.aclose()
            return
        async with client, upstream:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_copy, client, upstream)
                nursery.start_soon(_copy, upstream, client)


async def serve_tcp(
    bound: BoundPort, target: tuple[str, int], *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Accept on ``bound`` and relay every connection to ``target`` until cancelled."""
    listener = trio.SocketListener(bound.sock)
    limiter = trio.CapacityLimiter(MAX_TCP_CONNECTIONS)
    async with listener, trio.open_nursery() as nursery:
        task_status.started()
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:  # EMFILE and friends: back off, keep serving
                log.warning("proxy accept failed", port=bound.binding.host_port, error=str(exc))
                await trio.sleep(0.1)
                continue
            nursery.start_soon(_relay, stream, target, limiter)


class _Flow:
    def __init__(self, sock: trio.socket.SocketType, scope: trio.CancelScope) -> None:
        self.sock = sock
        self.scope = scope


async def _udp_flow(
    front: trio.socket.SocketType, client: tuple[str, int], flow: _Flow, flows: OrderedDict[tuple[str, int], _Flow]
) -> None:
    try:
        with flow.scope:
            while True:
                data = await flow.sock.recv(UDP_MAX_DATAGRAM)
                flow.scope.deadline = trio.current_time() + UDP_IDLE
                try:
                    await front.sendto(data, client)
                except OSError:
                    pass
    except OSError:
        pass
    finally:
        flow.sock.close()
        if flows.get(client) is flow:
            del flows[client]


async def serve_udp(
    bound: BoundPort, target: tuple[str, int], *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Relay datagrams between clients of ``bound`` and ``target`` until cancelled."""
    front = bound.sock
    flows: OrderedDict[tuple[str, int], _Flow] = OrderedDict()
    try:
        async with trio.open_nursery() as nursery:
            task_status.started()
            while True:
                try:
                    data, client = await front.recvfrom(UDP_MAX_DATAGRAM)
                except OSError:
                    await trio.sleep(0.01)
                    continue
                flow = flows.get(client)
                if flow is None:
                    if len(flows) >= MAX_UDP_FLOWS:
                        _old, oldest = flows.popitem(last=False)
                        oldest.scope.cancel()
                    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    try:
                        await sock.connect(target)
                    except OSError:
                        sock.close()
                        continue
                    flow = _Flow(sock, trio.CancelScope(deadline=trio.current_time() + UDP_IDLE))
                    flows[client] = flow
                    nursery.start_soon(_udp_flow, front, client, flow, flows)
                else:
                    flows.move_to_end(client)
                    flow.scope.deadline = trio.current_time() + UDP_IDLE
                try:
                    await flow.sock.send(data)
                except OSError:
                    pass
    finally:
        front.close()


async def serve_port(
    bound: BoundPort, target: tuple[str, int], *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Serve one bound port with the proxy of its protocol."""
    try:
        if bound.binding.proto == "tcp":
            await serve_tcp(bound, target, task_status=task_status)
        else:
            await serve_udp(bound, target, task_status=task_status)
    finally:
        bound.close()


__all__ = ["BoundPort", "PortAllocated", "bind_port", "serve_port", "serve_tcp", "serve_udp"]
