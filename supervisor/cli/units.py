"""Docker's unit conversions on the client side: sizes, CPUs, durations, timestamps.

Pure functions (no clock: ``now`` is an argument) that reproduce what the docker
CLI 28.2.2 sends, so that ``berth run -m 512m`` and ``docker run -m 512m`` put the
same number on the wire. The sources are go-units (``RAMInBytes``,
``HumanDuration``, ``HumanSizeWithPrecision``), Go's ``time.ParseDuration`` and
the CLI's ``GetTimestamp`` (docker-semantics.md §2.6).
"""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction

from supervisor.errors import InvalidArgument

_BINARY = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?) ?([kmgtp])?(i)?(b)?$", re.IGNORECASE)


def parse_ram_in_bytes(value: str) -> int:
    """Parse a human size with binary units ("512m", "1.5g", "1GiB") into bytes.

    Raises:
        InvalidArgument: "invalid size: '<value>'" as go-units says it.
    """
    match = _SIZE_RE.match(value.strip())
    if match is None or (match.group(3) and not match.group(2)):
        msg = f"invalid size: '{value}'"
        raise InvalidArgument(msg)
    number, unit = match.group(1), (match.group(2) or "").lower()
    return int(Fraction(number) * _BINARY[unit])


def parse_mem_swap(value: str) -> int:
    """``--memory-swap``: a size, or -1 for unlimited swap."""
    return -1 if value.strip() == "-1" else parse_ram_in_bytes(value)


def parse_nano_cpus(value: str) -> int:
    """``--cpus 1.5`` → 1500000000 NanoCpus, refusing values finer than 1e-9 CPU."""
    try:
        cpus = Fraction(value.strip())
    except (ValueError, ZeroDivisionError) as exc:
        msg = f"failed to parse {value} as a rational number"
        raise InvalidArgument(msg) from exc
    nano = cpus * 1_000_000_000
    if nano.denominator != 1:
        msg = "value is too precise"
        raise InvalidArgument(msg)
    return int(nano)


_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(value: str) -> int:
    """Parse a Go duration ("10m", "1h30m", "1.5s", "-2h") into nanoseconds.

    Raises:
        InvalidArgument: 'time: invalid duration "<value>"', like Go.
    """
    msg = f'time: invalid duration "{value}"'
    text = value
    sign = 1
    if text[:1] in "+-" and text:
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        raise InvalidArgument(msg)
    total = Fraction(0)
    pos = 0
    while pos < len(text):
        part = _DURATION_PART.match(text, pos)
        if part is None:
            raise InvalidArgument(msg)
        whole, frac, unit = part.group(1), part.group(2), part.group(3)
        if not whole and not frac:
            raise InvalidArgument(msg)
        number = Fraction(int(whole or "0"))
        if frac:
            number += Fraction(int(frac), 10 ** len(frac))
        total += number * _DURATION_UNITS[unit]
        pos = part.end()
    return sign * int(total)


# Layout regexes for GetTimestamp, named after the Go layouts they stand for.
_DATE = r"(?P<Y>\d{4})-(?P<M>\d{2})-(?P<D>\d{2})"
_ZONE = r"(?P<Z>Z|[+-]\d{2}:\d{2})"
_FRAC = r"(?:\.(?P<F>\d+))?"
_LAYOUTS = {
    "nano": _DATE + r"T(?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})" + _FRAC,
    "T15": _DATE + r"T(?P<h>\d{2})",
    "T15:04": _DATE + r"T(?P<h>\d{2}):(?P<m>\d{2})",
    "T15:04:05": _DATE + r"T(?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})" + _FRAC,
    "date": _DATE,
}


def _pick_layout(value: str, in_location: bool) -> str:
    """The CLI's heuristic for which layout to try (client/internal/timestamp)."""
    if "." in value:
        return "nano"
    if "T" in value:
        colons = value.count(":")
        if not in_location and not any(c in value for c in "zZ") and colons > 0:
            colons -= 1
        return {0: "T15", 1: "T15:04"}.get(colons, "T15:04:05")
    return "date"


