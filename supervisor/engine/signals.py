"""Signal names and numbers as Docker spells them (moby/sys/signal, Linux table).

Docker accepts ``SIGTERM``, ``TERM``, ``term``, ``15`` and the real-time forms
``RTMIN+3`` / ``SIGRTMAX-2``; anything else is "Invalid signal: X". The table is
Linux's (x86/arm numbering), written out rather than taken from the ``signal``
module so that parsing does not depend on the Python build and so that the
aliases Docker knows (IOT, CLD, POLL, PWR, STKFLT) are there.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from supervisor.errors import InvalidArgument

SIGRTMIN = 34
SIGRTMAX = 64

_BASE: dict[str, int] = {
    "ABRT": 6,
    "ALRM": 14,
    "BUS": 7,
    "CHLD": 17,
    "CLD": 17,
    "CONT": 18,
    "FPE": 8,
    "HUP": 1,
    "ILL": 4,
    "INT": 2,
    "IO": 29,
    "IOT": 6,
    "KILL": 9,
    "PIPE": 13,
    "POLL": 29,
    "PROF": 27,
    "PWR": 30,
    "QUIT": 3,
    "SEGV": 11,
    "STKFLT": 16,
    "STOP": 19,
    "SYS": 31,
    "TERM": 15,
    "TRAP": 5,
    "TSTP": 20,
    "TTIN": 21,
    "TTOU": 22,
    "URG": 23,
    "USR1": 10,
    "USR2": 12,
    "VTALRM": 26,
    "WINCH": 28,
    "XCPU": 24,
    "XFSZ": 25,
}


def _table() -> dict[str, int]:
    table = dict(_BASE)
    table["RTMIN"] = SIGRTMIN
    for i in range(1, 16):
        table[f"RTMIN+{i}"] = SIGRTMIN + i
    for i in range(1, 15):
        table[f"RTMAX-{i}"] = SIGRTMAX - i
    table["RTMAX"] = SIGRTMAX
    return table


#: Docker's SignalMap: name without the SIG prefix → number.
SIGNALS: Mapping[str, int] = MappingProxyType(_table())

# Canonical name per number: the first name in _BASE order wins, except the
# aliases Docker never prints (IOT, CLD, POLL).
_ALIASES = {"IOT", "CLD", "POLL"}
_NAMES: dict[int, str] = {}
for _name, _num in SIGNALS.items():
    if _name not in _ALIASES:
        _NAMES.setdefault(_num, _name)


def _invalid(value: object) -> InvalidArgument:
    return InvalidArgument(f"Invalid signal: {value}")


def parse_signal(value: str | int) -> int:
    """Turn a signal as a user wrote it into its number.

    Args:
        value: a number (``15``, ``"15"``) or a name with or without ``SIG``,
            any case (``"SIGTERM"``, ``"term"``, ``"SIGRTMIN+3"``).

    Raises:
        InvalidArgument: "Invalid signal: X" for unknown names and numbers
            not in the table: outside 1..64, or 32/33, which glibc reserves
            (Docker's ``ValidSignalForPlatform``).
    """
    if isinstance(value, bool):
        raise _invalid(value)
    if isinstance(value, int):
        if value not in _NAMES:
            raise _invalid(value)
        return value
    if not isinstance(value, str):
        raise _invalid(value)
    text = value.strip()
    if text.isascii() and text.lstrip("+-").isdigit():
        try:
            return parse_signal(int(text))
        except InvalidArgument:
            raise _invalid(value) from None
    key = text.upper()
    key = key.removeprefix("SIG")
    num = SIGNALS.get(key)
    if num is None:
        raise _invalid(value)
    return num


def signal_name(num: int) -> str:
    """The ``SIG``-prefixed name Docker prints for a signal number.

    Raises:
        InvalidArgument: when ``num`` is not a Linux signal (1..64).
    """
    if isinstance(num, bool) or not isinstance(num, int) or num not in _NAMES:
        raise _invalid(num)
    return "SIG" + _NAMES[num]
