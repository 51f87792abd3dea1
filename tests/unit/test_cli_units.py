"""Client-side unit conversions match the docker CLI's."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.cli import units
from supervisor.errors import InvalidArgument

NOW = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("512", 512),
        ("512b", 512),
        ("1k", 1024),
        ("1K", 1024),
        ("512m", 512 * 1024**2),
        ("512M", 512 * 1024**2),
        ("1g", 1024**3),
        ("1GiB", 1024**3),
        ("1gb", 1024**3),
        ("1.5g", 3 * 1024**3 // 2),
        ("2 MB", 2 * 1024**2),
        ("1t", 1024**4),
        ("1p", 1024**5),
    ],
)
def test_ram_in_bytes(text: str, expected: int) -> None:
    """Sizes use binary units whatever the suffix spelling, like go-units RAMInBytes."""
    assert units.parse_ram_in_bytes(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "-1", "1x", "1.2.3m", "m", "1mm", "1i"])
def test_ram_in_bytes_rejects(text: str) -> None:
    """Garbage is an InvalidArgument quoting the input."""
    with pytest.raises(InvalidArgument, match="invalid size"):
        units.parse_ram_in_bytes(text)


@given(st.integers(min_value=0, max_value=2**40), st.sampled_from(["", "k", "m", "g"]))
def test_ram_in_bytes_property(number: int, unit: str) -> None:
    """N<unit> is N times the unit's power of 1024."""
    factor = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]
    assert units.parse_ram_in_bytes(f"{number}{unit}") == number * factor


def test_mem_swap_unlimited() -> None:
    """--memory-swap -1 means unlimited."""
    assert units.parse_mem_swap("-1") == -1
    assert units.parse_mem_swap("1g") == 1024**3


@pytest.mark.parametrize(
    ("text", "nanos"),
    [("1", 10**9), ("1.5", 1_500_000_000), ("0.000000001", 1), ("2.25", 2_250_000_000)],
)
def test_nano_cpus(text: str, nanos: int) -> None:
    """--cpus is converted exactly to NanoCpus."""
    assert units.parse_nano_cpus(text) == nanos


@pytest.mark.parametrize(("text", "message"), [("0.0000000001", "too precise"), ("x", "rational")])
def test_nano_cpus_rejects(text: str, message: str) -> None:
    """Too fine or non-numeric CPU counts are refused."""
    with pytest.raises(InvalidArgument, match=message):
        units.parse_nano_cpus(text)


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("0", 0),
        ("10m", 600 * 10**9),
        ("1h30m", 5400 * 10**9),
        ("1m30s", 90 * 10**9),
        ("1.5s", 1_500_000_000),
        ("300ms", 300_000_000),
        ("2us", 2000),
        ("2µs", 2000),
        ("7ns", 7),
        ("-2h", -7200 * 10**9),
        ("+5s", 5 * 10**9),
        (".5s", 500_000_000),
    ],
)
def test_go_duration(text: str, nanos: int) -> None:
    """Go's time.ParseDuration grammar."""
    assert units.parse_go_duration(text) == nanos


@pytest.mark.parametrize("text", ["", "10", "1d", "h", "1h x", "-", "1.h2", "5 m"])
def test_go_duration_rejects(text: str) -> None:
    """Unitless numbers (other than 0) and unknown units are invalid, as in Go."""
    with pytest.raises(InvalidArgument, match="invalid duration"):
        units.parse_go_duration(text)


@given(st.integers(0, 1000), st.integers(0, 59), st.integers(0, 59))
def test_go_duration_property(h: int, m: int, s: int) -> None:
    """XhYmZs adds up."""
    assert units.parse_go_duration(f"{h}h{m}m{s}s") == ((h * 60 + m) * 60 + s) * 10**9


@pytest.mark.parametrize(
    ("text", "wire"),
    [
        ("10m", str(int(NOW.timestamp()) - 600)),
        ("1h30m", str(int(NOW.timestamp()) - 5400)),
        ("0s", str(int(NOW.timestamp()))),
        ("2024-01-01", "1704063600.000000000"),  # local (+01:00) midnight
        ("2024-01-01Z", "1704067200.000000000"),
        ("2024-01-01T10:30:15.5.5", None),
        ("2024-01-01T10", "1704099600.000000000"),
        ("2024-01-01T10:30", "1704101400.000000000"),
        ("2024-01-01T10:30:15", "1704101415.000000000"),
        ("2024-01-01T10:30:15.5", "1704101415.500000000"),
        ("2024-01-01T10:30:15Z", "1704105015.000000000"),
        ("2024-01-01T10:30:15.123456789Z", "1704105015.123456789"),
        ("2024-01-01T10:30:15+02:00", "1704097815.000000000"),
        ("2024-01-01T10:30:15-02:00", "1704112215.000000000"),
        ("2024-01-01T10:30Z", "1704105000.000000000"),
        ("1704105015", "1704105015"),
        ("1704105015.5", "1704105015.5"),
        ("0", "0"),
    ],
)
def test_get_timestamp(text: str, wire: str | None) -> None:
    """--since/--until values become what the docker CLI sends."""
    if wire is None:
        with pytest.raises(InvalidArgument):
            units.get_timestamp(text, NOW)
    else:
        assert units.get_timestamp(text, NOW) == wire


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01", "2024-01-01T25:00:00Z", "12ab"])
def test_get_timestamp_rejects(text: str) -> None:
    """Neither a date nor a duration nor a timestamp."""
    with pytest.raises(InvalidArgument):
        units.get_timestamp(text, NOW)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "Less than a second"),
        (1, "1 second"),
        (5, "5 seconds"),
        (59, "59 seconds"),
        (60, "About a minute"),
        (119, "About a minute"),
        (120, "2 minutes"),
        (59 * 60, "59 minutes"),
        (3600, "About an hour"),
        (3600 * 1.6, "2 hours"),
        (3600 * 47, "47 hours"),
        (3600 * 48, "2 days"),
        (86400 * 13, "13 days"),
        (86400 * 14, "2 weeks"),
        (86400 * 59, "8 weeks"),
        (86400 * 60, "2 months"),
        (86400 * 365 * 2, "2 years"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    """go-units HumanDuration thresholds."""
    assert units.human_duration(seconds) == text


@pytest.mark.parametrize(
    ("size", "precision", "text"),
    [
        (0, 3, "0B"),
        (999, 3, "999B"),
        (12345, 3, "12.3kB"),
        (4261550, 3, "4.26MB"),
        (4261550, 4, "4.262MB"),
        (10**9, 3, "1GB"),
    ],
)
def test_human_size(size: int, precision: int, text: str) -> None:
    """Decimal units with %g precision, like HumanSizeWithPrecision."""
    assert units.human_size(size, precision) == text


def test_event_time_fixed_nanos() -> None:
    """Event times always carry 9 fractional digits and the zone offset."""
    assert units.format_event_time(1700000000123456789, dt.UTC) == "2023-11-14T22:13:20.123456789Z"
    plus2 = dt.timezone(dt.timedelta(hours=2))
    assert (
        units.format_event_time(1700000000000000000, plus2) == "2023-11-15T00:13:20.000000000+02:00"
    )
