"""Docker's human-facing renderings of durations, sizes and times, byte for byte.

The docker CLI prints what the daemon sends (``Status: "Up 5 seconds"``) and
users grep for it, so these copy Go's exact arithmetic rather than
approximating it:

* ``human_duration`` is go-units ``HumanDuration`` (integer truncation for
  seconds and minutes, ``+0.5`` rounding for hours, 30-day months).
* ``human_size`` / ``bytes_size`` are go-units ``HumanSize`` (decimal, ``%.4g``)
  and ``BytesSize`` (binary, ``KiB``); ``parse_human_size`` /
  ``parse_ram_size`` are ``FromHumanSize`` / ``RAMInBytes``.
* ``rfc3339_nano`` is Go's ``time.RFC3339Nano`` in UTC (fraction with trailing
  zeros trimmed, ``Z``), used by inspect and json-file; ``rfc3339_fixed_nano``
  is the always-9-digit form of ``docker logs --timestamps``.

Pure functions: times are unix nanoseconds passed in, never read from a clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from supervisor.errors import InvalidArgument

ZERO_TIME = "0001-01-01T00:00:00Z"
"""Go's zero ``time.Time`` as RFC 3339: what Docker prints for "never"."""

_NS = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def human_duration(ns: int) -> str:
    """go-units ``HumanDuration`` of a duration in nanoseconds.

    Negative durations (clock skew) read "Less than a second", as in Go.
    """
    seconds = ns // _NS  # Go truncates toward zero; negatives land below 1 either way
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = seconds // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    whole_hours, rest = divmod(ns, 3600 * _NS)
    hours = int(whole_hours + rest / (3600 * _NS) + 0.5)  # Go: int(d.Hours() + 0.5)
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
    return f"{whole_hours // 24 // 365} years"


_DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def _scaled(size: float, base: float, units: tuple[str, ...]) -> tuple[float, str]:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return size, units[i]


def human_size(size: float, precision: int = 4) -> str:
    """go-units ``HumanSizeWithPrecision``: decimal units, ``%.<p>g`` (``"1.5MB"``)."""
    value, unit = _scaled(float(size), 1000.0, _DECIMAL_UNITS)
    return f"{value:.{precision}g}{unit}"


def bytes_size(size: float) -> str:
    """go-units ``BytesSize``: binary units, ``%.4g`` (``"1.5MiB"``)."""
    value, unit = _scaled(float(size), 1024.0, _BINARY_UNITS)
    return f"{value:.4g}{unit}"


_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_SIZE_POWERS = {"k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def _parse_size(text: str, base: int) -> int:
    match = _SIZE_RE.match(text)
    if match is None:
        msg = f"invalid size: '{text}'"
        raise InvalidArgument(msg)
    try:
        value = float(match.group(1))
    except ValueError as exc:  # "1.2.3" passes Go's regex too, and fails there as well
        msg = f"invalid size: '{text}'"
        raise InvalidArgument(msg) from exc
    unit = match.group(2)
    if unit:
        value *= base ** _SIZE_POWERS[unit.lower()]
    return int(value)


def parse_human_size(text: str) -> int:
    """go-units ``FromHumanSize``: decimal (``"10m"`` = 10,000,000), as log-opt max-size."""
    return _parse_size(text, 1000)


def parse_ram_size(text: str) -> int:
    """go-units ``RAMInBytes``: binary (``"10m"`` = 10 MiB), as ``--memory`` and ``--shm-size``."""
    return _parse_size(text, 1024)


def _utc(ns: int) -> tuple[datetime, int]:
    seconds, frac = divmod(ns, _NS)
    return _EPOCH + timedelta(seconds=seconds), frac


def _date_time(moment: datetime) -> str:
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )


def rfc3339_nano(ns: int) -> str:
    """Go's ``time.RFC3339Nano`` of a unix-ns instant in UTC.

    ``1546341071111111111`` → ``"2019-01-01T11:11:11.111111111Z"``; a whole
    second has no fraction at all (``"...:11Z"``), as Go trims trailing zeros.
    """
    moment, frac = _utc(ns)
    fraction = f".{frac:09d}".rstrip("0") if frac else ""
    return f"{_date_time(moment)}{fraction}Z"


def rfc3339_fixed_nano(ns: int) -> str:
    """``2006-01-02T15:04:05.000000000Z07:00`` in UTC: the ``logs --timestamps`` prefix."""
    moment, frac = _utc(ns)
    return f"{_date_time(moment)}.{frac:09d}Z"


def state_time(ns: int) -> str:
    """An inspect timestamp where 0 means "never": Go's zero time, else RFC3339Nano."""
    return ZERO_TIME if ns == 0 else rfc3339_nano(ns)
