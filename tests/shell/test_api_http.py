"""The API server over a real unix socket: exact wire bytes, errors, keep-alive, streams."""

from __future__ import annotations

import json
import os
import re
import stat
from types import SimpleNamespace

import pytest
import trio

from supervisor.api.http import MAX_HEAD_BYTES, serve_unix
from supervisor.api.request import Request, Response
from supervisor.api.router import Router
from supervisor.api.routes_system import add_system_routes, version_body
from supervisor.errors import Conflict, NotFound, NotModified
from tests.shell.api_wire import (
    Client,
    header,
    parse_head,
    read_to_eof,
    read_until,
    running_server,
)

STANDARD = {
    "api-version": "1.50",
    "server": "Docker/28.2.2-berth (linux)",
    "ostype": "linux",
    "docker-experimental": "false",
}


def make_router(state: SimpleNamespace) -> Router:
    router = Router()
    add_system_routes(router, version_info=lambda: version_body(kernel="6.1.0", machine="x86_64"))

    async def boom(req: Request) -> Response:
        msg = "kaboom"
        raise RuntimeError(msg)

    async def missing(req: Request) -> Response:
        msg = f"No such container: {req.params['id']}"
        raise NotFound(msg)

    async def start(req: Request) -> Response:
        msg = "already started"
        raise NotModified(msg)

    async def echo(req: Request) -> Response:
        return Response.json(await req.json())

    async def upload(req: Request) -> Response:
        sizes = [len(c) async for c in req.body_chunks()]
        return Response.json({"total": sum(sizes), "chunks": len(sizes)})

    async def image(req: Request) -> Response:
        return Response.json({"name": req.params["name"], "version": req.api_version})

    async def query(req: Request) -> Response:
        return Response.json(
            {
                "all": req.query_bool("all"),
                "limit": req.query_int("limit", -1),
                "filters": req.query_filters(),
                "ua": req.user_agent,
            }
        )

    async def nothing(req: Request) -> None:
        return None

    async def stream(req: Request) -> None:
        s = await req.start_stream()
        await state.gate.wait()
        await s.send(b'{"a":1}\n')
        await s.send(b'{"b":2}\n')

    async def forever(req: Request) -> None:
        s = await req.start_stream()
        try:
            await s.send(b"first\n")
            await trio.sleep_forever()
        finally:
            state.forever_ended.set()

    router.add("GET", r"/boom", boom)
    router.add("GET", r"/containers/(?P<id>[^/]+)/json", missing)
    router.add("POST", r"/containers/(?P<id>[^/]+)/start", start)
    router.add("POST", r"/echo", echo)
    router.add("POST", r"/upload", upload)
    router.add("GET", r"/images/(?P<name>.+)/json", image)
    router.add("GET", r"/q", query)
    router.add("POST", r"/nothing", nothing)
    router.add("GET", r"/stream", stream)
    router.add("GET", r"/forever", forever)
    return router


@pytest.fixture
async def server():
    state = SimpleNamespace(gate=trio.Event(), forever_ended=trio.Event())
    async with running_server(make_router(state)) as path:
        state.path = path
        yield state


def assert_standard(headers: dict[str, str]) -> None:
    for name, value in STANDARD.items():
        assert headers[name] == value
    assert re.fullmatch(r"Docker/.+\s\((.+)\)", headers["server"]).group(1) == "linux"


