"""Docker's json-file line format, byte for byte (docker-semantics.md §2.2).

One JSON object per entry, keys in the order ``log``, ``stream``, ``attrs``
(only when configured), ``time``, then ``\\n``::

    {"log":"hello\\n","stream":"stdout","time":"2019-01-01T11:11:11.111111111Z"}

``log`` uses moby's own escaper (jsonlogbytes.go), not Go's json: ``"`` and
``\\`` are backslash-escaped, ``\\n`` and ``\\r`` get their short forms, every
other byte below 0x20 (TAB included) is ``\\u00XX``, ``< > &`` are
``\\u003c \\u003e \\u0026``, each invalid UTF-8 byte is ``\\ufffd`` and
U+2028/U+2029 are escaped; everything else is copied as is. ``time`` is Go's
RFC3339Nano in UTC (trailing zeros of the fraction trimmed).

Speed matters here: this is the hot path of every container's output. The
encoder works on a whole batch of lines that share a stream and a timestamp:
when the batch holds only printable ASCII that needs no escaping (checked with
one ``bytes.translate``), the output is built with one ``join``/``replace``;
otherwise ``str.translate`` with a table does the escaping. The decoder
matches a whole block of lines with one regex and falls back to ``json.loads``
for lines written by anyone else. Pure: no I/O, no clock.
"""

from __future__ import annotations

import calendar
import codecs
import json
import re
import time
from collections.abc import Mapping, Sequence
from typing import NamedTuple

STDOUT, STDERR = 1, 2
STREAM_NAMES = {STDOUT: b"stdout", STDERR: b"stderr"}
_STREAM_IDS = {b"stdout": STDOUT, b"stderr": STDERR, "stdout": STDOUT, "stderr": STDERR}

_NS = 1_000_000_000


class LogEntry(NamedTuple):
    """One stored entry. ``line`` keeps its ``\\n`` unless the entry is partial.

    A NamedTuple rather than a dataclass: a million of these are built per
    second on the read path, and it is just as immutable.
    """

    time_ns: int
    stream: int
    line: bytes
    attrs: Mapping[str, str] | None = None

    @property
    def partial(self) -> bool:
        """True for a part of a long line, or a fragment cut by the end of a run."""
        return not self.line.endswith(b"\n")


class LogFormatError(ValueError):
    """A line of a log file is not a json-file entry."""


# ---------------------------------------------------------------- time


def format_time(time_ns: int) -> str:
    """Go's RFC3339Nano in UTC: ``2019-01-01T11:11:11.1111Z`` (fraction trimmed)."""
    sec, frac = divmod(time_ns, _NS)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    if frac:
        return f"{base}.{frac:09d}".rstrip("0") + "Z"
    return base + "Z"


def format_time_fixed(time_ns: int) -> str:
    """The API's ``timestamps=1`` form: always nine fraction digits, ``Z``."""
    sec, frac = divmod(time_ns, _NS)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(sec))}.{frac:09d}Z"


_TIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d\d):(\d\d))"
)


_MINUTES: dict[str, int] = {}


def parse_time(text: str) -> int:
    """RFC 3339 (any offset, up to nine fraction digits) → unix nanoseconds.

    Raises:
        LogFormatError: not such a time.
    """
    # Fast path for what we write (UTC, "Z"): the minute is looked up in a cache.
    if len(text) >= 20 and text[-1] == "Z" and text[16] == ":" and text[19] in ".Z":
        base = _MINUTES.get(text[:16])
        sec = text[17:19]
        frac = text[20:-1]
        if base is not None and sec.isdigit() and (not frac or (frac.isdigit() and len(frac) <= 9)):
            return (base + int(sec)) * _NS + (int(frac.ljust(9, "0")) if frac else 0)
        value = _parse_time_slow(text)
        if len(_MINUTES) > 4096:
            _MINUTES.clear()
        _MINUTES[text[:16]] = value // _NS - int(text[17:19])
        return value
    return _parse_time_slow(text)


