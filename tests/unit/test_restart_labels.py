"""berth's restart labels and the Go duration syntax they use."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.errors import InvalidArgument
from supervisor.restart.labels import (
    DEFAULT_TUNING,
    RestartTuning,
    StartLimit,
    format_duration,
    parse_duration,
    parse_restart_labels,
)


class TestParseDuration:
    @pytest.mark.parametrize(
        ("text", "ns"),
        [
            ("0", 0),
            ("-0", 0),
            ("+0", 0),
            ("0s", 0),
            ("250ms", 250_000_000),
            ("30s", 30_000_000_000),
            ("1m30s", 90_000_000_000),
            ("2h", 7_200_000_000_000),
            ("1.5h", 5_400_000_000_000),
            (".5s", 500_000_000),
            ("1.s", 1_000_000_000),
            ("1h1m1s", 3_661_000_000_000),
            ("100ns", 100),
            ("3us", 3000),
            ("3\u00b5s", 3000),
            ("3\u03bcs", 3000),
            ("-1.5s", -1_500_000_000),
            ("1s500ms", 1_500_000_000),
            ("1.0000000001s", 1_000_000_000),
        ],
    )
    def test_accepts_go_syntax(self, text: str, ns: int) -> None:
        """Everything Go's time.ParseDuration accepts, to the nanosecond."""
        assert parse_duration(text) == ns

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("", 'time: invalid duration ""'),
            ("abc", 'time: invalid duration "abc"'),
            (".", 'time: invalid duration "."'),
            ("-", 'time: invalid duration "-"'),
            ("1", 'time: missing unit in duration "1"'),
            ("00", 'time: missing unit in duration "00"'),
            ("1s2", 'time: missing unit in duration "1s2"'),
            ("1d", 'time: unknown unit "d" in duration "1d"'),
            ("1 s", 'time: unknown unit " s" in duration "1 s"'),
            ("99999999999h", 'time: invalid duration "99999999999h"'),
        ],
    )
    def test_refuses_with_go_message(self, text: str, message: str) -> None:
        """Bad durations raise ValueError with Go's wording."""
        with pytest.raises(ValueError) as info:
            parse_duration(text)
        assert str(info.value) == message

    @pytest.mark.parametrize(
        ("ns", "text"),
        [
            (0, "0s"),
            (1, "1ns"),
            (1500, "1.5\u00b5s"),
            (250_000_000, "250ms"),
            (1_500_000_000, "1.5s"),
            (30_000_000_000, "30s"),
            (60_000_000_000, "1m0s"),
            (90_000_000_000, "1m30s"),
            (7_200_000_000_000, "2h0m0s"),
            (-1_500_000_000, "-1.5s"),
        ],
    )
    def test_format_is_go_duration_string(self, ns: int, text: str) -> None:
        """format_duration prints what Go's Duration.String prints."""
        assert format_duration(ns) == text

    @given(st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1))
    def test_round_trip(self, ns: int) -> None:
        """parse(format(d)) == d over the whole int64 range."""
        assert parse_duration(format_duration(ns)) == ns

    @given(st.text(alphabet="0123456789.+-smhnuµ d", max_size=12))
    def test_never_crashes(self, text: str) -> None:
        """Arbitrary text parses to an int or raises ValueError."""
        try:
            assert isinstance(parse_duration(text), int)
        except ValueError:
            pass


