"""The HTTP/1.1 server: h11 over trio sockets, one task per connection.

Theory of operation:

* Each connection runs one request at a time through an h11 state machine
  (keep-alive and pipelining come from h11's cycle handling). A request is
  routed, its handler awaited inside a cancel scope, and its answer written
  with a single ``send_all``.
* A handler answers in one of three ways: return a Response (Content-Length
  framing), ``req.start_stream()`` (chunked, headers flushed before the
  handler goes on), or ``req.hijack()`` (raw socket; the connection ends with
  the handler).
* While a chunked stream is open, a watcher task reads the socket: EOF or a
  reset means the client is gone (``docker run -d`` drops its wait request),
  so the handler is cancelled and the connection closed. Bytes that do arrive
  are fed to h11 for the next pipelined request.
* Nothing a client sends may kill the daemon: protocol errors answer 400 (431
  for oversized heads) and close; BerthError is its http_status with
  ``{"message"}``; any other handler exception is a logged 500. Errors after
  the response started cannot be reported, so the connection is just closed.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from http import HTTPStatus
from urllib.parse import unquote

import h11
import trio

from supervisor._logging import get_logger
from supervisor.api.hijack import HijackedStream, start_hijack
from supervisor.api.request import STANDARD_HEADERS, Request, Response, ResponseStream
from supervisor.api.router import Router
from supervisor.errors import BerthError, Conflict, InvalidArgument

log = get_logger(__name__)

MAX_HEAD_BYTES = 64 * 1024  # an incomplete request head beyond this is a 431
MAX_DRAIN_BYTES = 1024 * 1024  # unread body we still read past to keep the connection
RECEIVE_SIZE = 64 * 1024
BACKLOG = 1024

_STD_HEADERS = [(k.encode(), v.encode()) for k, v in STANDARD_HEADERS]
_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}
_NO_BODY_STATUS = frozenset((204, 304))
_GONE = (trio.BrokenResourceError, trio.ClosedResourceError)


def _unwrap(exc: BaseException) -> BaseException:
    """Look through single-exception groups (a handler's nursery) to the real error."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


class _ChunkedStream:
    """``ResponseStream`` over an h11 connection: one HTTP chunk per ``send``."""

    __slots__ = ("_conn", "_lock")

    def __init__(self, conn: _Connection) -> None:
        self._conn = conn
        self._lock = trio.Lock()

    async def send(self, data: bytes) -> None:
        if not data:
            return
        async with self._lock:
            await self._conn.stream.send_all(self._conn.h11.send(h11.Data(data=data)))


class _Connection:
    """One client connection; also the ``_Exchange`` its requests read and write through."""

    def __init__(self, stream: trio.SocketStream, router: Router) -> None:
        self.stream = stream
        self.router = router
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self._nursery: trio.Nursery | None = None
        self._begin("", {})

    def _begin(self, method: str, headers: dict[str, str]) -> None:
        """Reset the per-request state."""
        self._method = method
        self._headers = headers
        self._body_done = False
        self._started = False  # status line written by a stream or a hijack
        self._hijacked = False
        self._peer_gone = False
        self._handler_scope: trio.CancelScope | None = None
        self._watch_scope: trio.CancelScope | None = None
        self._watch_done: trio.Event | None = None

    # ------------------------------------------------------------ main loop

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            try:
                await self._serve()
            except _GONE:
                pass
            except Exception as exc:
                log.error("api.connection_failed", exc_info=exc)
            finally:
                nursery.cancel_scope.cancel()

    async def _serve(self) -> None:
        while True:
            try:
                event = await self._next_event()
            except h11.RemoteProtocolError as exc:
                await self._protocol_error(exc)
                return
            if type(event) is h11.Request:
                if not await self._handle(event):
                    return
                if not await self._finish_cycle():
                    return
            else:  # ConnectionClosed, or anything h11 should not give us here
                return

    async def _next_event(self) -> h11.Event | type[h11.PAUSED]:
        conn = self.h11
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]
            if conn.they_are_waiting_for_100_continue:
                await self.stream.send_all(
                    conn.send(h11.InformationalResponse(status_code=100, headers=[]))
                )
            try:
                data = await self.stream.receive_some(RECEIVE_SIZE)
            except trio.BrokenResourceError:
                data = b""
            conn.receive_data(data)

    async def _protocol_error(self, exc: h11.RemoteProtocolError) -> None:
        """Answer a malformed request with 400 (or h11's hint, e.g. 431) and give up."""
        if self.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            status = exc.error_status_hint
            await self._send_response(Response.error(status, f"malformed HTTP request: {exc}"))

    async def _finish_cycle(self) -> bool:
        """Prepare for the next request on this connection; False means close it."""
        conn = self.h11
        if conn.our_state is not h11.DONE:
            return False
        if conn.their_state is h11.SEND_BODY and not await self._drain_body():
            return False
        if conn.their_state is not h11.DONE:
            return False
        conn.start_next_cycle()
        return True

    # ------------------------------------------------------------ one request

    async def _handle(self, event: h11.Request) -> bool:
        """Route and run one request; False means close the connection afterwards."""
        method = event.method.decode("ascii")
        target = event.target.decode("latin-1")
        path, _, query = target.partition("?")
        if "%" in path:
            path = unquote(path)
        headers: dict[str, str] = {}
        for raw_name, raw_value in event.headers:
            name = raw_name.decode("latin-1")
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self._begin(method, headers)

        try:
            match = self.router.match(method, path)
        except BerthError as exc:
            await self._send_response(self._error_response(exc))
            return True
        req = Request(
            method,
            match.path,
            api_version=match.api_version,
            params=match.params,
            headers=headers,
            query_string=query,
            exchange=self,
        )
        response: Response | None
        close = False
        with trio.CancelScope() as scope:
            self._handler_scope = scope
            try:
                response = await match.route.handler(req)
            except Exception as exc:
                response, close = self._handler_failed(req, exc)
        await self._stop_watcher()

        if self._peer_gone or scope.cancelled_caught or close or self._hijacked:
            return False
        if self._started:
            if response is not None:
                log.error("api.response_after_stream", method=method, path=req.path)
            await self.stream.send_all(self.h11.send(h11.EndOfMessage()))
            return True
        await self._send_response(response if response is not None else Response.empty())
        return True

    def _handler_failed(self, req: Request, exc: Exception) -> tuple[Response | None, bool]:
        """Turn a handler's exception into (response to send, close the connection?)."""
        err = _unwrap(exc)
        if self._started:
            if isinstance(err, _GONE):
                log.debug("api.client_gone", method=req.method, path=req.path)
            else:
                log.error("api.stream_failed", method=req.method, path=req.path, exc_info=exc)
            return None, True
        if isinstance(err, BerthError):
            return self._error_response(err), False
        if isinstance(err, h11.RemoteProtocolError):  # while reading the body
            return Response.error(err.error_status_hint, f"malformed HTTP request: {err}"), True
        log.error("api.handler_failed", method=req.method, path=req.path, exc_info=exc)
        return Response.error(500, f"{type(err).__name__}: {err}"), False

    @staticmethod
    def _error_response(exc: BerthError) -> Response:
        if exc.http_status in _NO_BODY_STATUS:
            return Response.empty(exc.http_status)
        return Response.error(exc.http_status, exc.message)

    async def _send_response(self, resp: Response) -> None:
        status = resp.status
        headers = list(_STD_HEADERS)
        if resp.content_type is not None:
            headers.append((b"Content-Type", resp.content_type.encode("latin-1")))
        for name, value in resp.headers:
            headers.append((name.encode("latin-1"), value.encode("latin-1")))
        no_body = status in _NO_BODY_STATUS
        if not no_body:
            headers.append((b"Content-Length", str(len(resp.body)).encode()))
        conn = self.h11
        out = conn.send(
            h11.Response(status_code=status, headers=headers, reason=_REASONS.get(status, b""))
        )
        if resp.body and not no_body and self._method != "HEAD":
            out += conn.send(h11.Data(data=resp.body))
        out += conn.send(h11.EndOfMessage())
        await self.stream.send_all(out)

    # ------------------------------------------------------------ _Exchange

    async def receive_body(self) -> bytes | None:
        """The next piece of the request body; None at its end."""
        if self._body_done:
            return None
        event = await self._next_event()
        if type(event) is h11.Data:
            return bytes(event.data)
        self._body_done = True
        if type(event) is h11.EndOfMessage:
            return None
        msg = "request body ended unexpectedly"
        raise InvalidArgument(msg)

    async def _drain_body(self) -> bool:
        """Read and drop what is left of the body; False if it was too big to bother."""
        dropped = 0
        while (chunk := await self.receive_body()) is not None:
            dropped += len(chunk)
            if dropped > MAX_DRAIN_BYTES:
                return False
        return True

    def _take_over(self) -> None:
        if self._started:
            msg = "the response was already started"
            raise RuntimeError(msg)
        self._started = True

    async def start_stream(
        self, status: int, content_type: str | None, headers: tuple[tuple[str, str], ...]
    ) -> ResponseStream:
        if not await self._drain_body():
            msg = "request body is too large"
            raise InvalidArgument(msg)
        self._take_over()
        hdrs = list(_STD_HEADERS)
        if content_type is not None:
            hdrs.append((b"Content-Type", content_type.encode("latin-1")))
        for name, value in headers:
            hdrs.append((name.encode("latin-1"), value.encode("latin-1")))
        # No Content-Length: h11 frames the body as chunked (close-delimited for HTTP/1.0).
        out = self.h11.send(
            h11.Response(status_code=status, headers=hdrs, reason=_REASONS.get(status, b""))
        )
        await self.stream.send_all(out)
        self._start_watcher()
        return _ChunkedStream(self)

    async def hijack(self, content_type: str) -> HijackedStream:
        if not await self._drain_body():
            msg = "request body is too large"
            raise InvalidArgument(msg)
        self._take_over()
        self._hijacked = True
        return await start_hijack(
            self.stream,
            upgrade="upgrade" in self._headers,
            content_type=content_type,
            user_agent=self._headers.get("user-agent", ""),
            buffered=self.h11.trailing_data[0],
        )

    # ------------------------------------------------------------ disconnect watcher

    def _start_watcher(self) -> None:
        assert self._nursery is not None
        self._watch_scope = trio.CancelScope()
        self._watch_done = trio.Event()
        self._nursery.start_soon(self._watch_peer, self._watch_scope, self._watch_done)

    async def _stop_watcher(self) -> None:
        if self._watch_scope is not None and self._watch_done is not None:
            self._watch_scope.cancel()
            await self._watch_done.wait()

    async def _watch_peer(self, scope: trio.CancelScope, done: trio.Event) -> None:
        """While a stream is open: EOF or reset from the client cancels the handler."""
        try:
            with scope:
                buffered = 0
                while buffered <= MAX_HEAD_BYTES:
                    try:
                        data = await self.stream.receive_some(RECEIVE_SIZE)
                    except _GONE:
                        data = b""
                    if not data:
                        self._peer_gone = True
                        if self._handler_scope is not None:
                            self._handler_scope.cancel()
                        return
                    # A pipelined next request: keep it for h11's next cycle.
                    self.h11.receive_data(data)
                    buffered += len(data)
        finally:
            done.set()