def _parse_time_slow(text: str) -> int:
    m = _TIME.fullmatch(text)
    if m is None:
        msg = f"invalid log time {text!r}"
        raise LogFormatError(msg)
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    try:
        secs = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (ValueError, OverflowError) as exc:
        msg = f"invalid log time {text!r}"
        raise LogFormatError(msg) from exc
    if m.group(9):
        offset = int(m.group(10)) * 3600 + int(m.group(11)) * 60
        secs -= offset if m.group(9) == "+" else -offset
    frac = m.group(7)
    return secs * _NS + (int(frac.ljust(9, "0")) if frac else 0)


# ---------------------------------------------------------------- escaping

_INVALID = "\ud800"  # a lone surrogate can only come from our error handler


def _go_replace(exc: UnicodeError) -> tuple[str, int]:
    """Like Go's utf8.DecodeRune: each invalid byte on its own becomes U+FFFD."""
    if isinstance(exc, UnicodeDecodeError):
        return _INVALID, exc.start + 1
    raise exc


codecs.register_error("berth-go-utf8", _go_replace)

_ESCAPES: dict[int, str] = {c: f"\\u{c:04x}" for c in range(0x20)}
_ESCAPES.update(
    {
        ord("\n"): "\\n",
        ord("\r"): "\\r",
        ord('"'): '\\"',
        ord("\\"): "\\\\",
        ord("<"): "\\u003c",
        ord(">"): "\\u003e",
        ord("&"): "\\u0026",
        0x2028: "\\u2028",
        0x2029: "\\u2029",
        ord(_INVALID): "\\ufffd",
    }
)
_ESCAPES_KEEP_NL = dict(_ESCAPES)
del _ESCAPES_KEEP_NL[ord("\n")]

# Bytes that go out unchanged; a batch made only of these (plus the separating
# newlines) takes the fast path.
_SAFE = bytes(b for b in range(0x20, 0x7F) if b not in b'"\\<>&')
_SAFE_NL = _SAFE + b"\n"


def escape(data: bytes) -> bytes:
    """The inside of the ``log`` string for ``data``, escaped as moby does."""
    if not data.translate(None, _SAFE):
        return data
    return data.decode("utf-8", "berth-go-utf8").translate(_ESCAPES).encode()


def encode_attrs(attrs: Mapping[str, str] | None) -> bytes:
    """The ``"attrs":{...},`` fragment (keys sorted, as Go marshals a map), or b""."""
    if not attrs:
        return b""
    text = json.dumps(dict(sorted(attrs.items())), ensure_ascii=False, separators=(",", ":"))
    for char, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, esc)
    return b'"attrs":' + text.encode("utf-8", "surrogatepass") + b","


def encode_batch(
    stream: int, time_ns: int, lines: Sequence[bytes], complete: bool, attrs: bytes = b""
) -> bytes:
    """Encode entries that share a stream and a time, as consecutive json-file lines.

    Args:
        stream: 1 (stdout) or 2 (stderr).
        time_ns: their timestamp, unix nanoseconds.
        lines: contents WITHOUT newlines (see ``framing.Batch``).
        complete: True if each line ended with a newline (stored as ``\\n``).
        attrs: the fragment from :func:`encode_attrs` (b"" for none).
    """
    if not lines:
        return b""
    head = b'{"log":"'
    tail = b"".join(
        (
            b"\\n" if complete else b"",
            b'","stream":"',
            STREAM_NAMES[stream],
            b'",',
            attrs,
            b'"time":"',
            format_time(time_ns).encode(),
            b'"}\n',
        )
    )
    body = b"\n".join(lines)
    if body.translate(None, _SAFE_NL):
        body = body.decode("utf-8", "berth-go-utf8").translate(_ESCAPES_KEEP_NL).encode()
    if len(lines) == 1:
        return head + body + tail
    return head + body.replace(b"\n", tail + head) + tail


def encode_entry(entry: LogEntry) -> bytes:
    """One entry as a json-file line (with its trailing newline)."""
    line = entry.line
    complete = line.endswith(b"\n")
    if complete:
        line = line[:-1]
    if b"\n" in line:
        # An entry with an inner newline (not produced by the splitter): escape it whole.
        return b"".join(
            (
                b'{"log":"',
                escape(entry.line),
                b'","stream":"',
                STREAM_NAMES[entry.stream],
                b'",',
                encode_attrs(entry.attrs),
                b'"time":"',
                format_time(entry.time_ns).encode(),
                b'"}\n',
            )
        )
    return encode_batch(entry.stream, entry.time_ns, [line], complete, encode_attrs(entry.attrs))


