"""``berth logs``: docker's ``logs`` for one container, compose's for several.

One name prints exactly what ``docker logs`` prints (stdout to stdout, stderr
to stderr, raw for a TTY container). Several names are fetched with
``timestamps=1`` and merged in time order (arrival order while following),
each line prefixed with its container's name in a stable colour, like
``docker compose logs``; the timestamps are stripped again unless ``-t``.
``-F`` follows across restarts until the container is stopped by hand or
removed (the API's ``follow_restarts=1``, a berth extension).
"""

from __future__ import annotations

import datetime as dt
import heapq
import queue
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import click

from supervisor.cli.client import ApiError, Client
from supervisor.cli.hijack import STDERR, StdcopyDemuxer, StreamError
from supervisor.cli.state import CliState, CommandFailed, binary_stream, get_state
from supervisor.cli.units import get_timestamp

COLOURS = ("cyan", "yellow", "green", "magenta", "blue", "bright_cyan", "bright_yellow", "bright_green", "bright_magenta", "bright_blue")


@dataclass(frozen=True, slots=True)
class Line:
    """One entry of a merged view: its time (the API's text form sorts), stream and payload."""

    stamp: str
    stream: int
    payload: bytes


def colour_of(name: str) -> str:
    """A stable colour per container name (the same in every run)."""
    return COLOURS[zlib.crc32(name.encode()) % len(COLOURS)]


def split_timestamp(payload: bytes) -> tuple[str, bytes]:
    """``2006-01-02T15:04:05.000000000Z rest`` → (stamp, rest)."""
    stamp, sep, rest = payload.partition(b" ")
    if not sep:
        return "", payload
    return stamp.decode("ascii", "replace"), rest


def build_params(
    *, follow: bool, follow_restarts: bool, tail: str, since: str | None, until: str | None,
    timestamps: bool, details: bool, now: dt.datetime,
) -> dict[str, str]:
    """The query docker CLI 28 sends for ``logs`` (plus berth's follow_restarts)."""
    params = {"stdout": "1", "stderr": "1", "tail": tail}
    if since:
        params["since"] = get_timestamp(since, now)
    if until:
        params["until"] = get_timestamp(until, now)
    if follow or follow_restarts:
        params["follow"] = "1"
    if follow_restarts:
        params["follow_restarts"] = "1"
    if timestamps:
        params["timestamps"] = "1"
    if details:
        params["details"] = "1"
    return params


def iter_frames(client: Client, cid: str, params: dict[str, str], tty: bool) -> Iterator[tuple[int, bytes]]:
    """(stream, payload) pieces of one container's log response.

    Raises:
        StreamError: the daemon reported an error in the stream.
    """
    demux = StdcopyDemuxer()
    with client.stream("GET", f"/containers/{cid}/logs", params) as response:
        for data in response.iter_bytes():
            if tty:
                yield 1, data
            else:
                yield from demux.feed(data)


def _inspect_tty(client: Client, name: str) -> tuple[str, bool]:
    info = client.json("GET", f"/containers/{name}/json")
    return str(info.get("Id") or name), bool((info.get("Config") or {}).get("Tty"))


def _entries(frames: Iterator[tuple[int, bytes]], tty: bool) -> Iterator[Line]:
    """Frames of a ``timestamps=1`` response as Lines (a TTY stream is cut at newlines)."""
    if not tty:
        for stream, payload in frames:
            stamp, _ = split_timestamp(payload)
            yield Line(stamp, stream, payload)
        return
    rest = b""
    for _, data in frames:
        rest += data
        *lines, rest = rest.split(b"\n")
        for line in lines:
            stamp, _ = split_timestamp(line)
            yield Line(stamp, 1, line + b"\n")
    if rest:
        yield Line(split_timestamp(rest)[0], 1, rest)