# ---------------------------------------------------------------- listeners


async def handle_connection(stream: trio.SocketStream, router: Router) -> None:
    """Serve every request on one accepted connection, then close it. Never raises
    anything but Cancelled."""
    try:
        await _Connection(stream, router).run()
    except Exception as exc:
        log.error("api.connection_failed", exc_info=exc)
    finally:
        await trio.aclose_forcefully(stream)


async def _serve(
    listeners: list[trio.SocketListener],
    router: Router,
    task_status: trio.TaskStatus[list[trio.SocketListener]],
) -> None:
    async def handler(stream: trio.SocketStream) -> None:
        await handle_connection(stream, router)

    await trio.serve_listeners(handler, listeners, task_status=task_status)


def _remove_stale_socket(path: str) -> None:
    """Delete a socket file left by a dead daemon; refuse to steal a live one."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        msg = f"{path} exists and is not a socket"
        raise Conflict(msg)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(path)
    except OSError as exc:
        if exc.errno not in (errno.ECONNREFUSED, errno.ENOENT):
            raise
    else:
        msg = f"another daemon is already listening on {path}"
        raise Conflict(msg)
    finally:
        probe.close()
    os.unlink(path)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _bind_unix(path: str, mode: int) -> tuple[socket.socket, int]:
    """Bind, chmod and listen under a temporary name, then rename into place.

    Returns the listening socket and the inode of the socket file (so that
    cleanup never removes a file another daemon put there since).
    """
    _remove_stale_socket(path)
    head, tail = os.path.split(path)
    tmp = os.path.join(head, f".{tail}~")
    if len(os.fsencode(tmp)) > 107:  # sun_path limit: bind in place instead
        tmp = path
    _unlink_quietly(tmp)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(tmp)
        os.chmod(tmp, mode)
        sock.listen(BACKLOG)
        if tmp != path:
            os.rename(tmp, path)
        return sock, os.stat(path).st_ino
    except BaseException:
        sock.close()
        _unlink_quietly(tmp)
        raise


def _unlink_if_ours(path: str, ino: int) -> None:
    try:
        if os.stat(path).st_ino == ino:
            os.unlink(path)
    except FileNotFoundError:
        pass


async def serve_unix(
    path: str,
    router: Router,
    *,
    mode: int = 0o660,
    task_status: trio.TaskStatus[list[trio.SocketListener]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the API on a unix socket until cancelled.

    A stale socket file is removed first. The new socket is bound under a
    temporary name, chmodded and listening before it is renamed to ``path``,
    so the file exists only once connections work; then
    ``task_status.started(listeners)``. On cancellation the listener is closed
    and the socket file removed.

    Raises:
        Conflict: ``path`` is a live socket (another daemon) or not a socket.
    """
    raw, ino = await trio.to_thread.run_sync(_bind_unix, path, mode)
    sock = trio.socket.from_stdlib_socket(raw)
    try:
        await _serve([trio.SocketListener(sock)], router, task_status)
    finally:
        sock.close()
        _unlink_if_ours(path, ino)


async def serve_tcp(
    host: str,
    port: int,
    router: Router,
    *,
    task_status: trio.TaskStatus[list[trio.SocketListener]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``router`` on TCP (used for /metrics); ``started(listeners)`` tells the bound port."""
    listeners = await trio.open_tcp_listeners(port, host=host, backlog=BACKLOG)
    await _serve(listeners, router, task_status)


__all__ = ["handle_connection", "serve_tcp", "serve_unix"]
