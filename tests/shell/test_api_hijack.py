"""Hijacked attach/exec connections over a real unix socket: 101 bytes, half-close, docker-py."""

from __future__ import annotations

import json
from types import SimpleNamespace

import docker
import pytest
import trio

from supervisor.api.hijack import MULTIPLEXED_STREAM, RAW_STREAM
from supervisor.api.request import Request
from supervisor.api.router import Router
from supervisor.api.routes_system import add_system_routes, host_version_body
from supervisor.api.stdcopy import FrameDecoder, frame
from tests.shell.api_wire import read_to_eof, read_until, running_server

UPGRADE = b"Connection: Upgrade\r\nUpgrade: tcp\r\n"
EXPECTED_101 = (
    b"HTTP/1.1 101 UPGRADED\r\n"
    b"Content-Type: application/vnd.docker.multiplexed-stream\r\n"
    b"Connection: Upgrade\r\n"
    b"Upgrade: tcp\r\n"
    b"Api-Version: 1.50\r\n"
    b"Server: Docker/28.2.2-berth (linux)\r\n"
    b"Ostype: linux\r\n"
    b"Docker-Experimental: false\r\n"
    b"\r\n"
)


def make_router(state: SimpleNamespace) -> Router:
    router = Router()
    add_system_routes(router, version_info=host_version_body)

    async def attach(req: Request) -> None:
        """Echo stdin back after stdin EOF: output after the client's half-close must still arrive."""
        conn = await req.hijack(MULTIPLEXED_STREAM if req.api_at_least("1.42") else RAW_STREAM)
        stdin = bytearray()
        while data := await conn.receive_some():
            stdin += data
        await conn.send_all(frame(1, b"got:" + bytes(stdin)))
        await conn.send_eof()

    async def exec_start(req: Request) -> None:
        body = await req.json()
        state.exec_bodies.append(body)
        conn = await req.hijack(MULTIPLEXED_STREAM)
        await conn.send_all(frame(1, b"out\n"))
        await conn.send_all(frame(2, b"err\n"))
        await conn.send_eof()

    async def firehose(req: Request) -> None:
        conn = await req.hijack(RAW_STREAM)
        try:
            while True:
                await conn.send_all(b"x" * 65536)
        finally:
            state.firehose_ended.set()

    router.add("POST", r"/containers/(?P<id>[^/]+)/attach", attach)
    router.add("POST", r"/exec/(?P<id>[^/]+)/start", exec_start)
    router.add("POST", r"/firehose", firehose)
    return router


@pytest.fixture
async def server():
    state = SimpleNamespace(exec_bodies=[], firehose_ended=trio.Event())
    async with running_server(make_router(state)) as path:
        state.path = path
        yield state


def decode(data: bytes) -> list[tuple[int, bytes]]:
    decoder = FrameDecoder()
    frames = decoder.feed(data)
    assert decoder.pending == 0
    return frames


async def test_101_exact_and_output_after_half_close(server):
    """The 101 head is written alone and exactly; stdin EOF is not a disconnect."""
    stream = await trio.open_unix_socket(server.path)
    await stream.send_all(
        b"POST /v1.50/containers/c1/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: 0\r\nContent-Type: text/plain\r\n" + UPGRADE + b"\r\n"
    )
    buf = bytearray()
    head = await read_until(stream, b"\r\n\r\n", buf)
    assert head == EXPECTED_101
    assert buf == b""
    await stream.send_all(b"hello")
    await stream.send_eof()  # the CLI's CloseWrite()
    assert decode(await read_to_eof(stream, buf)) == [(1, b"got:hello")]
    await stream.aclose()


async def test_bytes_sent_with_the_request_reach_the_handler(server):
    stream = await trio.open_unix_socket(server.path)
    await stream.send_all(
        b"POST /containers/c1/attach HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
        + UPGRADE
        + b"\r\nearly"
    )
    await stream.send_eof()
    data = await read_to_eof(stream)
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 UPGRADED")
    assert decode(rest) == [(1, b"got:early")]
    await stream.aclose()