# ---------------------------------------------------------------- decoding

_HEAD = b'{"log":"'
_LINE = re.compile(
    rb'\{"log":"([^"\\\n]*(?:\\.[^"\\\n]*)*)","stream":"(stdout|stderr)",'
    rb'(?:"attrs":(\{[^\n]*\}),)?"time":"([^"\n]*)"\}(?:\n|\Z)'
)


class Run(NamedTuple):
    """Consecutive entries of one stream that share a timestamp (and attrs).

    The read path works on runs, not entries: the writer stores a batch of
    lines with one time, so a run is usually hundreds of entries decoded with
    a handful of C-level calls. ``lines`` hold the contents WITHOUT the
    newline; ``complete`` says every one of them had it (else the run is a
    single partial entry).
    """

    time_ns: int
    stream: int
    lines: list[bytes]
    attrs: Mapping[str, str] | None = None
    complete: bool = True

    def stored(self) -> list[bytes]:
        """The stored contents, with their newlines."""
        if self.complete:
            return [line + b"\n" for line in self.lines]
        return list(self.lines)

    def entries(self) -> list[LogEntry]:
        return [LogEntry(self.time_ns, self.stream, line, self.attrs) for line in self.stored()]


class _Cache:
    """Last parsed time and attrs: consecutive entries nearly always repeat them."""

    __slots__ = ("attrs", "attrs_raw", "time_ns", "time_raw")

    def __init__(self) -> None:
        self.time_raw: bytes = b""
        self.time_ns = 0
        self.attrs_raw: bytes = b""
        self.attrs: Mapping[str, str] | None = None

    def time_of(self, raw: bytes) -> int:
        if raw != self.time_raw:
            self.time_ns = parse_time(raw.decode("ascii", "replace"))
            self.time_raw = raw
        return self.time_ns

    def attrs_of(self, raw: bytes | None) -> Mapping[str, str] | None:
        if not raw:
            return None
        if raw != self.attrs_raw:
            try:
                self.attrs = _attrs_of(json.loads(raw))
            except ValueError as exc:
                msg = f"invalid attrs in log line: {exc}"
                raise LogFormatError(msg) from exc
            self.attrs_raw = raw
        return self.attrs


def _ends_with_newline_escape(raw: bytes) -> bool:
    """True if the escaped string ``raw`` ends with the escape ``\\n`` (not ``\\\\`` + ``n``)."""
    if not raw.endswith(b"\\n"):
        return False
    body = raw[:-1]
    return (len(body) - len(body.rstrip(b"\\"))) % 2 == 1


def _unescape(raw: bytes) -> bytes:
    if b"\\" not in raw:
        return raw
    try:
        text = json.loads(b'"' + raw + b'"')
    except ValueError as exc:
        msg = f"invalid escape in log line: {exc}"
        raise LogFormatError(msg) from exc
    return text.encode("utf-8", "surrogatepass")  # type: ignore[no-any-return]


def _attrs_of(value: object) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    return {str(k): str(v) for k, v in value.items()}


def decode_line(raw: bytes, cache: _Cache | None = None) -> LogEntry:
    """One json-file line (with or without its newline) → LogEntry.

    Raises:
        LogFormatError: the line is not a json-file entry.
    """
    raw = raw.rstrip(b"\n")
    cache = cache or _Cache()
    m = _LINE.match(raw)
    if m is not None:
        log_raw, stream, attrs_raw, time_raw = m.groups()
        try:
            return LogEntry(
                cache.time_of(time_raw), _STREAM_IDS[stream], _unescape(log_raw), cache.attrs_of(attrs_raw)
            )
        except LogFormatError:
            pass
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        msg = f"invalid json-file log line: {exc}"
        raise LogFormatError(msg) from exc
    if not isinstance(obj, dict) or not isinstance(obj.get("time"), str):
        msg = "invalid json-file log line: no time"
        raise LogFormatError(msg)
    stream_id = _STREAM_IDS.get(obj.get("stream", ""), STDOUT)
    log = obj.get("log", "")
    line = log.encode("utf-8", "surrogatepass") if isinstance(log, str) else b""
    return LogEntry(parse_time(obj["time"]), stream_id, line, _attrs_of(obj.get("attrs")))


