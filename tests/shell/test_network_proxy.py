"""The userland proxies on loopback: TCP and UDP echo through them, taken ports refused."""

from __future__ import annotations

import socket

import pytest
import trio

from supervisor.errors import RuntimeFailed
from supervisor.network.ports import PortRequest
from supervisor.network.proxy import PortAllocated, bind_port, serve_port


async def _tcp_echo(*, task_status: trio.TaskStatus[int]) -> None:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    task_status.started(listeners[0].socket.getsockname()[1])

    async def echo(stream: trio.SocketStream) -> None:
        async with stream:
            while data := await stream.receive_some(65536):
                await stream.send_all(data)

    await trio.serve_listeners(echo, listeners)


async def _udp_echo(*, task_status: trio.TaskStatus[int]) -> None:
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    await sock.bind(("127.0.0.1", 0))
    task_status.started(sock.getsockname()[1])
    with sock:
        while True:
            data, peer = await sock.recvfrom(65535)
            await sock.sendto(b"echo:" + data, peer)


async def test_tcp_echo_through_proxy(nursery: trio.Nursery) -> None:
    """Bytes and a half-close pass both ways; several connections at once."""
    target = await nursery.start(_tcp_echo)
    bound = await bind_port(PortRequest(80, "tcp", "127.0.0.1"), "web (e1)")
    assert bound.binding.host_port > 0
    await nursery.start(serve_port, bound, ("127.0.0.1", target))

    async def client(i: int) -> None:
        stream = await trio.open_tcp_stream("127.0.0.1", bound.binding.host_port)
        async with stream:
            payload = f"hello {i} ".encode() * 1000
            await stream.send_all(payload)
            await stream.send_eof()
            got = b""
            with trio.fail_after(5):
                while data := await stream.receive_some(65536):
                    got += data
            assert got == payload

    async with trio.open_nursery() as clients:
        for i in range(10):
            clients.start_soon(client, i)


async def test_udp_echo_through_proxy(nursery: trio.Nursery) -> None:
    """Datagrams from two clients come back to the right one."""
    target = await nursery.start(_udp_echo)
    bound = await bind_port(PortRequest(53, "udp", "127.0.0.1"), "dns (e2)")
    await nursery.start(serve_port, bound, ("127.0.0.1", target))
    for name in (b"a", b"b"):
        sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with sock:
            await sock.connect(("127.0.0.1", bound.binding.host_port))
            for i in range(3):
                await sock.send(name + bytes([48 + i]))
                with trio.fail_after(5):
                    assert await sock.recv(100) == b"echo:" + name + bytes([48 + i])


async def test_taken_port_is_docker_error() -> None:
    """A second bind of the same port fails with Docker's 'port is already allocated'."""
    first = await bind_port(PortRequest(80, "tcp", "127.0.0.1"), "a (1)")
    try:
        port = first.binding.host_port
        with pytest.raises(PortAllocated) as info:
            await bind_port(PortRequest(80, "tcp", "127.0.0.1", port, port), "web (e9)")
        assert info.value.message == (
            "driver failed programming external connectivity on endpoint web (e9): "
            f"Bind for 127.0.0.1:{port} failed: port is already allocated"
        )
        assert isinstance(info.value, RuntimeFailed)
    finally:
        first.close()


async def test_range_takes_next_free_port() -> None:
    """``8000-8010``-style ranges skip ports that are taken."""
    first = await bind_port(PortRequest(80, "tcp", "127.0.0.1"), "a (1)")
    port = first.binding.host_port
    try:
        second = await bind_port(PortRequest(80, "tcp", "127.0.0.1", port, min(port + 5, 65535)), "b (2)")
        try:
            assert second.binding.host_port != port
        finally:
            second.close()
    finally:
        first.close()


async def test_cancel_closes_listener(nursery: trio.Nursery) -> None:
    """Cancelling the proxy's scope frees the host port."""
    target = await nursery.start(_tcp_echo)
    bound = await bind_port(PortRequest(80, "tcp", "127.0.0.1"), "a (1)")
    port = bound.binding.host_port
    scope = trio.CancelScope()

    async def run(*, task_status: trio.TaskStatus[None]) -> None:
        with scope:
            await serve_port(bound, ("127.0.0.1", target), task_status=task_status)

    await nursery.start(run)
    scope.cancel()
    await trio.testing.wait_all_tasks_blocked()
    again = await bind_port(PortRequest(80, "tcp", "127.0.0.1", port, port), "b (2)")
    again.close()