def _parse_date(value: str, now: dt.datetime) -> dt.datetime | None:
    in_location = not any(c in value for c in "zZ+") and value.count("-") != 3
    pattern = _LAYOUTS[_pick_layout(value, in_location)]
    pattern += "" if in_location else _ZONE
    match = re.fullmatch(pattern, value)
    if match is None:
        return None
    g = match.groupdict()
    if in_location:
        tz: dt.tzinfo = dt.timezone(now.utcoffset() or dt.timedelta(0))
    elif g["Z"] == "Z":
        tz = dt.UTC
    else:
        zone = g["Z"]
        offset = dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        tz = dt.timezone(offset if zone[0] == "+" else -offset)
    try:
        stamp = dt.datetime(
            int(g["Y"]),
            int(g["M"]),
            int(g["D"]),
            int(g.get("h") or 0),
            int(g.get("m") or 0),
            int(g.get("s") or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None
    return stamp


def _nanos_of(frac: str | None) -> int:
    return int((frac or "0")[:9].ljust(9, "0"))


def get_timestamp(value: str, now: dt.datetime) -> str:
    """Convert a ``--since``/``--until`` value into the wire form ``sec[.nanos]``.

    Accepts a Go duration (relative to ``now``), RFC 3339 dates with or without
    zone (local zone = ``now``'s offset), date-only, and unix timestamps (passed
    through), exactly as the docker CLI does.

    Args:
        value: what the user typed.
        now: an aware datetime: the reference for durations and the local zone.

    Raises:
        InvalidArgument: the value is neither a time nor a duration.
    """
    if value != "0":
        try:
            nanos = parse_go_duration(value)
        except InvalidArgument:
            pass
        else:
            ref = int(now.timestamp() * 1_000_000_000) - nanos
            return str(ref // 1_000_000_000)
    stamp = _parse_date(value, now)
    if stamp is not None:
        frac = re.search(r"\.(\d+)", value)
        nanos = _nanos_of(frac.group(1) if frac else None)
        seconds = int(stamp.timestamp())
        return f"{seconds}.{nanos:09d}"
    if "-" in value:
        msg = f'parsing time "{value}": not a valid RFC 3339 timestamp'
        raise InvalidArgument(msg)
    if not re.fullmatch(r"\d+(\.\d+)?", value):
        msg = f'failed to parse value as time or duration: "{value}"'
        raise InvalidArgument(msg)
    return value


def human_duration(seconds: float) -> str:
    """go-units ``HumanDuration``: "Less than a second", "5 seconds", "About an hour"."""
    secs = int(seconds)
    if secs < 1:
        return "Less than a second"
    if secs == 1:
        return "1 second"
    if secs < 60:
        return f"{secs} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


_DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def human_size(size: float, precision: int = 3) -> str:
    """go-units ``HumanSizeWithPrecision`` (decimal units): 4261550 → "4.26MB"."""
    value = float(size)
    index = 0
    while value >= 1000 and index < len(_DECIMAL_UNITS) - 1:
        value /= 1000
        index += 1
    return f"{value:.{precision}g}{_DECIMAL_UNITS[index]}"


def format_event_time(time_nano: int, tz: dt.tzinfo | None = None) -> str:
    """RFC3339 with a fixed 9-digit fraction in the local zone (``jsonmessage.RFC3339NanoFixed``)."""
    seconds, nanos = divmod(time_nano, 1_000_000_000)
    stamp = dt.datetime.fromtimestamp(seconds, tz or dt.UTC)
    if tz is None:
        stamp = stamp.astimezone()
    offset = stamp.utcoffset() or dt.timedelta(0)
    if offset == dt.timedelta(0):
        zone = "Z"
    else:
        total = int(offset.total_seconds())
        sign = "+" if total >= 0 else "-"
        hours, rest = divmod(abs(total), 3600)
        zone = f"{sign}{hours:02d}:{rest // 60:02d}"
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}" + zone


def format_go_time(seconds: int, tz: dt.tzinfo | None = None) -> str:
    """Go's ``time.Time.String()`` without monotonic part: "2024-01-02 15:04:05 +0000 UTC"."""
    stamp = dt.datetime.fromtimestamp(seconds, tz or dt.UTC)
    if tz is None:
        stamp = stamp.astimezone()
    name = stamp.tzname() or ""
    return stamp.strftime("%Y-%m-%d %H:%M:%S %z ") + name
