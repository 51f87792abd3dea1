"""The embedded resolver on loopback: names answered, others forwarded or refused."""

from __future__ import annotations

import socket
import struct

import trio
import trio.testing

from supervisor.network import dns
from supervisor.network.resolver import Resolver, host_nameservers

NAMES = {"web": ["172.18.0.2"], "db": ["172.18.0.3"]}


def lookup(name: str, asker: str) -> list[str] | None:
    return NAMES.get(name)


async def _ask(port: int, name: str, qtype: int = dns.TYPE_A) -> bytes:
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with sock:
        await sock.connect(("127.0.0.1", port))
        await sock.send(dns.build_query(77, name, qtype))
        with trio.fail_after(5):
            return await sock.recv(4096)


def _free_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def test_answers_container_names(nursery: trio.Nursery) -> None:
    port = _free_port()
    await nursery.start(Resolver("127.0.0.1", lookup, (), port=port).serve)
    assert dns.response_addresses(await _ask(port, "web")) == ["172.18.0.2"]
    assert dns.response_addresses(await _ask(port, "DB")) == ["172.18.0.3"]
    aaaa = await _ask(port, "web", dns.TYPE_AAAA)
    assert dns.response_rcode(aaaa) == dns.NOERROR and dns.response_addresses(aaaa) == []


async def test_unknown_names_refused_without_forwarders(nursery: trio.Nursery) -> None:
    port = _free_port()
    await nursery.start(Resolver("127.0.0.1", lookup, (), port=port).serve)
    assert dns.response_rcode(await _ask(port, "example.org")) == dns.REFUSED


async def test_tcp_queries(nursery: trio.Nursery) -> None:
    port = _free_port()
    await nursery.start(Resolver("127.0.0.1", lookup, (), port=port).serve)
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        q = dns.build_query(5, "db")
        await stream.send_all(struct.pack("!H", len(q)) + q)
        buf = b""
        with trio.fail_after(5):
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                buf += await stream.receive_some(4096)
    assert dns.response_addresses(buf[2:]) == ["172.18.0.3"]


async def test_forwarding_to_upstream(nursery: trio.Nursery, monkeypatch) -> None:
    """Unknown names go to the host's nameserver (here a fake one on 127.0.0.2:53's stand-in)."""
    upstream = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    await upstream.bind(("127.0.0.1", 0))
    up_port = upstream.getsockname()[1]

    async def fake_upstream() -> None:
        with upstream:
            while True:
                data, peer = await upstream.recvfrom(4096)
                await upstream.sendto(dns.build_response(dns.parse_query(data), ["192.0.2.99"]), peer)

    nursery.start_soon(fake_upstream)
    import supervisor.network.resolver as mod

    real = mod._forward

    async def to_fake(packet: bytes, server: str) -> bytes | None:
        sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with sock:
            await sock.connect((server, up_port))
            await sock.send(packet)
            with trio.move_on_after(5):
                return await sock.recv(4096)
        return None

    monkeypatch.setattr(mod, "_forward", to_fake)
    port = _free_port()
    await nursery.start(Resolver("127.0.0.1", lookup, ("127.0.0.1",), port=port).serve)
    assert dns.response_addresses(await _ask(port, "example.org")) == ["192.0.2.99"]
    internal_port = _free_port()
    await nursery.start(Resolver("127.0.0.1", lookup, ("127.0.0.1",), forward=False, port=internal_port).serve)
    assert dns.response_rcode(await _ask(internal_port, "example.org")) == dns.REFUSED
    assert real is not to_fake


def test_host_nameservers() -> None:
    text = "# c\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\nsearch x\nnameserver 10.0.0.1 # y\n"
    assert host_nameservers(text) == ["127.0.0.53", "fe80::1", "10.0.0.1"]
