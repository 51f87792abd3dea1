"""Test helpers for the API server: run it on a short unix socket path, talk raw bytes or h11.

Not a test module; imported by tests/shell/test_api_*.py.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import h11
import trio

from supervisor.api.http import serve_unix
from supervisor.api.router import Router


@asynccontextmanager
async def running_server(router: Router) -> AsyncIterator[str]:
    """Serve ``router`` on a socket in a fresh short temp dir (sun_path is 108 bytes); yield its path."""
    tmp = tempfile.mkdtemp(prefix="berth-api-")
    path = os.path.join(tmp, "api.sock")
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_unix, path, router)
            try:
                yield path
            finally:
                nursery.cancel_scope.cancel()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def read_until(stream: trio.abc.ReceiveStream, marker: bytes, buf: bytearray) -> bytes:
    """Read into ``buf`` until it contains ``marker``; return everything up to and including it."""
    while marker not in buf:
        data = await stream.receive_some(65536)
        if not data:
            msg = f"EOF before {marker!r}; got {bytes(buf)!r}"
            raise AssertionError(msg)
        buf += data
    end = buf.index(marker) + len(marker)
    head = bytes(buf[:end])
    del buf[:end]
    return head


async def read_to_eof(stream: trio.abc.ReceiveStream, buf: bytearray | None = None) -> bytes:
    """Everything until the peer closes (plus what ``buf`` already holds)."""
    out = bytearray(buf or b"")
    while data := await stream.receive_some(65536):
        out += data
    return bytes(out)


def parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    """Split a raw response head into (status line, {lowercased name: value})."""
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


class Client:
    """A keep-alive HTTP/1.1 client on one connection, built on h11."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.conn = h11.Connection(h11.CLIENT)

    @classmethod
    async def connect(cls, path: str) -> Client:
        return cls(await trio.open_unix_socket(path))

    async def request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> tuple[h11.Response, bytes]:
        """Send one request and read its whole response."""
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
        hdrs = [("Host", "api.moby.localhost"), *(headers or [])]
        if body is not None:
            hdrs.append(("Content-Length", str(len(body))))
        out = self.conn.send(h11.Request(method=method, target=target, headers=hdrs))
        if body:
            out += self.conn.send(h11.Data(data=body))
        out += self.conn.send(h11.EndOfMessage())
        await self.stream.send_all(out)
        return await self.read_response()

    async def read_response(self) -> tuple[h11.Response, bytes]:
        response: h11.Response | None = None
        body = bytearray()
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(await self.stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert response is not None
                return response, bytes(body)
            else:
                msg = f"unexpected event {event!r}"
                raise AssertionError(msg)

    async def aclose(self) -> None:
        await self.stream.aclose()


def header(response: h11.Response, name: str) -> str | None:
    """One response header by (case-insensitive) name."""
    for k, v in response.headers:
        if k.decode().lower() == name.lower():
            return v.decode()
    return None
