"""The healthcheck state machine (docker-semantics.md §7)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.engine.model import HealthConfig
from supervisor.errors import InvalidArgument, InvalidTransition
from supervisor.restart.health import (
    TRANSITIONS,
    EffectiveHealth,
    HealthState,
    HealthStatus,
    Outcome,
    ProbeResult,
    health_config_effective,
    next_probe_delay,
    on_container_started,
    on_monitor_stopped,
    on_result,
    validate_health_config,
)

S = HealthStatus
CFG = EffectiveHealth(
    argv=("true",), retries=3, start_period=60.0, start_interval=5.0, interval=30.0
)
OK = ProbeResult(1, 2, 0, "ok")
FAIL = ProbeResult(1, 2, 1, "bad")
TIMEOUT = ProbeResult(1, 2, -1, "Health check exceeded timeout (30s)")
RESERVED = ProbeResult(1, 2, 2, "")


class TestConfig:
    def test_none_and_empty_and_NONE_disable(self) -> None:
        """No config, an empty test and ["NONE"] give no probe."""
        assert health_config_effective(None) is None
        assert health_config_effective(HealthConfig(test=())) is None
        assert health_config_effective(HealthConfig(test=("NONE",))) is None

    def test_unknown_kind_disables(self) -> None:
        """An unknown first element means no probe, as Docker (which only warns)."""
        assert health_config_effective(HealthConfig(test=("HTTP", "x"))) is None

    def test_defaults(self) -> None:
        """Zero durations and retries take Docker's defaults."""
        cfg = health_config_effective(HealthConfig(test=("CMD", "true")))
        assert cfg == EffectiveHealth(
            argv=("true",),
            interval=30.0,
            timeout=30.0,
            start_period=0.0,
            start_interval=5.0,
            retries=3,
        )

    def test_values_in_nanoseconds(self) -> None:
        """The API's nanoseconds become seconds."""
        cfg = health_config_effective(
            HealthConfig(
                test=("CMD", "a", "b"),
                interval=2_000_000_000,
                timeout=500_000_000,
                start_period=10_000_000_000,
                start_interval=1_000_000_000,
                retries=5,
            )
        )
        assert cfg == EffectiveHealth(("a", "b"), 2.0, 0.5, 10.0, 1.0, 5)

    def test_cmd_shell_uses_the_containers_shell(self) -> None:
        """CMD-SHELL runs through spec.shell, else /bin/sh -c."""
        hc = HealthConfig(test=("CMD-SHELL", "curl -f localhost || exit 1"))
        assert health_config_effective(hc).argv == ("/bin/sh", "-c", "curl -f localhost || exit 1")  # type: ignore[union-attr]
        cfg = health_config_effective(hc, ("/bin/bash", "-o", "pipefail", "-c"))
        assert cfg is not None
        assert cfg.argv == ("/bin/bash", "-o", "pipefail", "-c", "curl -f localhost || exit 1")

    @pytest.mark.parametrize(
        ("hc", "message"),
        [
            (HealthConfig(interval=1), "Interval in Healthcheck cannot be less than 1ms"),
            (HealthConfig(interval=-5), "Interval in Healthcheck cannot be less than 1ms"),
            (HealthConfig(timeout=999_999), "Timeout in Healthcheck cannot be less than 1ms"),
            (HealthConfig(retries=-1), "Retries in Healthcheck cannot be negative"),
            (HealthConfig(start_period=10), "StartPeriod in Healthcheck cannot be less than 1ms"),
            (
                HealthConfig(start_interval=10),
                "StartInterval in Healthcheck cannot be less than 1ms",
            ),
        ],
    )
    def test_validation_messages(self, hc: HealthConfig, message: str) -> None:
        """dockerd's create-time checks with its messages."""
        with pytest.raises(InvalidArgument, match=f"^{message}$"):
            validate_health_config(hc)

    def test_validation_accepts_zero_and_1ms(self) -> None:
        """0 means default and 1ms is the minimum."""
        validate_health_config(None)
        validate_health_config(HealthConfig(interval=0, timeout=1_000_000, retries=0))


class TestSchedule:
    @pytest.mark.parametrize(
        ("status", "since_start", "expected"),
        [
            (S.STARTING, 0.0, 5.0),
            (S.STARTING, 59.9, 5.0),
            (S.STARTING, 60.0, 30.0),
            (S.HEALTHY, 1.0, 30.0),
            (S.UNHEALTHY, 1.0, 30.0),
        ],
    )
    def test_start_interval_only_while_starting_in_the_start_period(
        self, status: HealthStatus, since_start: float, expected: float
    ) -> None:
        """start_interval inside the start period while starting, interval otherwise."""
        assert next_probe_delay(CFG, HealthState(status=status), since_start) == expected

    def test_default_first_probe_after_interval(self) -> None:
        """With the default start period 0 the first probe waits the full interval."""
        cfg = EffectiveHealth(argv=("true",))
        assert next_probe_delay(cfg, on_container_started(), 0.0) == 30.0


