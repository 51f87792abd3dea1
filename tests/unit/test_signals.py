"""Signal parsing and naming as Docker does it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.engine.signals import SIGNALS, parse_signal, signal_name
from supervisor.errors import InvalidArgument


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("SIGTERM", 15),
        ("TERM", 15),
        ("term", 15),
        ("sigkill", 9),
        ("15", 15),
        (15, 15),
        ("SIGRTMIN", 34),
        ("SIGRTMIN+3", 37),
        ("rtmax-1", 63),
        ("RTMAX", 64),
        ("SIGHUP", 1),
        ("IOT", 6),
        ("CLD", 17),
        (" 9 ", 9),
    ],
)
def test_parse_signal_accepts_docker_forms(value: str | int, expected: int) -> None:
    """Names with or without SIG, any case, numbers and real-time offsets parse."""
    assert parse_signal(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "SIG",
        "FOO",
        "SIGFOO",
        "0",
        0,
        65,
        "65",
        -1,
        "-9",
        "RTMIN+16",
        "9x",
        True,
        "\uff11\uff15",
    ],
)
def test_parse_signal_rejects_with_docker_message(value: str | int) -> None:
    """Unknown names and numbers outside 1..64 give 'Invalid signal: X'."""
    with pytest.raises(InvalidArgument, match=r"^Invalid signal: "):
        parse_signal(value)


@pytest.mark.parametrize(
    ("num", "name"),
    [
        (15, "SIGTERM"),
        (9, "SIGKILL"),
        (6, "SIGABRT"),
        (17, "SIGCHLD"),
        (29, "SIGIO"),
        (34, "SIGRTMIN"),
        (37, "SIGRTMIN+3"),
        (63, "SIGRTMAX-1"),
        (64, "SIGRTMAX"),
    ],
)
def test_signal_name(num: int, name: str) -> None:
    """Numbers map to Docker's canonical SIG names (no IOT/CLD/POLL aliases)."""
    assert signal_name(num) == name


def test_signal_name_rejects_unknown() -> None:
    """A number that is not a Linux signal is refused, not named."""
    with pytest.raises(InvalidArgument):
        signal_name(0)


def test_every_signal_round_trips() -> None:
    """name(parse(name)) parses back to the same number for every table entry."""
    for name, num in SIGNALS.items():
        assert parse_signal(signal_name(parse_signal(name))) == num
    # 32 and 33 are reserved by glibc (NPTL) and absent from Docker's map.
    assert {n for n in range(1, 65) if n in SIGNALS.values()} == set(range(1, 65)) - {32, 33}
    for n in (32, 33):
        with pytest.raises(InvalidArgument):
            parse_signal(n)


@given(st.one_of(st.text(), st.integers()))
def test_parse_signal_only_raises_invalid_argument(value: str | int) -> None:
    """Arbitrary input either parses into 1..64 or raises InvalidArgument."""
    try:
        assert parse_signal(value) in set(SIGNALS.values())
    except InvalidArgument:
        pass