async def test_without_upgrade_header_old_200_form(server):
    stream = await trio.open_unix_socket(server.path)
    await stream.send_all(
        b"POST /v1.41/containers/c1/attach HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    )
    await stream.send_eof()
    data = await read_to_eof(stream)
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[:2] == [b"HTTP/1.1 200 OK", b"Content-Type: " + RAW_STREAM.encode()]
    assert b"Transfer-Encoding" not in head and b"Content-Length" not in head
    assert rest == frame(1, b"got:")
    await stream.aclose()


async def test_exec_start_reads_json_body_then_hijacks(server):
    stream = await trio.open_unix_socket(server.path)
    body = b'{"Detach":false,"Tty":false}'
    await stream.send_all(
        b"POST /v1.50/exec/e1/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + b"Content-Length: %d\r\n" % len(body)
        + UPGRADE
        + b"\r\n"
        + body
    )
    data = await read_to_eof(stream)
    assert decode(data.partition(b"\r\n\r\n")[2]) == [(1, b"out\n"), (2, b"err\n")]
    assert server.exec_bodies == [{"Detach": False, "Tty": False}]
    await stream.aclose()


@pytest.mark.parametrize(
    ("user_agent", "delay"),
    [
        ("docker-sdk-python/7.2.0", 0.05),
        ("docker-compose/1.29.2 docker-py/6.1.3 Linux/6.1.0", 0.05),
        ("Docker-Client/28.2.2 (linux)", 0.0),
    ],
)
async def test_first_output_waits_for_docker_py_only(server, autojump_clock, user_agent, delay):
    """docker-py loses bytes that arrive with the 101, so its first output comes 50 ms later."""
    stream = await trio.open_unix_socket(server.path)
    await stream.send_all(
        b"POST /exec/e1/start HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
        + f"User-Agent: {user_agent}\r\n".encode()
        + UPGRADE
        + b"\r\n"
    )
    buf = bytearray()
    await read_until(stream, b"\r\n\r\n", buf)
    t_head = trio.current_time()
    await read_until(stream, b"out\n", buf)
    assert trio.current_time() - t_head == pytest.approx(delay)
    await stream.aclose()


async def test_client_gone_ends_hijack_handler_quietly(server):
    stream = await trio.open_unix_socket(server.path)
    await stream.send_all(b"POST /firehose HTTP/1.1\r\nHost: x\r\n" + UPGRADE + b"\r\n")
    await read_until(stream, b"xxxx", bytearray())
    await stream.aclose()
    with trio.fail_after(5):
        await server.firehose_ended.wait()
    # the server still answers
    stream = await trio.open_unix_socket(server.path)
    await stream.send_all(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (await read_to_eof(stream)).endswith(b"OK")
    await stream.aclose()


async def test_docker_py_exec_start_never_loses_output(server):
    """docker-py 7.2.0 reads the raw socket under its buffered reader: every run must see the output."""

    def run() -> list[object]:
        client = docker.APIClient(base_url=f"unix://{server.path}", version="auto", timeout=10)
        try:
            assert client.ping() is True
            return [client.exec_start("e1", demux=True) for _ in range(10)]
        finally:
            client.close()

    results = await trio.to_thread.run_sync(run)
    assert results == [(b"out\n", b"err\n")] * 10
    assert json.loads(json.dumps(server.exec_bodies[0])) == {"Detach": False, "Tty": False}


async def test_wait_disconnected_ignores_half_close(autojump_clock):
    """An idle attach learns of a real disconnect (POLLHUP) but not of stdin EOF."""
    results: list[str] = []
    closed = trio.Event()
    gone = trio.Event()

    async def idle(req: Request) -> None:
        conn = await req.hijack(RAW_STREAM)
        assert await conn.receive_some() == b""  # half-close
        with trio.move_on_after(10):
            await conn.wait_disconnected()
            results.append("early")
        results.append("still connected after half-close")
        closed.set()
        with trio.fail_after(10):
            await conn.wait_disconnected()
        results.append("gone")
        gone.set()

    router = Router()
    router.add("POST", "/idle", idle)
    async with running_server(router) as path:
        stream = await trio.open_unix_socket(path)
        await stream.send_all(b"POST /idle HTTP/1.1\r\nHost: x\r\n" + UPGRADE + b"\r\n")
        await read_until(stream, b"\r\n\r\n", bytearray())
        await stream.send_eof()
        await closed.wait()
        await stream.aclose()
        with trio.fail_after(20):
            await gone.wait()
    assert results == ["still connected after half-close", "gone"]