# (status, streak, result, since start at probe start) -> (status, streak, event)
@pytest.mark.parametrize(
    ("status", "streak", "result", "since", "new_status", "new_streak", "event"),
    [
        # starting
        (S.STARTING, 0, OK, 1.0, S.HEALTHY, 0, S.HEALTHY),  # success ends starting at once
        (S.STARTING, 0, FAIL, 1.0, S.STARTING, 0, None),  # in start period: not counted
        (S.STARTING, 2, FAIL, 59.9, S.STARTING, 2, None),
        (S.STARTING, 0, FAIL, 60.0, S.STARTING, 1, None),  # after it: counted
        (S.STARTING, 1, TIMEOUT, 61.0, S.STARTING, 2, None),
        (S.STARTING, 2, FAIL, 61.0, S.UNHEALTHY, 3, S.UNHEALTHY),
        (S.STARTING, 2, RESERVED, 61.0, S.UNHEALTHY, 3, S.UNHEALTHY),  # 2 is a failure too
        # healthy
        (S.HEALTHY, 0, OK, 100.0, S.HEALTHY, 0, None),
        (S.HEALTHY, 0, FAIL, 1.0, S.HEALTHY, 1, None),  # start period only matters while starting
        (S.HEALTHY, 1, FAIL, 100.0, S.HEALTHY, 2, None),
        (S.HEALTHY, 2, FAIL, 100.0, S.UNHEALTHY, 3, S.UNHEALTHY),
        (S.HEALTHY, 2, OK, 100.0, S.HEALTHY, 0, None),
        # unhealthy
        (S.UNHEALTHY, 3, FAIL, 100.0, S.UNHEALTHY, 4, None),
        (S.UNHEALTHY, 0, FAIL, 100.0, S.UNHEALTHY, 1, None),  # after a pause: stays unhealthy
        (S.UNHEALTHY, 7, OK, 100.0, S.HEALTHY, 0, S.HEALTHY),
    ],
)
def test_transition_table(
    status: HealthStatus,
    streak: int,
    result: ProbeResult,
    since: float,
    new_status: HealthStatus,
    new_streak: int,
    event: HealthStatus | None,
) -> None:
    """Every §7.3 transition: status, FailingStreak and the event to publish."""
    state, published = on_result(CFG, HealthState(status, streak), result, since)
    assert (state.status, state.failing_streak, published) == (new_status, new_streak, event)
    assert state.log == (result,)


def test_every_table_row_is_reachable_and_none_is_refused() -> None:
    """NONE has no transitions: a result for it is a bug and raises."""
    assert all(status is not S.NONE for status, _ in TRANSITIONS)
    assert (S.STARTING, Outcome.FAIL_IN_START_PERIOD) in TRANSITIONS
    with pytest.raises(InvalidTransition):
        on_result(CFG, HealthState(S.NONE), OK, 0.0)


def test_log_keeps_the_last_five_oldest_first() -> None:
    """State.Health.Log holds the 5 newest results, oldest first."""
    state = on_container_started()
    results = [ProbeResult(i, i + 1, 0, str(i)) for i in range(8)]
    for r in results:
        state, _ = on_result(CFG, state, r, 100.0)
    assert state.log == tuple(results[3:])


def test_starting_is_never_published() -> None:
    """A whole life of results never publishes starting, only changes."""
    state = on_container_started()
    events = []
    for r, since in [
        (FAIL, 1),
        (FAIL, 70),
        (OK, 80),
        (OK, 90),
        (FAIL, 100),
        (FAIL, 110),
        (FAIL, 120),
    ]:
        state, ev = on_result(CFG, state, r, since)
        events.append(ev)
    assert events == [None, None, S.HEALTHY, None, None, None, S.UNHEALTHY]


def test_monitor_stop_is_unhealthy_without_changing_the_rest() -> None:
    """Stopping the monitor forces unhealthy, keeping streak and log (Docker's quirk)."""
    state = HealthState(S.HEALTHY, 1, (OK,))
    assert on_monitor_stopped(state) == HealthState(S.UNHEALTHY, 1, (OK,))


def test_start_resets_status_and_streak_but_keeps_the_log() -> None:
    """A (re)start goes back to starting with streak 0; the log survives."""
    assert on_container_started() == HealthState(S.STARTING, 0, ())
    assert on_container_started(HealthState(S.UNHEALTHY, 4, (FAIL,))) == HealthState(
        S.STARTING, 0, (FAIL,)
    )


@given(
    st.integers(min_value=1, max_value=6),
    st.lists(st.tuples(st.integers(-1, 3), st.floats(0, 200)), max_size=40),
)
def test_streak_and_status_agree(retries: int, results: list[tuple[int, float]]) -> None:
    """unhealthy is reached exactly when the streak reaches retries, and a success zeroes it."""
    cfg = EffectiveHealth(argv=("x",), retries=retries, start_period=50.0)
    state = on_container_started()
    for code, since in results:
        before = state
        state, event = on_result(cfg, state, ProbeResult(0, 0, code, ""), since)
        if code == 0:
            assert state.failing_streak == 0 and state.status is S.HEALTHY
        elif state.failing_streak >= retries:
            assert state.status is S.UNHEALTHY
        assert (event is None) == (state.status is before.status)
        assert len(state.log) <= 5