class TestRestartLabels:
    def test_defaults_are_dockers_constants(self) -> None:
        """No labels gives Docker's 100ms / 1m / 10s and no extras."""
        assert parse_restart_labels({"other": "x"}) == DEFAULT_TUNING
        assert DEFAULT_TUNING == RestartTuning(False, 0.1, 60.0, 10.0, None)

    def test_all_labels(self) -> None:
        """Every label is read into the tuning."""
        tuning = parse_restart_labels(
            {
                "berth.restart-on-unhealthy": "true",
                "berth.restart.delay": "250ms",
                "berth.restart.max-delay": "30s",
                "berth.restart.reset-after": "1m30s",
                "berth.restart.limit": "5/60s",
            }
        )
        assert tuning == RestartTuning(True, 0.25, 30.0, 90.0, StartLimit(5, 60.0))
        assert str(tuning.limit) == "5/1m0s"

    @pytest.mark.parametrize("value", ["1", "t", "TRUE", "True"])
    def test_true_spellings(self, value: str) -> None:
        """Go's ParseBool true values enable restart on unhealthy."""
        assert parse_restart_labels({"berth.restart-on-unhealthy": value}).restart_on_unhealthy

    def test_reset_after_zero_is_allowed(self) -> None:
        """reset-after 0 means a fixed delay."""
        assert parse_restart_labels({"berth.restart.reset-after": "0"}).reset_after == 0.0

    @pytest.mark.parametrize(
        ("labels", "message"),
        [
            (
                {"berth.restart.delay": "abc"},
                "invalid value for label berth.restart.delay: 'abc': time: invalid duration",
            ),
            (
                {"berth.restart.delay": "0s"},
                "invalid value for label berth.restart.delay: '0s': the delay must be longer than 0s",
            ),
            (
                {"berth.restart.delay": "-1s"},
                "invalid value for label berth.restart.delay: '-1s'",
            ),
            (
                {"berth.restart.delay": "2m"},
                "invalid value for label berth.restart.delay: '2m': longer than "
                "berth.restart.max-delay (1m0s)",
            ),
            (
                {"berth.restart.max-delay": "50ms"},
                "invalid value for label berth.restart.max-delay: '50ms': shorter than "
                "berth.restart.delay (100ms)",
            ),
            (
                {"berth.restart.max-delay": "0"},
                "invalid value for label berth.restart.max-delay: '0'",
            ),
            (
                {"berth.restart.reset-after": "-5s"},
                "invalid value for label berth.restart.reset-after: '-5s': must not be negative",
            ),
            (
                {"berth.restart.reset-after": "10"},
                "invalid value for label berth.restart.reset-after: '10': time: missing unit",
            ),
            (
                {"berth.restart-on-unhealthy": "yes"},
                "invalid value for label berth.restart-on-unhealthy: 'yes': expected true or false",
            ),
            (
                {"berth.restart.limit": "5"},
                "invalid value for label berth.restart.limit: '5': expected N/WINDOW",
            ),
            (
                {"berth.restart.limit": "0/60s"},
                "invalid value for label berth.restart.limit: '0/60s': the number of restarts",
            ),
            (
                {"berth.restart.limit": "x/60s"},
                "invalid value for label berth.restart.limit: 'x/60s': the number of restarts",
            ),
            (
                {"berth.restart.limit": "5/0s"},
                "invalid value for label berth.restart.limit: '5/0s': the window must be longer",
            ),
            (
                {"berth.restart.limit": "5/60"},
                "invalid value for label berth.restart.limit: '5/60': the window: time: missing unit",
            ),
            (
                {"berth.restart.dealy": "1s"},
                "unknown label berth.restart.dealy",
            ),
        ],
    )
    def test_refuses_naming_label_and_value(self, labels: dict[str, str], message: str) -> None:
        """Bad values give InvalidArgument naming the label and the value."""
        with pytest.raises(InvalidArgument) as info:
            parse_restart_labels(labels)
        assert str(info.value).startswith(message)
        assert info.value.http_status == 400

    @given(
        st.dictionaries(
            st.sampled_from(
                [
                    "berth.restart-on-unhealthy",
                    "berth.restart.delay",
                    "berth.restart.max-delay",
                    "berth.restart.reset-after",
                    "berth.restart.limit",
                ]
            ),
            st.text(max_size=10),
        )
    )
    def test_never_crashes(self, labels: dict[str, str]) -> None:
        """Any label values give a tuning or InvalidArgument, nothing else."""
        try:
            tuning = parse_restart_labels(labels)
        except InvalidArgument:
            return
        assert 0 < tuning.delay <= tuning.max_delay
        assert tuning.reset_after >= 0
