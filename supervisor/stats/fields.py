"""Strict readers for the two shapes kernel stat files come in: one number, or "key number" lines.

Rules: numbers are unsigned ASCII decimal that fit Go's uint64 (Docker parses
them with ``strconv.ParseUint(s, 10, 64)``); anything else raises
``InvalidArgument`` naming the file, never another exception. Blank lines and
surrounding whitespace are ignored, as the kernel ends every file with "\\n".
"""

from __future__ import annotations

import re

from supervisor.errors import InvalidArgument
from supervisor.stats.model import MAX_UINT64


def bad(what: str, text: str) -> InvalidArgument:
    """The error for a malformed ``what`` (a file name), quoting a bounded piece of it."""
    return InvalidArgument(f"malformed {what}: {text[:120]!r}")


def uint(what: str, token: str) -> int:
    """One unsigned 64-bit decimal.

    Raises:
        InvalidArgument: not a decimal, or larger than 2^64-1.
    """
    if not (token.isascii() and token.isdigit()):
        raise bad(what, token)
    value = int(token)
    if value > MAX_UINT64:
        raise bad(what, token)
    return value


def single(what: str, text: str) -> int:
    """A file holding one number (``memory.current``, ``cpuacct.usage``)."""
    return uint(what, text.strip())


def limit(what: str, text: str, unlimited: int) -> int:
    """A limit file: a number, or ``max`` (which becomes ``unlimited``)."""
    token = text.strip()
    if token == "max":
        return unlimited
    return uint(what, token)


# One regex pass over the whole file: "key value" lines, ASCII digits, below 2^64.
_KEYED_FAST = re.compile(r"(?:[^\s]+ [0-9]{1,19}\n)*(?:[^\s]+ [0-9]{1,19}\n?)?", re.ASCII)


def keyed(what: str, text: str) -> dict[str, int]:
    """A flat-keyed file (``memory.stat``, ``cpu.stat``, ``memory.events``): ``key value`` lines.

    The sampler parses these for every container every second, so the common
    case (well-formed lines, no blank ones) is checked in bulk with C-level
    str methods; anything unusual falls back to the strict line-by-line parse,
    which gives the same result or the precise error.

    Raises:
        InvalidArgument: a line that is not exactly a key and an unsigned number.
    """
    if _KEYED_FAST.fullmatch(text):
        parts = text.split()
        return dict(zip(parts[0::2], map(int, parts[1::2]), strict=True))
    return _keyed_strict(what, text)


def _keyed_strict(what: str, text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 2:
            if not parts:
                continue
            raise bad(what, line)
        value = parts[1]
        # The hot path of every tick: str methods, not a regex per number.
        if not (value.isascii() and value.isdigit()) or len(value) > 20:
            raise bad(what, line)
        number = int(value)
        if number > MAX_UINT64:
            raise bad(what, line)
        out[parts[0]] = number
    return out


def numbers(what: str, text: str) -> tuple[int, ...]:
    """Whitespace-separated numbers (``cpuacct.usage_percpu``)."""
    return tuple(uint(what, token) for token in text.split())
