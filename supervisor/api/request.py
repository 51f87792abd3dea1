"""What a route handler sees: the Request it gets and the Response it returns.

A handler is ``async def handler(req: Request) -> Response | None``. It either
returns a :class:`Response` (sent with Content-Length), or takes the
connection over with ``await req.start_stream(...)`` (chunked, headers flushed
at once) or ``await req.hijack(...)`` (attach/exec) and returns None. A handler
that returns None without doing either answers 204.

Raising a ``supervisor.errors.BerthError`` answers its ``http_status`` with
``{"message": str(exc)}``; anything else is a logged 500.

The parsing helpers at the bottom are pure and follow moby's rules
(``api/server/httputils``, ``api/types/filters``) so clients see Docker's
behaviour for odd inputs.
"""

from __future__ import annotations

import json as _json
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs

from supervisor.api.router import API_VERSION, at_least
from supervisor.errors import InvalidArgument

if TYPE_CHECKING:
    from supervisor.api.hijack import HijackedStream

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
DEFAULT_MAX_JSON = 8 * 1024 * 1024

SERVER_VERSION = "28.2.2-berth"
# On every response (moby api/server/middleware/version.go). The CLI takes the
# OS type from Server with the regex \ADocker/.+\s\((.+)\)\z.
STANDARD_HEADERS: tuple[tuple[str, str], ...] = (
    ("Api-Version", API_VERSION),
    ("Server", f"Docker/{SERVER_VERSION} (linux)"),
    ("Ostype", "linux"),
    ("Docker-Experimental", "false"),
)
STANDARD_HEADERS_BYTES = b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in STANDARD_HEADERS)


# ---------------------------------------------------------------- responses


@dataclass(frozen=True, slots=True)
class Response:
    """A complete response. Build it with the classmethods."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, obj: Any, status: int = 200) -> Response:
        """``obj`` as JSON plus a newline (what Go's json.Encoder writes), Content-Type application/json."""
        return cls(status, (_json.dumps(obj, separators=(",", ":")) + "\n").encode(), JSON)

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        """No body: 204, 304, or e.g. a 200 resize reply."""
        return cls(status)

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = TEXT) -> Response:
        """A UTF-8 text body."""
        return cls(status, text.encode(), content_type)

    @classmethod
    def error(cls, status: int, message: str) -> Response:
        """Docker's error shape: ``{"message": ...}`` with Content-Type exactly application/json."""
        return cls.json({"message": message}, status)


class ResponseStream(Protocol):
    """A chunked response in progress (see ``Request.start_stream``)."""

    async def send(self, data: bytes) -> None:
        """Write ``data`` as exactly one HTTP chunk (b"" is a no-op).

        Raises:
            trio.BrokenResourceError: the client is gone; let it propagate.
        """


class _Exchange(Protocol):
    """The connection side of one request; implemented by ``api.http``."""

    async def receive_body(self) -> bytes | None: ...

    async def start_stream(
        self, status: int, content_type: str | None, headers: tuple[tuple[str, str], ...]
    ) -> ResponseStream: ...

    async def hijack(self, content_type: str) -> HijackedStream: ...


# ---------------------------------------------------------------- request


