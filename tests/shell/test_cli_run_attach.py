"""The attached run path against a fake daemon on a real unix socket.

The fake answers create/attach/wait/start like moby: 101 on attach (with the
first frame in the same write as the headers), wait headers at once but the
body only after the container "exits", stdcopy frames split at awkward points.
If the CLI waited for the wait body before starting, these tests would hang.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from supervisor.cli.hijack import StdcopyDemuxer, StreamError, encode_frame
from supervisor.cli.main import cli
from supervisor.cli.state import CliState

CID = "c" * 64


class FakeDaemon:
    """One thread per connection; one request per connection (Connection: close)."""

    def __init__(
        self, path: str, exit_code: int = 3, echo_stdin: bool = False, tty: bool = False
    ) -> None:
        self.path = path
        self.exit_code = exit_code
        self.echo_stdin = echo_stdin
        self.tty = tty
        self.log: list[str] = []
        self.bodies: dict[str, Any] = {}
        self.stdin = b""
        self.attach_conn: socket.socket | None = None
        self.exited = threading.Event()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(16)
        self.threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def close(self) -> None:
        self.exited.set()
        self.listener.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            thread.start()
            self.threads.append(thread)

    @staticmethod
    def _read_request(conn: socket.socket) -> tuple[str, str, bytes]:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(4096)
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        method, target, _ = lines[0].split(" ")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            body += conn.recv(4096)
        return method, target, body

    def _reply(
        self, conn: socket.socket, status: str, body: bytes = b"", ctype: str = "application/json"
    ) -> None:
        conn.sendall(
            f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        conn.close()

    def _handle(self, conn: socket.socket) -> None:
        method, target, body = self._read_request(conn)
        path = target.split("?")[0].removeprefix("/v1.50")
        self.log.append(f"{method} {target}")
        if path == "/containers/create":
            self.bodies["create"] = json.loads(body)
            self._reply(conn, "201 Created", json.dumps({"Id": CID, "Warnings": []}).encode())
        elif path.endswith("/attach"):
            self.attach_conn = conn
            first = b"" if self.tty else encode_frame(1, b"hel")
            conn.sendall(
                b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
                + first
            )
        elif path.endswith("/wait"):
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            )
            self.exited.wait(10)
            payload = json.dumps({"StatusCode": self.exit_code, "Error": None}).encode() + b"\n"
            conn.sendall(f"{len(payload):x}\r\n".encode() + payload + b"\r\n0\r\n\r\n")
            conn.close()
        elif path.endswith("/start"):
            self._reply(conn, "204 No Content")
            threading.Thread(target=self._run_container, daemon=True).start()
        elif path.endswith("/kill"):
            self._reply(conn, "204 No Content")
        elif path.startswith("/containers/") and path.endswith("/json"):
            info = {
                "Id": CID,
                "Config": {"Tty": self.tty, "OpenStdin": True},
                "HostConfig": {"AutoRemove": False},
            }
            self._reply(conn, "200 OK", json.dumps(info).encode())
        else:
            self._reply(conn, "404 Not Found", b'{"message":"page not found"}')

    def _run_container(self) -> None:
        conn = self.attach_conn
        assert conn is not None
        if self.tty:
            conn.sendall(b"raw tty bytes\r\n")
        else:
            # "hel" already went out with the 101; split the rest mid-header and mid-payload
            second = encode_frame(1, b"lo\n") + encode_frame(2, b"oops\n")
            conn.sendall(second[:5])
            conn.sendall(second[5:11])
            conn.sendall(second[11:])
        while chunk := conn.recv(4096):  # until the client half-closes (stdin EOF)
            self.stdin += chunk
        if self.echo_stdin and self.stdin:
            conn.sendall(encode_frame(1, self.stdin.upper()))
        conn.shutdown(socket.SHUT_WR)
        conn.close()
        self.exited.set()


@pytest.fixture
def sock_path(tmp_path: Path) -> Iterator[str]:
    path = str(tmp_path / "berth.sock")
    yield path


def run_cli(path: str, *args: str, stdin: bytes | None = None) -> Any:
    return CliRunner().invoke(
        cli, ["-H", f"unix://{path}", *args], obj=CliState(environ={}), input=stdin
    )


def test_run_attached_demuxes_and_exits_with_status(sock_path: str) -> None:
    """Output frames go to stdout/stderr, exit code comes from the wait body."""
    daemon = FakeDaemon(sock_path, exit_code=3)
    try:
        result = run_cli(
            sock_path, "run", "--rm", "busybox", "sh", "-c", "echo hello; echo oops >&2; exit 3"
        )
    finally:
        daemon.close()
    assert result.stdout == "hello\n"
    assert result.stderr == "oops\n"
    assert result.exit_code == 3
    steps = [entry.split("?")[0] for entry in daemon.log]
    assert steps == [
        "POST /v1.50/containers/create",
        f"POST /v1.50/containers/{CID}/attach",
        f"POST /v1.50/containers/{CID}/wait",
        f"POST /v1.50/containers/{CID}/start",
    ]
    assert daemon.log[1].endswith("attach?stderr=1&stdout=1&stream=1")
    assert daemon.log[2].endswith("wait?condition=removed")
    assert (
        daemon.bodies["create"]["AttachStdout"] is True
        and daemon.bodies["create"]["HostConfig"]["AutoRemove"] is True
    )
    assert daemon.stdin == b""  # half-closed at once without -i


def test_run_interactive_forwards_stdin(sock_path: str) -> None:
    """-i sends stdin raw and half-closes at EOF; next-exit without --rm; exit 0."""
    daemon = FakeDaemon(sock_path, exit_code=0, echo_stdin=True)
    try:
        result = run_cli(sock_path, "run", "-i", "busybox", "cat", stdin=b"some input\n")
    finally:
        daemon.close()
    assert result.exit_code == 0, result.output
    assert daemon.stdin == b"some input\n"
    assert result.stdout == "hello\nSOME INPUT\n"
    assert daemon.log[1].endswith("attach?stderr=1&stdin=1&stdout=1&stream=1")
    assert daemon.log[2].endswith("wait?condition=next-exit")
    create = daemon.bodies["create"]
    assert create["OpenStdin"] and create["StdinOnce"] and create["AttachStdin"]


def test_start_attach_uses_inspect(sock_path: str) -> None:
    """start -a inspects, attaches, waits, starts; a TTY stream is copied raw."""
    daemon = FakeDaemon(sock_path, exit_code=0, tty=True)
    try:
        result = run_cli(sock_path, "start", "-a", "web")
    finally:
        daemon.close()
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == b"raw tty bytes\r\n"
    steps = [entry.split("?")[0] for entry in daemon.log]
    assert steps[0] == "GET /v1.50/containers/web/json"
    assert steps[1:] == [
        f"POST /v1.50/containers/{CID}/attach",
        f"POST /v1.50/containers/{CID}/wait",
        f"POST /v1.50/containers/{CID}/start",
    ]


def test_attach_refused_reports_daemon_message(sock_path: str) -> None:
    """A non-101 answer to attach surfaces the daemon's message."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(4)

    def serve() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            data = conn.recv(65536)
            if b"/containers/create" in data:
                body = json.dumps({"Id": CID}).encode()
                conn.sendall(
                    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                    % len(body)
                    + body
                )
            else:
                body = b'{"message":"No such container: cc"}'
                conn.sendall(
                    b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                    % len(body)
                    + body
                )
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        result = run_cli(sock_path, "run", "busybox")
    finally:
        thread.join(5)
        listener.close()
    assert result.exit_code == 1
    assert result.stderr == "Error response from daemon: No such container: cc\n"


@given(
    st.lists(st.tuples(st.sampled_from([0, 1, 2]), st.binary(max_size=40)), max_size=8), st.data()
)
def test_demuxer_any_chunking(frames: list[tuple[int, bytes]], data: st.DataObject) -> None:
    """The same frames come out whatever the chunk boundaries."""
    stream = b"".join(encode_frame(kind, payload) for kind, payload in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    demux = StdcopyDemuxer()
    out: list[tuple[int, bytes]] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out += demux.feed(stream[start:end])
    assert out == frames


def test_demuxer_errors() -> None:
    """systemerr frames and unknown stream types end the stream with an error."""
    with pytest.raises(StreamError, match="error from daemon in stream: bad"):
        StdcopyDemuxer().feed(encode_frame(3, b"bad"))
    with pytest.raises(StreamError, match="Unrecognized input header: 7"):
        StdcopyDemuxer().feed(b"\x07\x00\x00\x00\x00\x00\x00\x01x")
