"""Hijacked connections: attach and exec start speak raw bytes after one header.

Theory of operation (docker-api.md §3, moby ``postContainersAttach``):

* The client asks with ``Connection: Upgrade`` / ``Upgrade: tcp``. We answer
  ``HTTP/1.1 101 UPGRADED`` with the stream's Content-Type, written as its own
  write, and from then on the socket carries unframed bytes both ways. Without
  the Upgrade header moby answers an old-style ``200 OK`` raw-stream reply that
  ends when the connection closes; we do the same (the Go CLI refuses it, but
  it always asks for the upgrade).
* Reading EOF is the client's ``CloseWrite()``: its stdin ended. The CLI does it
  at once when no stdin is attached. It is NOT a disconnect: keep writing.
  A client that is really gone shows up as a write error
  (trio.BrokenResourceError), which ends the handler quietly; a handler that
  may write nothing for a long time (an idle attach) can also run
  ``wait_disconnected`` beside its work, moby's EPOLLHUP check.
* When the output is done the server half-closes (``send_eof``); the client
  ends on EOF. docker-py never half-closes, so nothing waits for its EOF.
* Bytes the client sent right behind the request (already read into h11's
  buffer) come out of ``receive_some`` first.
* docker-py reads the raw socket under http.client's buffered reader, so bytes
  that arrive together with the 101 are lost (docker/docker-py#3332). For its
  User-Agent only, the first output byte waits until 50 ms after the 101 went
  out; the Go CLI keeps buffered bytes and pays no latency.
"""

from __future__ import annotations

import select

import trio

from supervisor.api.request import STANDARD_HEADERS_BYTES

DOCKER_PY_OUTPUT_DELAY = 0.05
RAW_STREAM = "application/vnd.docker.raw-stream"
MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"


def hijack_head(*, upgrade: bool, content_type: str) -> bytes:
    """The status line and headers moby writes before the raw stream."""
    if upgrade:
        head = (
            "HTTP/1.1 101 UPGRADED\r\n"
            f"Content-Type: {content_type}\r\n"
            "Connection: Upgrade\r\n"
            "Upgrade: tcp\r\n"
        )
    else:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {RAW_STREAM}\r\n"
    return head.encode("latin-1") + STANDARD_HEADERS_BYTES + b"\r\n"


def needs_output_delay(user_agent: str) -> bool:
    """True for docker-py (and compose through it), which drops bytes sent with the 101."""
    return user_agent.startswith("docker-sdk-python") or "docker-py" in user_agent


class HijackedStream:
    """The raw connection after the hijack header, handed to attach/exec handlers.

    Output and input may be used from two tasks at once (stdout pump and
    stdin pump); concurrent ``send_all`` calls are serialised.
    """

    __slots__ = ("_buffered", "_hold_until", "_send_lock", "_stream")

    def __init__(
        self, stream: trio.abc.HalfCloseableStream, buffered: bytes, hold_until: float | None
    ) -> None:
        self._stream = stream
        self._buffered = buffered
        self._hold_until = hold_until
        self._send_lock = trio.Lock()

    async def send_all(self, data: bytes) -> None:
        """Write output bytes.

        Raises:
            trio.BrokenResourceError: the client is gone (let it propagate).
        """
        async with self._send_lock:
            if self._hold_until is not None:
                await trio.sleep_until(self._hold_until)
                self._hold_until = None
            await self._stream.send_all(data)

    async def receive_some(self, max_bytes: int = 65536) -> bytes:
        """Read input (stdin) bytes; b"" means the client closed its sending side.

        b"" is stdin EOF, not a disconnect: keep sending output. A reset
        connection also reads as b"": the next write will report it.
        """
        if self._buffered:
            data, self._buffered = self._buffered[:max_bytes], self._buffered[max_bytes:]
            return bytes(data)
        try:
            return bytes(await self._stream.receive_some(max_bytes))
        except trio.BrokenResourceError:
            return b""

    async def wait_disconnected(self, poll_interval: float = 0.5) -> None:
        """Return once the client has closed the connection entirely.

        On a unix socket the kernel reports POLLHUP only when both directions
        are shut down, so the client's half-close (stdin EOF) does not count;
        moby uses the same signal (``notify_linux.go``). Polled, because the
        socket stays readable after EOF. Run it in a task and cancel it when done.
        """
        fd = self._stream.socket.fileno() if isinstance(self._stream, trio.SocketStream) else -1
        if fd < 0:
            await trio.sleep_forever()
        poller = select.poll()
        poller.register(fd, select.POLLHUP)
        # Polling on purpose: there is no event to wait for (see the docstring).
        while not any(  # noqa: ASYNC110
            ev & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, ev in poller.poll(0)
        ):
            await trio.sleep(poll_interval)

    async def send_eof(self) -> None:
        """Half-close our side (shutdown SHUT_WR): the client reads EOF after all output."""
        async with self._send_lock:
            await self._stream.send_eof()

    async def aclose(self) -> None:
        """Close the connection (the server also does this when the handler returns)."""
        await self._stream.aclose()


async def start_hijack(
    stream: trio.abc.HalfCloseableStream,
    *,
    upgrade: bool,
    content_type: str,
    user_agent: str,
    buffered: bytes,
) -> HijackedStream:
    """Write the hijack header as its own write and return the raw stream."""
    await stream.send_all(hijack_head(upgrade=upgrade, content_type=content_type))
    hold_until = (
        trio.current_time() + DOCKER_PY_OUTPUT_DELAY if needs_output_delay(user_agent) else None
    )
    return HijackedStream(stream, buffered, hold_until)


__all__ = [
    "DOCKER_PY_OUTPUT_DELAY",
    "MULTIPLEXED_STREAM",
    "RAW_STREAM",
    "HijackedStream",
    "hijack_head",
    "needs_output_delay",
    "start_hijack",
]