def decode_runs(data: bytes, cache: _Cache | None = None) -> tuple[list[Run], int]:
    """Decode complete json-file lines (``data`` ends at a newline or is empty) into runs.

    Lines our writer stored as one batch share everything after the ``log``
    string, so the run is found with ``rfind`` of that tail and cut with one
    ``split``; a check that the pieces hold no newline guarantees the cut is
    exact, and anything else falls back to one line at a time.

    Returns:
        The runs in file order, and how many lines were not json-file entries (skipped).
    """
    cache = cache or _Cache()
    runs: list[Run] = []
    bad = 0
    pos = 0
    end = len(data)
    match = _LINE.match
    while pos < end:
        m = match(data, pos)
        if m is None:
            nl = data.find(b"\n", pos)
            stop = end if nl < 0 else nl + 1
            raw = data[pos:stop]
            pos = stop
            if raw.strip():
                try:
                    e = decode_line(raw, cache)
                except LogFormatError:
                    bad += 1
                else:
                    complete = e.line.endswith(b"\n")
                    runs.append(Run(e.time_ns, e.stream, [e.line[:-1] if complete else e.line], e.attrs, complete))
            continue
        log_raw, stream, attrs_raw, time_raw = m.groups()
        try:
            time_ns = cache.time_of(time_raw)
            attrs = cache.attrs_of(attrs_raw)
        except LogFormatError:
            bad += 1
            pos = m.end()
            continue
        stream_id = _STREAM_IDS[stream]
        complete = _ends_with_newline_escape(log_raw)
        c_start = m.start(1)
        c_end = m.end(1) - (2 if complete else 0)
        tail = data[c_end : m.end()]
        if not tail.endswith(b"\n"):
            tail += b"\n"
        run_end = _run_end(data, tail, m.end(), end)
        if run_end == m.end():
            lines = [_unescape(data[c_start:c_end])]
            pos = m.end()
        else:
            segment = data[c_start : run_end - len(tail)]
            sep = tail + _HEAD
            pieces = segment.split(sep)
            if segment.count(b"\n") != len(pieces) - 1:
                lines = [_unescape(data[c_start:c_end])]
                pos = m.end()
            else:
                if segment.count(b"\\") != (len(pieces) - 1) * sep.count(b"\\"):
                    # Escapes inside: a piece ending in an odd run of backslashes means the
                    # tail matched inside another line's string; then go line by line.
                    if any((len(p) - len(p.rstrip(b"\\"))) % 2 for p in pieces):
                        pieces = [data[c_start:c_end]]
                        run_end = m.end()
                    pieces = [_unescape(p) for p in pieces]
                lines = pieces
                pos = run_end
        runs.append(Run(time_ns, stream_id, lines, attrs, complete))
    return runs, bad


def _run_end(data: bytes, tail: bytes, start: int, end: int) -> int:
    """Where the run of lines ending with ``tail`` that follows ``start`` ends.

    Searches windows that double while the run goes on, so the cost is in
    proportion to the run, not to the rest of the block.
    """
    run_end = start
    window = 4096
    while run_end < end:
        hi = min(end, run_end + window)
        j = data.rfind(tail, run_end, hi)
        if j < 0:
            break
        run_end = j + len(tail)
        nl = data.find(b"\n", run_end)
        if nl < 0 or data[nl + 1 - len(tail) : nl + 1] != tail:
            break
        window *= 2
    return run_end


def decode_block(data: bytes, cache: _Cache | None = None) -> tuple[list[LogEntry], int]:
    """Like :func:`decode_runs`, one LogEntry per stored entry."""
    runs, bad = decode_runs(data, cache)
    return [e for run in runs for e in run.entries()], bad


def new_cache() -> _Cache:
    """A decoding cache for one sequential reader."""
    return _Cache()
