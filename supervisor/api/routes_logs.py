"""``GET /containers/{id}/logs``, as Docker serves it (docker-semantics.md §2.4, §2.5, §2.7).

Order of work: the container, the parameters and the driver are checked
before the headers go out (so those errors are plain HTTP errors); the 200 and
its headers are flushed at once; an error after that is sent in-band on the
systemerr stream as "Error grabbing logs: ...". Follow is honoured only if the
container runs at request time (else: history, then EOF). Entries are framed
with stdcopy unless the container has a TTY, one frame per stored entry, many
frames per HTTP chunk.

Beyond Docker: ``follow_restarts=1`` follows across restarts until the
container is stopped by hand or removed (moby#37630); it also follows a
container waiting to be restarted.
"""

from __future__ import annotations

import contextlib
import re
import struct
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

import trio

from supervisor.api.request import Request
from supervisor.api.stdcopy import frame
from supervisor.errors import BerthError, Conflict, InvalidArgument
from supervisor.events.filters import parse_timestamp
from supervisor.logs.jsonfile import LogFormatError, Run, format_time_fixed
from supervisor.logs.reader import LogQuery, LogsNotSupported, read_log_runs

if TYPE_CHECKING:
    from supervisor.api.router import Router
    from supervisor.engine.engine import Engine

MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
RAW = "application/vnd.docker.raw-stream"
SYSTEMERR = 3
SEND_SIZE = 256 * 1024
PREFETCH = 4

_HEADER = struct.Struct(">BxxxI").pack


def parse_tail(value: str | None) -> int | None:
    """Docker's tail: Atoi; "all", anything non-integer or negative → everything (None)."""
    if value is None or not re.fullmatch(r"[+-]?\d+", value.strip()):
        return None
    n = int(value.strip())
    return None if n < 0 else n


def details_prefix(attrs: Mapping[str, str] | None) -> bytes:
    """``k1=v1,k2=v2 ``: attrs sorted by key, both query-escaped (Go's url.QueryEscape)."""
    if not attrs:
        return b" "
    pairs = (f"{quote_plus(k, safe='')}={quote_plus(v, safe='')}" for k, v in sorted(attrs.items()))
    return (",".join(pairs) + " ").encode()


class _Headers(dict[int, bytes]):
    """stdcopy headers by payload length, built on first use (a dict lookup beats struct.pack)."""

    def __init__(self, stream: int, newline_first: bool) -> None:
        super().__init__()
        self.stream = stream
        self.newline_first = newline_first

    def __missing__(self, length: int) -> bytes:
        if self.newline_first:  # "\n" ending the previous payload + header for length+1
            value = b"\n" + _HEADER(self.stream, length + 1)
        else:
            value = _HEADER(self.stream, length)
        self[length] = value
        return value


class FrameEncoder:
    """Runs of entries → the response body (stdcopy frames, or raw bytes for a TTY).

    The common case (no prefix, complete lines) interleaves cached headers
    with the contents using only C-level calls: the newline that ends each
    payload travels at the front of the next header.
    """

    def __init__(self, *, tty: bool, timestamps: bool, details: bool) -> None:
        self.tty = tty
        self.timestamps = timestamps
        self.details = details
        self._plain = {s: _Headers(s, False) for s in (0, 1, 2)}
        self._newline = {s: _Headers(s, True) for s in (0, 1, 2)}

    def _prefix(self, run: Run) -> bytes:
        prefix = b""
        if self.timestamps:
            prefix = format_time_fixed(run.time_ns).encode() + b" "
        if self.details:
            prefix += details_prefix(run.attrs)
        return prefix

    def _frames(self, run: Run) -> list[bytes]:
        lines = run.lines
        if not lines:
            return []
        if self.timestamps or self.details:
            prefix = self._prefix(run)
            payloads = [prefix + line for line in run.stored()]
            if self.tty:
                return payloads
            plain = self._plain[run.stream]
            parts = [b""] * (2 * len(payloads))
            parts[0::2] = map(plain.__getitem__, map(len, payloads))
            parts[1::2] = payloads
            return parts
        if self.tty:
            return [b"\n".join(lines), b"\n"] if run.complete else list(lines)
        plain = self._plain[run.stream]
        if not run.complete:
            return [plain[len(lines[0])], lines[0]]
        heads = list(map(self._newline[run.stream].__getitem__, map(len, lines)))
        heads[0] = plain[len(lines[0]) + 1]
        parts = [b""] * (2 * len(lines) + 1)
        parts[0:-1:2] = heads
        parts[1::2] = lines
        parts[-1] = b"\n"
        return parts

    def encode(self, runs: list[Run]) -> list[bytes]:
        """Encoded runs, cut into pieces of about SEND_SIZE bytes (one HTTP chunk each)."""
        out: list[bytes] = []
        parts: list[bytes] = []
        size = 0
        for run in runs:
            frames = self._frames(run)
            parts += frames
            size += len(frames) * 8 + sum(map(len, run.lines))
            if size >= SEND_SIZE:
                out.append(b"".join(parts))
                parts, size = [], 0
        if parts:
            out.append(b"".join(parts))
        return out


def add_log_routes(router: Router, engine: Engine) -> None:
    """Register ``GET /containers/{id}/logs``."""

    async def logs(req: Request) -> None:
        c = engine.get(req.params["id"])
        stdout = req.query_bool("stdout")
        stderr = req.query_bool("stderr")
        if not (stdout or stderr):
            msg = "Bad parameters: you must choose at least one stream"
            raise InvalidArgument(msg)
        since = parse_timestamp(req.query_str("since"))
        until = parse_timestamp(req.query_str("until"))
        if until == 0:
            until = None
        tail = parse_tail(req.query_str("tail"))
        follow_restarts = req.query_bool("follow_restarts")
        follow = req.query_bool("follow") or follow_restarts
        state = c.state
        if state.removing or state.dead:
            msg = "can not get logs from container which is dead or marked for removal"
            raise Conflict(msg)
        log = getattr(c, "log", None)
        if log is None:
            msg = "configured logging driver does not support reading"
            raise LogsNotSupported(msg)
        # Docker: follow only a container that runs now; berth's -F also one waiting to restart.
        follow = follow and (state.running or (follow_restarts and state.restarting))
        tty = c.record.spec.tty
        query = LogQuery(stdout, stderr, since, until, tail, follow, follow_restarts and follow)
        encoder = FrameEncoder(
            tty=tty, timestamps=req.query_bool("timestamps"), details=req.query_bool("details")
        )
        content_type = MULTIPLEXED if (not tty and req.api_at_least("1.42")) else RAW
        out = await req.start_stream(200, content_type)
        # The reader runs ahead in its own task (decoding in worker threads) while
        # this one frames and sends: a few batches of look-ahead, no more.
        send, receive = trio.open_memory_channel[list[bytes]](PREFETCH)
        error: Exception | None = None

        async def produce() -> None:
            nonlocal error
            async with send:
                try:
                    async with contextlib.aclosing(read_log_runs(log, query)) as batches:
                        async for runs in batches:
                            await send.send(encoder.encode(runs))
                except (BerthError, OSError, LogFormatError) as exc:
                    error = exc

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(produce)
                async with receive:
                    async for chunks in receive:
                        for chunk in chunks:
                            await out.send(chunk)
            if error is not None:
                message = f"Error grabbing logs: {error}".encode()
                await out.send(message if tty else frame(SYSTEMERR, message))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return

    router.add("GET", r"/containers/(?P<id>[^/]+)/logs", logs)