class Request:
    """One HTTP request, as routed.

    Attributes:
        method: "GET", "POST", ...
        path: the decoded path without the ``/v1.NN`` prefix.
        api_version: the prefix's version, "1.50" when there was none.
        params: the route pattern's named groups, e.g. ``req.params["id"]``.
        headers: request headers, names lowercased (repeated ones joined with ", ").
    """

    __slots__ = (
        "_body_done",
        "_exchange",
        "_query",
        "_query_string",
        "api_version",
        "headers",
        "method",
        "params",
        "path",
    )

    def __init__(
        self,
        method: str,
        path: str,
        *,
        api_version: str = "1.50",
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        query_string: str = "",
        exchange: _Exchange | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.api_version = api_version
        self.params: Mapping[str, str] = params or {}
        self.headers: Mapping[str, str] = headers or {}
        self._query_string = query_string
        self._query: dict[str, list[str]] | None = None
        self._exchange = exchange
        self._body_done = exchange is None

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path} v{self.api_version}>"

    # ---- headers and version

    @property
    def user_agent(self) -> str:
        """The User-Agent header, "" if absent."""
        return self.headers.get("user-agent", "")

    def api_at_least(self, version: str) -> bool:
        """True if the client's API version is >= ``version`` (e.g. "1.42" for the multiplexed hijack type)."""
        return at_least(self.api_version, version)

    # ---- query

    @property
    def query(self) -> dict[str, list[str]]:
        """All query parameters (parsed on first use)."""
        if self._query is None:
            self._query = parse_qs(self._query_string, keep_blank_values=True)
        return self._query

    def query_str(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default`` when absent."""
        values = self.query.get(name)
        return values[0] if values else default

    def query_bool(self, name: str, default: bool = False) -> bool:
        """``name`` as a moby boolean (see :func:`parse_bool`); ``default`` only when absent."""
        values = self.query.get(name)
        return parse_bool(values[0]) if values else default

    def query_int(self, name: str, default: int) -> int:
        """``name`` as an integer; absent or empty gives ``default``.

        Raises:
            InvalidArgument: the value is not an integer (the message names the parameter).
        """
        values = self.query.get(name)
        if not values or values[0] == "":
            return default
        return parse_int(name, values[0])

    def query_filters(self, name: str = "filters") -> dict[str, list[str]]:
        """The ``filters`` JSON in either encoding, as {key: [values]} (see :func:`parse_filters`)."""
        values = self.query.get(name)
        return parse_filters(values[0]) if values else {}

    # ---- body

    async def body_chunks(self) -> AsyncIterator[bytes]:
        """Yield the request body as it arrives (Content-Length or chunked); for big uploads.

        The body can be consumed once; later calls yield nothing.
        """
        if self._exchange is None:
            return
        while not self._body_done:
            chunk = await self._exchange.receive_body()
            if chunk is None:
                self._body_done = True
                return
            if chunk:
                yield chunk

    async def body(self, max_bytes: int = DEFAULT_MAX_JSON) -> bytes:
        """The whole body.

        Raises:
            InvalidArgument: the body is longer than ``max_bytes``.
        """
        parts: list[bytes] = []
        size = 0
        async for chunk in self.body_chunks():
            size += len(chunk)
            if size > max_bytes:
                msg = f"request body is too large (more than {max_bytes} bytes)"
                raise InvalidArgument(msg)
            parts.append(chunk)
        return b"".join(parts)

    async def json(self, max_bytes: int = DEFAULT_MAX_JSON) -> dict[str, Any]:
        """The body as a JSON object; an empty body (or ``null``) is ``{}``.

        Raises:
            InvalidArgument: too large, not JSON, or not an object.
        """
        return parse_json_object(await self.body(max_bytes))

    # ---- taking over the connection

    async def start_stream(
        self,
        status: int = 200,
        content_type: str | None = JSON,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> ResponseStream:
        """Send the status and headers now (flushed) and return a chunked body writer.

        Any unread request body is discarded first. The response ends when the
        handler returns. If the client goes away meanwhile, the handler is
        cancelled (or its next ``send`` raises trio.BrokenResourceError); both
        end the request quietly. ``content_type=None`` sends none (moby's stats).
        """
        if self._exchange is None:
            msg = "request is not attached to a connection"
            raise RuntimeError(msg)
        return await self._exchange.start_stream(status, content_type, headers)

    async def hijack(self, content_type: str) -> HijackedStream:
        """Take over the raw connection (attach, exec start); see ``api.hijack``.

        Answers ``101 UPGRADED`` if the client asked for ``Upgrade: tcp``, else
        moby's old ``200 OK`` raw-stream form. Any unread request body is
        discarded first. The connection is closed when the handler returns.
        """
        if self._exchange is None:
            msg = "request is not attached to a connection"
            raise RuntimeError(msg)
        return await self._exchange.hijack(content_type)


# ---------------------------------------------------------------- pure parsers

_FALSE = frozenset(("", "0", "no", "false", "none"))
_INT = re.compile(r"[+-]?[0-9]+")


def parse_bool(value: str) -> bool:
    """moby's httputils.BoolValue: lowercased and trimmed, "", 0, no, false, none are false."""
    return value.strip().lower() not in _FALSE


def parse_int(name: str, value: str) -> int:
    """An integer query value, like Go's strconv.Atoi.

    Raises:
        InvalidArgument: naming the parameter and the value.
    """
    if _INT.fullmatch(value) is None:
        msg = f'invalid value for "{name}": {value!r} is not an integer'
        raise InvalidArgument(msg)
    return int(value)


def parse_filters(text: str) -> dict[str, list[str]]:
    """Parse a ``filters`` value: {"k":{"v":true}} (CLI) or {"k":["v"]} (docker-py, old CLIs).

    "" and "{}" (and null) are no filters. Values keep their order, without
    duplicates; a map entry counts whatever its boolean (as in moby).

    Raises:
        InvalidArgument: not JSON, or not an object of maps/lists of strings.
    """
    if not text:
        return {}
    try:
        raw = _json.loads(text)
    except ValueError as exc:
        msg = f"invalid filter: {text!r} is not valid JSON: {exc}"
        raise InvalidArgument(msg) from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        msg = f"invalid filter: expected a JSON object, got {text!r}"
        raise InvalidArgument(msg)
    out: dict[str, list[str]] = {}
    for key, values in raw.items():
        if isinstance(values, dict):
            if not all(isinstance(v, bool) for v in values.values()):
                msg = f"invalid filter {key!r}: map values must be booleans"
                raise InvalidArgument(msg)
            out[key] = list(values)
        elif isinstance(values, list):
            if not all(isinstance(v, str) for v in values):
                msg = f"invalid filter {key!r}: list values must be strings"
                raise InvalidArgument(msg)
            out[key] = list(dict.fromkeys(values))
        elif values is None:
            out[key] = []
        else:
            msg = f"invalid filter {key!r}: expected a map or a list of values"
            raise InvalidArgument(msg)
    return out


_JSON_TYPE_NAMES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


def parse_json_object(body: bytes) -> dict[str, Any]:
    """A request body that must be a JSON object; empty or ``null`` gives {}.

    Raises:
        InvalidArgument: "invalid JSON: ..." naming the problem (moby's wording).
    """
    if not body.strip():
        return {}
    try:
        obj = _json.loads(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        msg = f"invalid JSON: {exc}"
        raise InvalidArgument(msg) from exc
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        kind = _JSON_TYPE_NAMES.get(type(obj), type(obj).__name__)
        msg = f"invalid JSON: expected an object, got {kind}"
        raise InvalidArgument(msg)
    return obj


__all__ = [
    "JSON",
    "SERVER_VERSION",
    "STANDARD_HEADERS",
    "TEXT",
    "Request",
    "Response",
    "ResponseStream",
    "parse_bool",
    "parse_filters",
    "parse_int",
    "parse_json_object",
]
