"""Interpolation: compose's ${VAR} forms, table-driven and with hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.compose.errors import ComposeError
from supervisor.compose.interpolate import InterpolationError, interpolate, parse_env_file

ENV = {"SET": "value", "EMPTY": "", "PORT": "8080"}

CASES = [
    ("plain", "plain"),
    ("$SET", "value"),
    ("${SET}", "value"),
    ("a${SET}b", "avalueb"),
    ("$SET-x", "value-x"),
    ("${UNSET}", ""),
    ("${UNSET:-def}", "def"),
    ("${EMPTY:-def}", "def"),
    ("${EMPTY-def}", ""),
    ("${UNSET-def}", "def"),
    ("${SET:-def}", "value"),
    ("${SET:?boom}", "value"),
    ("${EMPTY?boom}", ""),
    ("${SET:+alt}", "alt"),
    ("${EMPTY:+alt}", ""),
    ("${EMPTY+alt}", "alt"),
    ("${UNSET+alt}", ""),
    ("$$", "$"),
    ("$${SET}", "${SET}"),
    ("$$$SET", "$value"),
    ("${UNSET:-${PORT}}", "8080"),
    ("${UNSET:-a:b}", "a:b"),
    ("${UNSET:-}", ""),
    ("127.0.0.1:${PORT}:80", "127.0.0.1:8080:80"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_forms(text: str, expected: str) -> None:
    """Each syntax form gives compose's result."""
    assert interpolate(text, ENV) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${UNSET:?need it}", "required variable UNSET is missing a value: need it"),
        ("${EMPTY:?need it}", "required variable EMPTY is missing a value: need it"),
        ("${UNSET?}", "required variable UNSET is missing a value"),
        ("${", "unterminated"),
        ("${SET", "unterminated"),
        ("${}", "is not a variable"),
        ("${1X}", "is not a variable"),
        ("cost $5", "escape any $"),
        ("trailing $", "escape any $"),
    ],
)
def test_errors(text: str, message: str) -> None:
    """Bad syntax and missing required variables are errors that say why."""
    with pytest.raises(InterpolationError, match=message.replace("$", r"\$")):
        interpolate(text, ENV)


def test_missing_are_reported() -> None:
    """Unset variables without a default are collected for the warning."""
    missing: list[str] = []
    assert interpolate("${A}-$B-${SET}", ENV, missing) == "--value"
    assert missing == ["A", "B"]


@given(st.text())
def test_escaped_text_round_trips(text: str) -> None:
    """Any text with every $ doubled comes back unchanged."""
    assert interpolate(text.replace("$", "$$"), {}) == text


@given(st.text().filter(lambda t: "$" not in t))
def test_text_without_dollar_is_untouched(text: str) -> None:
    """Text without $ is never changed."""
    assert interpolate(text, ENV) == text


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)


@given(NAMES, st.text(), st.text().filter(lambda t: "$" not in t and "}" not in t))
def test_braced_and_default(name: str, value: str, default: str) -> None:
    """${V} is the value; ${V:-d} is d exactly when V is unset or empty."""
    assert interpolate("${" + name + "}", {name: value}) == value
    expected = value if value else default
    assert interpolate("${" + name + ":-" + default + "}", {name: value}) == expected
    assert interpolate("${" + name + ":-" + default + "}", {}) == default
    assert interpolate("${" + name + "-" + default + "}", {name: value}) == value


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_never_crashes(text: str) -> None:
    """Arbitrary text either interpolates or raises InterpolationError, nothing else."""
    try:
        interpolate(text, ENV)
    except InterpolationError:
        pass


def test_env_file() -> None:
    """.env files: comments, quotes, export, and errors naming the line."""
    text = "# c\nA=1\nexport B = two\nC=\"q v\"\nD='x'\nE=y # note\n\n"
    assert parse_env_file(text, ".env") == {"A": "1", "B": "two", "C": "q v", "D": "x", "E": "y"}
    with pytest.raises(ComposeError, match=r"^\.env:2: expected KEY=VALUE"):
        parse_env_file("A=1\nnonsense\n", ".env")