async def raw(path: str, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send raw bytes on a fresh connection (with Connection: close) and split the reply."""
    stream = await trio.open_unix_socket(path)
    async with stream:
        await stream.send_all(request)
        data = await read_to_eof(stream)
    head, _, body = data.partition(b"\r\n\r\n")
    status, headers = parse_head(head + b"\r\n")
    return status, headers, body


async def test_head_ping_exact(server):
    """HEAD /_ping: 200, Docker's headers, Content-Length 0 and no body."""
    status, headers, body = await raw(
        server.path, b"HEAD /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status == "HTTP/1.1 200 OK"
    assert_standard(headers)
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["content-length"] == "0"
    assert headers["cache-control"] == "no-cache, no-store, must-revalidate"
    assert headers["pragma"] == "no-cache"
    assert headers["swarm"] == "inactive"
    assert body == b""


async def test_get_ping_versioned_and_not(server):
    client = await Client.connect(server.path)
    for target in ("/_ping", "/v1.50/_ping", "/v1.24/_ping"):
        resp, body = await client.request("GET", target)
        assert resp.status_code == 200
        assert body == b"OK"
    await client.aclose()


async def test_version_body(server):
    client = await Client.connect(server.path)
    resp, body = await client.request("GET", "/version")
    doc = json.loads(body)
    assert resp.status_code == 200
    assert header(resp, "Content-Type") == "application/json"
    assert doc["ApiVersion"] == "1.50"
    assert doc["MinAPIVersion"] == "1.24"
    assert doc["Arch"] == "amd64"
    details = doc["Components"][0]["Details"]
    assert all(isinstance(v, str) for v in details.values())
    await client.aclose()


@pytest.mark.parametrize(
    ("target", "status", "message"),
    [
        ("/nope", 404, "page not found"),
        ("/v1.50/nope", 404, "page not found"),
        (
            "/v1.12/_ping",
            400,
            "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version",
        ),
        (
            "/v1.51/_ping",
            400,
            "client version 1.51 is too new. Maximum supported API version is 1.50",
        ),
        ("/containers/abc/json", 404, "No such container: abc"),
        ("/boom", 500, "RuntimeError: kaboom"),
        ("/q?limit=ten", 400, "invalid value for \"limit\": 'ten' is not an integer"),
        ("/q?filters=%7Bx", 400, None),
    ],
)
async def test_error_bodies(server, target, status, message):
    """Errors are {"message"} with Content-Type exactly application/json and the standard headers."""
    st, headers, body = await raw(
        server.path, f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    )
    assert st.split()[1] == str(status)
    assert headers["content-type"] == "application/json"
    assert_standard(headers)
    doc = json.loads(body)
    assert set(doc) == {"message"}
    if message is not None:
        assert doc["message"] == message


async def test_not_modified_and_no_content_have_no_body(server):
    client = await Client.connect(server.path)
    resp, body = await client.request("POST", "/v1.50/containers/x/start")
    assert (resp.status_code, body, header(resp, "Content-Length")) == (304, b"", None)
    resp, body = await client.request("POST", "/nothing")
    assert (resp.status_code, body, header(resp, "Content-Length")) == (204, b"", None)
    # still usable afterwards (keep-alive)
    resp, body = await client.request("GET", "/_ping")
    assert body == b"OK"
    await client.aclose()


async def test_handler_crash_does_not_kill_server(server):
    client = await Client.connect(server.path)
    for _ in range(3):
        resp, _ = await client.request("GET", "/boom")
        assert resp.status_code == 500
    resp, body = await client.request("GET", "/_ping")
    assert body == b"OK"
    await client.aclose()


async def test_head_only_where_declared(server):
    client = await Client.connect(server.path)
    resp, _ = await client.request("HEAD", "/version")
    assert resp.status_code == 404
    resp, _ = await client.request("DELETE", "/_ping")
    assert resp.status_code == 404
    await client.aclose()


async def test_image_names_with_slashes_and_colons(server):
    client = await Client.connect(server.path)
    _, body = await client.request("GET", "/v1.41/images/docker.io/library/busybox:latest/json")
    assert json.loads(body) == {"name": "docker.io/library/busybox:latest", "version": "1.41"}
    _, body = await client.request("GET", "/images/sha256%3Aabc/json")
    assert json.loads(body)["name"] == "sha256:abc"
    await client.aclose()


async def test_query_helpers_over_the_wire(server):
    client = await Client.connect(server.path)
    target = '/q?all=True&limit=5&filters={"label":["a=b"],"status":{"exited":true}}'.replace(
        '"', "%22"
    )
    _, body = await client.request(
        "GET", target, headers=[("User-Agent", "docker-sdk-python/7.2.0")]
    )
    assert json.loads(body) == {
        "all": True,
        "limit": 5,
        "filters": {"label": ["a=b"], "status": ["exited"]},
        "ua": "docker-sdk-python/7.2.0",
    }
    await client.aclose()


async def test_json_body(server):
    client = await Client.connect(server.path)
    resp, body = await client.request("POST", "/echo", body=b'{"Image":"busybox"}')
    assert json.loads(body) == {"Image": "busybox"}
    resp, body = await client.request("POST", "/echo", body=b"")
    assert json.loads(body) == {}
    resp, body = await client.request("POST", "/echo", body=b'{"Image":')
    assert resp.status_code == 400
    assert json.loads(body)["message"].startswith("invalid JSON:")
    resp, body = await client.request("POST", "/echo", body=b"[1]")
    assert (resp.status_code, json.loads(body)["message"]) == (
        400,
        "invalid JSON: expected an object, got array",
    )
    await client.aclose()


async def test_chunked_upload_streams(server):
    """body_chunks() reads a chunked body piece by piece."""
    stream = await trio.open_unix_socket(server.path)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (b"a" * 1000, b"b" * 70000, b"c"))
    await stream.send_all(
        b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + chunks
        + b"0\r\n\r\n"
    )
    data = await read_to_eof(stream)
    body = data.partition(b"\r\n\r\n")[2]
    assert json.loads(body)["total"] == 71001
    await stream.aclose()


async def test_unread_body_is_drained_for_keepalive(server):
    client = await Client.connect(server.path)
    resp, _ = await client.request("POST", "/nothing", body=b"x" * 100_000)
    assert resp.status_code == 204
    resp, body = await client.request("GET", "/_ping")
    assert body == b"OK"
    await client.aclose()


async def test_pipelined_requests(server):
    stream = await trio.open_unix_socket(server.path)
    await stream.send_all(
        b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    data = await read_to_eof(stream)
    assert data.count(b"HTTP/1.1 200 OK") == 2
    assert data.count(b"HTTP/1.1 404 Not Found") == 1
    assert data.endswith(b"OK")
    await stream.aclose()


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"this is not http\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",  # HTTP/1.1 without Host
    ],
)
async def test_malformed_is_400_and_close(server, request_bytes):
    st, headers, body = await raw(server.path, request_bytes)
    assert st.startswith("HTTP/1.1 400")
    assert headers["content-type"] == "application/json"
    assert "message" in json.loads(body)
    # and the daemon lives on
    client = await Client.connect(server.path)
    assert (await client.request("GET", "/_ping"))[1] == b"OK"
    await client.aclose()


