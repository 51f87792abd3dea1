"""berth's restart labels: per-container tuning of what Docker hard-codes.

Rules:

1. Labels, not new API fields, so that the docker CLI, docker-py and compose
   files can all set them (``--label``, ``labels:``) and Docker simply ignores
   them. Every key starts with ``berth.restart``:

   ============================  ==================  ===========================
   label                         value               default (Docker's constant)
   ============================  ==================  ===========================
   berth.restart-on-unhealthy    true|false          false (moby#28400)
   berth.restart.delay           duration > 0        100ms
   berth.restart.max-delay       duration >= delay   1m
   berth.restart.reset-after     duration >= 0       10s
   berth.restart.limit           N/WINDOW            none (e.g. 5/60s)
   ============================  ==================  ===========================

2. Durations use Go's syntax (``250ms``, ``30s``, ``1m30s``, ``1.5h``), the
   one Docker users already type for ``--health-interval``; the parser below
   is Go's ``time.ParseDuration`` and ``format_duration`` is ``Duration.String``.
3. A bad value is refused at create with a message naming the label and the
   value; so is an unknown ``berth.restart.*`` key, because a typo
   (``berth.restart.dealy``) would otherwise be silently ignored.
4. ``reset-after`` 0 means every run resets the backoff: a fixed delay.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from supervisor.errors import InvalidArgument

LABEL_ON_UNHEALTHY = "berth.restart-on-unhealthy"
LABEL_DELAY = "berth.restart.delay"
LABEL_MAX_DELAY = "berth.restart.max-delay"
LABEL_RESET_AFTER = "berth.restart.reset-after"
LABEL_LIMIT = "berth.restart.limit"
KNOWN_LABELS = (LABEL_ON_UNHEALTHY, LABEL_DELAY, LABEL_MAX_DELAY, LABEL_RESET_AFTER, LABEL_LIMIT)

NANOSECOND = 1
MICROSECOND = 1000
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
_MAX_NS = 2**63 - 1

_UNITS: dict[str, int] = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "\u00b5s": MICROSECOND,  # micro sign
    "\u03bcs": MICROSECOND,  # Greek mu
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}
_NUMBER = re.compile(r"([0-9]*)(?:\.([0-9]*))?")
_UNIT = re.compile(r"[^0-9.]*")

# Go's strconv.ParseBool.
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


# --- durations ----------------------------------------------------------------------


def parse_duration(text: str) -> int:
    """Go's ``time.ParseDuration``: ``[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+`` to nanoseconds.

    ``"0"`` needs no unit; every other number does. Fractions are truncated
    to whole nanoseconds, as Go does.

    Raises:
        ValueError: with Go's reason (``time: invalid duration "x"`` etc.).
    """
    quoted = '"' + text + '"'
    s = text
    negative = False
    if s[:1] in ("-", "+"):
        negative = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        msg = f"time: invalid duration {quoted}"
        raise ValueError(msg)
    total = Fraction(0)
    while s:
        number = _NUMBER.match(s)
        assert number is not None  # the pattern matches the empty string
        whole, frac = number.group(1), number.group(2)
        if whole == "" and not frac:
            msg = f"time: invalid duration {quoted}"
            raise ValueError(msg)
        s = s[number.end() :]
        unit_match = _UNIT.match(s)
        assert unit_match is not None
        unit = unit_match.group(0)
        s = s[unit_match.end() :]
        if unit == "":
            msg = f"time: missing unit in duration {quoted}"
            raise ValueError(msg)
        scale = _UNITS.get(unit)
        if scale is None:
            msg = f'time: unknown unit "{unit}" in duration {quoted}'
            raise ValueError(msg)
        value = Fraction(int(whole or "0")) * scale
        if frac:
            value += Fraction(int(frac), 10 ** len(frac)) * scale
        total += value
        if total > _MAX_NS + (1 if negative else 0):
            msg = f"time: invalid duration {quoted}"
            raise ValueError(msg)
    ns = int(total)  # truncation toward zero, like Go's float-to-int conversion
    return -ns if negative else ns


def _fraction(value: int, digits: int) -> str:
    """``value / 10**digits`` in decimal, trailing zeros (and a bare point) dropped."""
    whole, rest = divmod(value, 10**digits)
    if rest == 0:
        return str(whole)
    return f"{whole}.{rest:0{digits}d}".rstrip("0")


def format_duration(ns: int) -> str:
    """Go's ``Duration.String``: ``0s``, ``250ms``, ``1.5s``, ``1m30s``, ``2h0m0s``."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < MICROSECOND:
        return f"{sign}{u}ns"
    if u < MILLISECOND:
        return f"{sign}{_fraction(u, 3)}\u00b5s"
    if u < SECOND:
        return f"{sign}{_fraction(u, 6)}ms"
    hours, rest = divmod(u, HOUR)
    minutes, seconds = divmod(rest, MINUTE)
    out = sign
    if hours:
        out += f"{hours}h"
    if hours or minutes:
        out += f"{minutes}m"
    return out + f"{_fraction(seconds, 9)}s"


