"""Hijacked attach streams: the one request httpx cannot make.

``POST /containers/{id}/attach`` with ``Connection: Upgrade`` / ``Upgrade: tcp``
is answered with ``101 UPGRADED`` and the connection becomes a raw byte pipe:
container output comes back (stdcopy-framed unless the container has a TTY) and
stdin goes up unframed. So this module writes the request on a plain socket,
reads the 101 headers itself and keeps any bytes that arrived after them (the Go
client does the same with ``Buffered()``; docker-py loses them).

Half-close rules (docker-api.md §3): ``shutdown(SHUT_WR)`` when stdin reaches
EOF, or at once when no stdin is attached; the stream ends when the daemon
half-closes its side.
"""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import urlencode

from supervisor.cli.client import USER_AGENT, ApiError, Client, DaemonUnreachable

_MAX_HEADER = 64 * 1024

STDIN, STDOUT, STDERR, SYSTEMERR = 0, 1, 2, 3


class StreamError(Exception):
    """The daemon reported an error inside the stream, or the framing broke."""


@dataclass
class StdcopyDemuxer:
    """Incremental decoder of the stdcopy framing: 8-byte header, then payload.

    Feed it any chunking of the byte stream; it returns complete frames only.
    """

    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Return the (stream, payload) frames completed by ``data``.

        Raises:
            StreamError: a systemerr frame, or a header naming an unknown stream.
        """
        self._buffer += data
        frames: list[tuple[int, bytes]] = []
        while len(self._buffer) >= 8:
            kind = self._buffer[0]
            (size,) = struct.unpack(">L", self._buffer[4:8])
            if kind > SYSTEMERR:
                msg = f"Unrecognized input header: {kind}"
                raise StreamError(msg)
            if len(self._buffer) < 8 + size:
                break
            payload = bytes(self._buffer[8 : 8 + size])
            del self._buffer[: 8 + size]
            if kind == SYSTEMERR:
                msg = f"error from daemon in stream: {payload.decode(errors='replace')}"
                raise StreamError(msg)
            frames.append((kind, payload))
        return frames


def encode_frame(stream: int, payload: bytes) -> bytes:
    """One stdcopy frame (used by tests and fakes)."""
    return struct.pack(">BxxxL", stream, len(payload)) + payload


class HijackedConnection:
    """The raw socket of an upgraded request, plus bytes read past the headers."""

    def __init__(self, sock: socket.socket, buffered: bytes) -> None:
        self.sock = sock
        self._buffered = buffered

    def recv(self, size: int = 65536) -> bytes:
        if self._buffered:
            data, self._buffered = self._buffered, b""
            return data
        return self.sock.recv(size)

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close_write(self) -> None:
        """Half-close: tell the daemon stdin is finished, keep reading output."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()


def _connect(client: Client) -> socket.socket:
    endpoint = client.endpoint
    try:
        if endpoint.socket_path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(endpoint.socket_path)
            return sock
        assert endpoint.address is not None
        return socket.create_connection(endpoint.address)
    except OSError as exc:
        msg = f"Cannot connect to the berth daemon at {endpoint.host}: is the daemon running?"
        raise DaemonUnreachable(msg) from exc


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        msg = f"malformed response to the attach request: {lines[0]!r}"
        raise StreamError(msg)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


def open_hijack(
    client: Client,
    path: str,
    params: Mapping[str, str],
    body: bytes = b"",
    content_type: str = "text/plain",
) -> HijackedConnection:
    """Send an upgrade request and return the raw stream after the 101.

    Raises:
        ApiError: the daemon refused (404 no such container, 409 not running...).
        StreamError: the daemon answered something other than 101.
        DaemonUnreachable: nothing listens on the socket.
    """
    sock = _connect(client)
    query = urlencode(sorted(params.items()))
    target = client.url(path) + (f"?{query}" if query else "")
    request = (
        f"POST {target} HTTP/1.1\r\n"
        "Host: berth\r\n"
        f"User-Agent: {USER_AGENT}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: Upgrade\r\n"
        "Upgrade: tcp\r\n\r\n"
    ).encode() + body
    try:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                msg = "the daemon closed the connection before answering the attach request"
                raise StreamError(msg)
            data += chunk
            if len(data) > _MAX_HEADER:
                msg = "the daemon's answer to the attach request has oversized headers"
                raise StreamError(msg)
        head, _, rest = data.partition(b"\r\n\r\n")
        status, headers = _parse_head(head)
        if status == 101:
            return HijackedConnection(sock, rest)
        if status >= 400:
            raise _error_body(sock, status, headers, rest)
        msg = f"unable to upgrade to tcp, received {status}"
        raise StreamError(msg)
    except BaseException:
        sock.close()
        raise


def _error_body(sock: socket.socket, status: int, headers: dict[str, str], rest: bytes) -> ApiError:
    length = int(headers.get("content-length", "0") or 0)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    text = rest[:length].decode(errors="replace") if length else rest.decode(errors="replace")
    if headers.get("content-type", "").startswith("application/json"):
        try:
            return ApiError(status, str(json.loads(text)["message"]))
        except (ValueError, KeyError, TypeError):
            pass
    return ApiError(status, text.strip() or f"attach failed with status {status}")


def pump_output(conn: HijackedConnection, tty: bool, stdout: BinaryIO, stderr: BinaryIO) -> None:
    """Copy the stream to stdout/stderr until the daemon half-closes.

    Raises:
        StreamError: a systemerr frame or a broken header.
    """
    demux = StdcopyDemuxer()
    while True:
        data = conn.recv()
        if not data:
            return
        if tty:
            stdout.write(data)
            stdout.flush()
            continue
        for kind, payload in demux.feed(data):
            target = stderr if kind == STDERR else stdout
            target.write(payload)
            target.flush()


def pump_input(conn: HijackedConnection, stdin: BinaryIO) -> None:
    """Forward stdin unframed, then half-close at EOF (runs in a thread)."""
    read = getattr(stdin, "read1", None) or stdin.read
    try:
        while True:
            data = read(32768)
            if not data:
                break
            conn.sendall(data)
    except (OSError, ValueError):
        pass
    finally:
        conn.close_write()
