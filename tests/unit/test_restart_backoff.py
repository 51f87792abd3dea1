"""Docker's restart backoff and its tuning."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from supervisor.restart.backoff import Backoff, next_delay
from supervisor.restart.labels import RestartTuning


def test_docker_sequence_for_a_crash_loop() -> None:
    """Short runs give 0.1, 0.2, ... 51.2, then 60 forever (exact floats)."""
    b = Backoff()
    got = [b.advance(0.0) for _ in range(13)]
    assert got == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 60.0, 60.0, 60.0]


def test_a_long_run_resets() -> None:
    """A run of at least reset-after (10 s) starts again at 100 ms; 9.99 s does not."""
    b = Backoff()
    for _ in range(4):
        b.advance(1.0)
    assert b.advance(9.99) == 1.6
    assert b.advance(10.0) == 0.1
    assert b.advance(0.0) == 0.2


def test_reset_forgets() -> None:
    """reset() makes the next delay the initial one."""
    b = Backoff()
    b.advance(0)
    b.advance(0)
    b.reset()
    assert b.current == 0.0
    assert b.advance(0) == 0.1


def test_tuning_changes_every_constant() -> None:
    """delay, max-delay and reset-after replace Docker's constants."""
    t = RestartTuning(delay=0.25, max_delay=1.0, reset_after=2.0)
    b = Backoff(t)
    assert [b.advance(0.5) for _ in range(5)] == [0.25, 0.5, 1.0, 1.0, 1.0]
    assert b.advance(2.0) == 0.25


def test_cap_not_a_power_of_two_multiple() -> None:
    """A doubling that would overshoot the cap is clamped to it."""
    t = RestartTuning(delay=0.3, max_delay=1.0)
    assert next_delay(0.6, 0.0, t) == 1.0
    assert next_delay(1.0, 0.0, t) == 1.0


def test_reset_after_zero_is_a_fixed_delay() -> None:
    """With reset-after 0 every run resets: the delay never grows."""
    b = Backoff(RestartTuning(delay=2.0, max_delay=60.0, reset_after=0.0))
    assert [b.advance(0.0) for _ in range(4)] == [2.0, 2.0, 2.0, 2.0]


tunings = st.builds(
    lambda d, extra, r: RestartTuning(delay=d, max_delay=d + extra, reset_after=r),
    st.floats(min_value=0.001, max_value=100.0),
    st.floats(min_value=0.0, max_value=1000.0),
    st.floats(min_value=0.0, max_value=100.0),
)


@given(tunings, st.lists(st.floats(min_value=0.0, max_value=1e6), max_size=40))
def test_never_above_the_cap_nor_below_the_initial_delay(
    t: RestartTuning, runs: list[float]
) -> None:
    """Every delay lies in [delay, max-delay]."""
    b = Backoff(t)
    for run in runs:
        d = b.advance(run)
        assert t.delay <= d <= t.max_delay


@given(tunings, st.integers(min_value=1, max_value=60))
def test_non_decreasing_while_runs_are_short(t: RestartTuning, n: int) -> None:
    """Runs shorter than reset-after never make the delay shrink."""
    if t.reset_after == 0:
        return
    b = Backoff(t)
    short = t.reset_after / 2
    delays = [b.advance(short) for _ in range(n)]
    assert delays == sorted(delays)