async def test_oversized_head_is_431(server):
    """A request head that grows past the bound without ending is refused, not buffered forever."""
    big = b"X-Big: " + b"a" * (MAX_HEAD_BYTES + 10)
    stream = await trio.open_unix_socket(server.path)
    try:
        await stream.send_all(b"GET /_ping HTTP/1.1\r\nHost: x\r\n" + big)
    except trio.BrokenResourceError:
        pass  # the server may close before we finish writing
    data = await read_to_eof(stream)
    assert data.startswith(b"HTTP/1.1 431 ")
    await stream.aclose()


async def test_stream_headers_flushed_before_body(server):
    """start_stream() sends status and headers at once; each send is exactly one chunk."""
    stream = await trio.open_unix_socket(server.path)
    await stream.send_all(b"GET /v1.50/stream HTTP/1.1\r\nHost: x\r\n\r\n")
    buf = bytearray()
    head = await read_until(stream, b"\r\n\r\n", buf)  # handler is still blocked on the gate
    status, headers = parse_head(head)
    assert status == "HTTP/1.1 200 OK"
    assert headers["transfer-encoding"] == "chunked"
    assert headers["content-type"] == "application/json"
    assert "content-length" not in headers
    assert_standard(headers)
    assert buf == b""
    server.gate.set()
    rest = await read_until(stream, b"0\r\n\r\n", buf)
    assert rest == b'8\r\n{"a":1}\n\r\n8\r\n{"b":2}\n\r\n0\r\n\r\n'
    # keep-alive after a stream
    await stream.send_all(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (await read_to_eof(stream, buf)).endswith(b"\r\n\r\nOK")
    await stream.aclose()


async def test_client_disconnect_cancels_streaming_handler(server):
    """`docker run -d` drops its wait request: the blocked handler is cancelled, the server lives."""
    stream = await trio.open_unix_socket(server.path)
    await stream.send_all(b"GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
    await read_until(stream, b"first\n\r\n", bytearray())
    await stream.aclose()
    with trio.fail_after(5):
        await server.forever_ended.wait()
    client = await Client.connect(server.path)
    assert (await client.request("GET", "/_ping"))[1] == b"OK"
    await client.aclose()


async def test_many_concurrent_connections(server):
    """compose opens 64 connections at once."""
    results = []

    async def one():
        client = await Client.connect(server.path)
        for _ in range(3):
            _, body = await client.request("GET", "/v1.41/_ping")
            results.append(body)
        await client.aclose()

    async with trio.open_nursery() as nursery:
        for _ in range(64):
            nursery.start_soon(one)
    assert results == [b"OK"] * 192


async def test_socket_lifecycle():
    """The socket file exists with its mode once started, replaces a stale one, and is removed on exit."""
    import tempfile

    tmp = tempfile.mkdtemp(prefix="berth-api-")
    path = os.path.join(tmp, "api.sock")
    try:
        # a stale socket file left by a dead daemon
        import socket as pysocket

        dead = pysocket.socket(pysocket.AF_UNIX)
        dead.bind(path)
        dead.close()
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_unix, path, make_router(SimpleNamespace()))
            st = os.stat(path)
            assert stat.S_ISSOCK(st.st_mode)
            assert stat.S_IMODE(st.st_mode) == 0o660
            assert os.listdir(tmp) == ["api.sock"]
            # a second server must refuse to steal a live socket
            with pytest.raises(Conflict):
                await serve_unix(path, Router())
            nursery.cancel_scope.cancel()
        assert os.listdir(tmp) == []
    finally:
        os.rmdir(tmp)
