"""go-units and Go time formatting, reproduced exactly."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.api.humanize import (
    ZERO_TIME,
    bytes_size,
    human_duration,
    human_size,
    parse_human_size,
    parse_ram_size,
    rfc3339_fixed_nano,
    rfc3339_nano,
    state_time,
)
from supervisor.errors import InvalidArgument

S = 1_000_000_000
M = 60 * S
H = 60 * M
D = 24 * H


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (-5 * S, "Less than a second"),
        (0, "Less than a second"),
        (999_999_999, "Less than a second"),
        (S, "1 second"),
        (2 * S, "2 seconds"),
        (59 * S + 999_999_999, "59 seconds"),
        (60 * S, "About a minute"),
        (119 * S, "About a minute"),
        (120 * S, "2 minutes"),
        (59 * M + 59 * S, "59 minutes"),
        (60 * M, "About an hour"),
        (89 * M, "About an hour"),
        (90 * M, "2 hours"),  # rounds h+0.5
        (47 * H + 29 * M, "47 hours"),
        (47 * H + 30 * M, "2 days"),
        (13 * D, "13 days"),
        (14 * D, "2 weeks"),
        (59 * D, "8 weeks"),
        (60 * D, "2 months"),
        (365 * 2 * D - H, "24 months"),
        (365 * 2 * D, "2 years"),
        (365 * 7 * D + 3 * D, "7 years"),
    ],
)
def test_human_duration_matches_go_units(ns: int, text: str) -> None:
    """Each band boundary of go-units HumanDuration gives Docker's words."""
    assert human_duration(ns) == text


@pytest.mark.parametrize(
    ("size", "human", "binary"),
    [
        (0, "0B", "0B"),
        (999, "999B", "999B"),
        (1000, "1kB", "1000B"),
        (1024, "1.024kB", "1KiB"),
        (1_500_000, "1.5MB", "1.431MiB"),
        (123_456_789, "123.5MB", "117.7MiB"),
        (10**30, "1e+06YB", "8.272e+05YiB"),
    ],
)
def test_sizes_match_go_units(size: int, human: str, binary: str) -> None:
    """HumanSize (decimal, %.4g) and BytesSize (binary) as the docker CLI prints them."""
    assert human_size(size) == human
    assert bytes_size(size) == binary


@pytest.mark.parametrize(
    ("text", "decimal", "binary"),
    [
        ("10m", 10_000_000, 10 * 1024**2),
        ("10MB", 10_000_000, 10 * 1024**2),
        ("1.5k", 1500, 1536),
        ("64", 64, 64),
        ("2 GiB", 2 * 1000**3, 2 * 1024**3),
    ],
)
def test_parse_sizes(text: str, decimal: int, binary: int) -> None:
    """FromHumanSize is decimal, RAMInBytes is binary, for the same spelling."""
    assert parse_human_size(text) == decimal
    assert parse_ram_size(text) == binary


@pytest.mark.parametrize("text", ["", "m", "-1", "10x", "1.2.3m", "10 mb b"])
def test_parse_size_rejects_garbage(text: str) -> None:
    """Anything go-units refuses is an InvalidArgument naming the text."""
    with pytest.raises(InvalidArgument, match="invalid size"):
        parse_human_size(text)


@pytest.mark.parametrize(
    ("ns", "nano", "fixed"),
    [
        (0, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000000Z"),
        (1546341071111111111, "2019-01-01T11:11:11.111111111Z", "2019-01-01T11:11:11.111111111Z"),
        (1546341071100000000, "2019-01-01T11:11:11.1Z", "2019-01-01T11:11:11.100000000Z"),
        (1546341071000000010, "2019-01-01T11:11:11.00000001Z", "2019-01-01T11:11:11.000000010Z"),
        (-1, "1969-12-31T23:59:59.999999999Z", "1969-12-31T23:59:59.999999999Z"),
    ],
)
def test_rfc3339(ns: int, nano: str, fixed: str) -> None:
    """RFC3339Nano trims trailing zeros (and the dot); the logs form keeps 9 digits."""
    assert rfc3339_nano(ns) == nano
    assert rfc3339_fixed_nano(ns) == fixed


def test_state_time_zero_is_go_zero_time() -> None:
    """0 means "never" in State and prints as Go's zero time."""
    assert state_time(0) == ZERO_TIME == "0001-01-01T00:00:00Z"
    assert state_time(S) == "1970-01-01T00:00:01Z"


_NANO_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$")


@given(st.integers(min_value=-(10**18), max_value=2**62))
def test_rfc3339_nano_round_trips(ns: int) -> None:
    """The string names exactly the same nanosecond, in both forms."""
    for text in (rfc3339_nano(ns), rfc3339_fixed_nano(ns)):
        match = _NANO_RE.match(text)
        assert match is not None
        whole = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        frac = int((match.group(2) or "0").ljust(9, "0"))
        assert int(whole.timestamp()) * S + frac == ns
    fraction = _NANO_RE.match(rfc3339_nano(ns)).group(2)  # type: ignore[union-attr]
    assert fraction is None or not fraction.endswith("0")


@given(st.integers(min_value=0, max_value=100 * 365 * D))
def test_human_duration_is_monotone_in_band(ns: int) -> None:
    """Every duration renders to one of go-units' phrasings, never an empty string."""
    text = human_duration(ns)
    assert re.match(
        r"^(Less than a second|1 second|About a minute|About an hour|"
        r"\d+ (seconds|minutes|hours|days|weeks|months|years))$",
        text,
    )