def format_seconds(seconds: float) -> str:
    """``format_duration`` for a float number of seconds (rounded to the nanosecond)."""
    return format_duration(round(seconds * SECOND))


# --- tuning ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartLimit:
    """At most ``burst`` policy restarts inside any ``window`` seconds (systemd's StartLimitBurst)."""

    burst: int
    window: float

    def __str__(self) -> str:
        return f"{self.burst}/{format_seconds(self.window)}"


@dataclass(frozen=True, slots=True)
class RestartTuning:
    """How a container's restarts are paced; the defaults are Docker's constants (seconds)."""

    restart_on_unhealthy: bool = False
    delay: float = 0.1
    max_delay: float = 60.0
    reset_after: float = 10.0
    limit: StartLimit | None = None


DEFAULT_TUNING = RestartTuning()


def _invalid(label: str, value: str, reason: str) -> InvalidArgument:
    return InvalidArgument(f"invalid value for label {label}: '{value}': {reason}")


def _duration(label: str, value: str) -> int:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise _invalid(label, value, f"{exc} (use a duration such as 250ms, 30s or 1m30s)") from exc


def _limit(value: str) -> StartLimit:
    burst_text, slash, window_text = value.partition("/")
    if not slash:
        raise _invalid(LABEL_LIMIT, value, "expected N/WINDOW, for example 5/60s")
    if not re.fullmatch(r"[0-9]+", burst_text) or int(burst_text) < 1:
        raise _invalid(
            LABEL_LIMIT, value, "the number of restarts must be an integer of at least 1"
        )
    try:
        window = parse_duration(window_text)
    except ValueError as exc:
        raise _invalid(LABEL_LIMIT, value, f"the window: {exc} (for example 5/60s)") from exc
    if window <= 0:
        raise _invalid(LABEL_LIMIT, value, "the window must be longer than 0s")
    return StartLimit(burst=int(burst_text), window=window / SECOND)


def parse_restart_labels(labels: Mapping[str, str]) -> RestartTuning:
    """Read berth's restart labels from a container's labels (others are ignored).

    Raises:
        InvalidArgument: naming the label and the value.
    """
    for key in labels:
        if (key.startswith(("berth.restart.", "berth.restart-")) or key == "berth.restart") and (
            key not in KNOWN_LABELS
        ):
            msg = f"unknown label {key}: berth's restart labels are {', '.join(KNOWN_LABELS)}"
            raise InvalidArgument(msg)

    on_unhealthy = False
    if LABEL_ON_UNHEALTHY in labels:
        value = labels[LABEL_ON_UNHEALTHY]
        if value in _TRUE:
            on_unhealthy = True
        elif value not in _FALSE:
            raise _invalid(LABEL_ON_UNHEALTHY, value, "expected true or false")

    delay_ns = round(DEFAULT_TUNING.delay * SECOND)
    max_delay_ns = round(DEFAULT_TUNING.max_delay * SECOND)
    reset_ns = round(DEFAULT_TUNING.reset_after * SECOND)
    if LABEL_DELAY in labels:
        delay_ns = _duration(LABEL_DELAY, labels[LABEL_DELAY])
        if delay_ns <= 0:
            raise _invalid(LABEL_DELAY, labels[LABEL_DELAY], "the delay must be longer than 0s")
    if LABEL_MAX_DELAY in labels:
        max_delay_ns = _duration(LABEL_MAX_DELAY, labels[LABEL_MAX_DELAY])
        if max_delay_ns <= 0:
            raise _invalid(
                LABEL_MAX_DELAY, labels[LABEL_MAX_DELAY], "the maximum delay must be longer than 0s"
            )
    if LABEL_RESET_AFTER in labels:
        reset_ns = _duration(LABEL_RESET_AFTER, labels[LABEL_RESET_AFTER])
        if reset_ns < 0:
            raise _invalid(LABEL_RESET_AFTER, labels[LABEL_RESET_AFTER], "must not be negative")
    if delay_ns > max_delay_ns:
        if LABEL_DELAY in labels:
            raise _invalid(
                LABEL_DELAY,
                labels[LABEL_DELAY],
                f"longer than {LABEL_MAX_DELAY} ({format_duration(max_delay_ns)})",
            )
        raise _invalid(
            LABEL_MAX_DELAY,
            labels[LABEL_MAX_DELAY],
            f"shorter than {LABEL_DELAY} ({format_duration(delay_ns)})",
        )

    limit = _limit(labels[LABEL_LIMIT]) if LABEL_LIMIT in labels else None
    return RestartTuning(
        restart_on_unhealthy=on_unhealthy,
        delay=delay_ns / SECOND,
        max_delay=max_delay_ns / SECOND,
        reset_after=reset_ns / SECOND,
        limit=limit,
    )
