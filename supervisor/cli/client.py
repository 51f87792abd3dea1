"""The HTTP side of the CLI: an httpx client of berth's Docker Engine API.

Requests go to ``/v1.50/...`` as docker CLI 28.2.2 sends them. Errors are turned
into two exceptions the command layer knows how to print: ``ApiError`` (the
daemon answered with an error status; its ``message`` is Docker's
``{"message": ...}``) and ``DaemonUnreachable`` (nothing listens on the socket).
The transport is injectable so tests drive every command with
``httpx.MockTransport``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import httpx

API_VERSION = "1.50"
DEFAULT_HOST = "unix:///run/berth/berth.sock"
USER_AGENT = "berth-cli/0.1.0 (linux)"

# Query parameters: a mapping, or pairs when a key repeats (import's "changes").
Params = Mapping[str, Any] | Sequence[tuple[str, Any]] | None


class ApiError(Exception):
    """The daemon answered with an error status."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message

    def __str__(self) -> str:
        return f"Error response from daemon: {self.message}"


class DaemonUnreachable(Exception):
    """Nothing answered on the daemon's socket."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the daemon listens: a unix socket path or a TCP host and port."""

    host: str
    socket_path: str | None
    address: tuple[str, int] | None


def parse_host(host: str) -> Endpoint:
    """Parse ``-H`` values: ``unix:///path``, ``/path``, ``tcp://host:port``.

    Raises:
        ValueError: the scheme is neither unix nor tcp.
    """
    if host.startswith("/"):
        return Endpoint(f"unix://{host}", host, None)
    parts = urlsplit(host)
    if parts.scheme == "unix":
        path = parts.path or parts.netloc
        return Endpoint(host, path, None)
    if parts.scheme in ("tcp", "http"):
        return Endpoint(host, None, (parts.hostname or "127.0.0.1", parts.port or 2375))
    msg = f"invalid host {host!r}: use unix:///path or tcp://host:port"
    raise ValueError(msg)


def error_from_response(response: httpx.Response) -> ApiError:
    """Build the error the docker client would print for a failed response."""
    body = response.content
    status = response.status_code
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    if not body.strip():
        message = (
            f"request returned {reason} for API route and version {response.request.url}, "
            "check if the server supports the requested API version"
        )
        return ApiError(status, message)
    if response.headers.get("content-type", "").split(";")[0].strip() == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            return ApiError(status, body.decode(errors="replace").strip())
        if isinstance(data, dict) and data.get("message"):
            return ApiError(status, str(data["message"]))
        return ApiError(status, f"API returned a {status} ({reason}) but provided no error-message")
    return ApiError(status, body.decode(errors="replace").strip())


class Client:
    """A thin synchronous client of the daemon (one per CLI invocation)."""

    def __init__(self, host: str, transport: httpx.BaseTransport | None = None) -> None:
        self.endpoint = parse_host(host)
        if transport is None:
            if self.endpoint.socket_path is not None:
                transport = httpx.HTTPTransport(uds=self.endpoint.socket_path)
                base_url = "http://berth"
            else:
                transport = httpx.HTTPTransport()
        base_url = "http://berth"
        if self.endpoint.address is not None:
            base_url = f"http://{self.endpoint.address[0]}:{self.endpoint.address[1]}"
        self._http = httpx.Client(
            transport=transport,
            base_url=base_url,
            timeout=None,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def url(path: str) -> str:
        return f"/v{API_VERSION}{path}"

    def _build(self, method: str, path: str, params: Params, **kw: Any) -> httpx.Request:
        items = params.items() if isinstance(params, Mapping) else (params or [])
        query: list[tuple[str, str | int | float | bool | None]] = sorted(
            ((k, str(v)) for k, v in items if v is not None), key=lambda kv: kv[0]
        )
        return self._http.build_request(method, self.url(path), params=query, **kw)

    def _send(self, request: httpx.Request, stream: bool) -> httpx.Response:
        try:
            return self._http.send(request, stream=stream)
        except httpx.ConnectError as exc:
            msg = f"Cannot connect to the berth daemon at {self.endpoint.host}: is the daemon running?"
            raise DaemonUnreachable(msg) from exc
        except httpx.TransportError as exc:
            msg = f"error during connect: {exc}"
            raise DaemonUnreachable(msg) from exc

    def request(
        self,
        method: str,
        path: str,
        params: Params = None,
        **kw: Any,
    ) -> httpx.Response:
        """Send one request and read the whole answer.

        Raises:
            ApiError: the daemon answered with a status >= 400.
            DaemonUnreachable: no daemon on the socket.
        """
        response = self._send(self._build(method, path, params, **kw), stream=False)
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def json(self, method: str, path: str, params: Params = None, **kw: Any) -> Any:
        """``request`` and decode the JSON body."""
        return self.request(method, path, params, **kw).json()

    @contextlib.contextmanager
    def stream(
        self,
        method: str,
        path: str,
        params: Params = None,
        **kw: Any,
    ) -> Iterator[httpx.Response]:
        """Send a request and hand back the response once its headers arrived."""
        response = self._send(self._build(method, path, params, **kw), stream=True)
        try:
            if response.status_code >= 400:
                response.read()
                raise error_from_response(response)
            yield response
        finally:
            response.close()