class PrefixPrinter:
    """Prints lines of several containers, ``name | `` at the start of each line."""

    def __init__(self, names: list[str], timestamps: bool, out: BinaryIO, err: BinaryIO) -> None:
        width = max(map(len, names)) + 1  # compose: the longest name plus one space
        self.prefixes = {
            n: click.style(f"{n:<{width}} | ", fg=colour_of(n)) for n in names
        }
        self.colour = out.isatty() if hasattr(out, "isatty") else False
        self.timestamps = timestamps
        self.out = out
        self.err = err
        self.at_start = dict.fromkeys(names, True)

    def print(self, name: str, line: Line) -> None:
        payload = line.payload
        if not self.timestamps:
            payload = split_timestamp(payload)[1] if line.stamp else payload
        target = self.err if line.stream == STDERR else self.out
        if self.at_start[name]:
            prefix = self.prefixes[name] if self.colour else click.unstyle(self.prefixes[name])
            target.write(prefix.encode())
        target.write(payload)
        target.flush()
        self.at_start[name] = payload.endswith(b"\n")


@click.command("logs")
@click.option("--details", is_flag=True, help="Show extra details provided to logs")
@click.option("-f", "--follow", is_flag=True, help="Follow log output")
@click.option(
    "-F", "--follow-restarts", is_flag=True,
    help="Follow log output across restarts, until the container is stopped by hand or removed",
)
@click.option("--since", help='Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)')
@click.option("-n", "--tail", default="all", show_default=True, help="Number of lines to show from the end of the logs")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps")
@click.option("--until", help='Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)')
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def logs_command(
    ctx: click.Context, details: bool, follow: bool, follow_restarts: bool, since: str | None,
    tail: str, timestamps: bool, until: str | None, names: tuple[str, ...],
) -> None:
    """Fetch the logs of one or more containers."""
    state = get_state(ctx)
    now = dt.datetime.fromtimestamp(state.clock()).astimezone()
    common: dict[str, Any] = dict(
        follow=follow, follow_restarts=follow_restarts, tail=tail, since=since, until=until,
        details=details, now=now,
    )
    if len(names) == 1:
        _single(state, names[0], build_params(timestamps=timestamps, **common))
        return
    params = build_params(timestamps=True, **common)
    if follow or follow_restarts:
        _merged_follow(state, list(names), params, timestamps)
    else:
        _merged(state, list(names), params, timestamps)


def _single(state: CliState, name: str, params: dict[str, str]) -> None:
    client = state.client()
    cid, tty = _inspect_tty(client, name)
    out, err = binary_stream("stdout"), binary_stream("stderr")
    try:
        for stream, payload in iter_frames(client, cid, params, tty):
            target = err if stream == STDERR else out
            target.write(payload)
            target.flush()
    except StreamError as exc:
        raise CommandFailed(str(exc), 1) from exc


def _merged(state: CliState, names: list[str], params: dict[str, str], timestamps: bool) -> None:
    client = state.client()
    per_name: list[list[tuple[str, int, str, Line]]] = []
    for index, name in enumerate(names):
        cid, tty = _inspect_tty(client, name)
        try:
            lines = list(_entries(iter_frames(client, cid, params, tty), tty))
        except StreamError as exc:
            raise CommandFailed(str(exc), 1) from exc
        per_name.append([(line.stamp, index, name, line) for line in lines])
    printer = PrefixPrinter(names, timestamps, binary_stream("stdout"), binary_stream("stderr"))
    for _, _, name, line in heapq.merge(*per_name, key=lambda t: (t[0], t[1])):
        printer.print(name, line)


def _merged_follow(state: CliState, names: list[str], params: dict[str, str], timestamps: bool) -> None:
    client = state.client()
    targets = [(name, *_inspect_tty(client, name)) for name in names]
    lines: queue.Queue[tuple[str, Line | None, Exception | None]] = queue.Queue(maxsize=1024)

    def pump(name: str, cid: str, tty: bool) -> None:
        error: Exception | None = None
        try:
            with Client(state.host, state.transport) as own:
                for line in _entries(iter_frames(own, cid, params, tty), tty):
                    lines.put((name, line, None))
        except (StreamError, ApiError, OSError) as exc:
            error = exc
        lines.put((name, None, error))

    threads = [threading.Thread(target=pump, args=t, daemon=True) for t in targets]
    for t in threads:
        t.start()
    printer = PrefixPrinter(names, timestamps, binary_stream("stdout"), binary_stream("stderr"))
    running = len(threads)
    errors: list[str] = []
    while running:
        name, line, error = lines.get()
        if line is None:
            running -= 1
            if error is not None:
                errors.append(f"{name}: {error}")
            continue
        printer.print(name, line)
    if errors:
        raise CommandFailed("\n".join(errors), 1)


COMMANDS = (logs_command,)
