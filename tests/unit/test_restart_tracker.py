"""The restart tracker: Docker's ShouldRestart plus berth's limits, facts in, decisions out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from supervisor.engine.model import RestartPolicy
from supervisor.errors import InvalidArgument
from supervisor.restart.labels import RestartTuning, StartLimit
from supervisor.restart.tracker import (
    GiveUp,
    Reason,
    RestartAfter,
    RestartTracker,
    Stay,
)

NO = RestartPolicy("no")
ALWAYS = RestartPolicy("always")
UNLESS = RestartPolicy("unless-stopped")
ON_FAILURE = RestartPolicy("on-failure")
ON_FAILURE_2 = RestartPolicy("on-failure", 2)

R = RestartAfter(0.1)


# (policy, exit_code, manually_stopped, daemon_shutting_down, cancelled) -> decision
@pytest.mark.parametrize(
    ("policy", "code", "manual", "shutdown", "cancelled", "expected"),
    [
        (NO, 1, False, False, False, Stay(Reason.POLICY_NO)),
        (NO, 0, False, False, False, Stay(Reason.POLICY_NO)),
        (RestartPolicy(""), 1, False, False, False, Stay(Reason.POLICY_NO)),
        (NO, 1, False, True, True, Stay(Reason.POLICY_NO)),
        (ALWAYS, 0, False, False, False, R),
        (ALWAYS, 1, False, False, False, R),
        (ALWAYS, 0, True, False, False, R),  # always ignores the manual flag...
        (ALWAYS, 0, True, False, True, Stay(Reason.CANCELLED)),  # ...but not a cancel
        (ALWAYS, 0, False, True, False, Stay(Reason.SHUTDOWN)),
        (UNLESS, 0, False, False, False, R),
        (UNLESS, 137, False, False, False, R),
        (UNLESS, 0, True, False, False, Stay(Reason.MANUALLY_STOPPED)),
        (UNLESS, 0, False, False, True, Stay(Reason.CANCELLED)),
        (UNLESS, 143, False, True, False, Stay(Reason.SHUTDOWN)),
        (ON_FAILURE, 0, False, False, False, Stay(Reason.EXIT_SUCCESS)),
        (ON_FAILURE, 1, False, False, False, R),
        (ON_FAILURE, 1, True, False, False, R),  # Docker: on-failure does not read the flag
        (ON_FAILURE, 137, False, False, True, Stay(Reason.CANCELLED)),
        (ON_FAILURE, 1, False, True, False, Stay(Reason.SHUTDOWN)),
        (ON_FAILURE_2, 1, False, False, False, R),
        (ON_FAILURE_2, -1, False, False, False, R),
    ],
)
def test_first_exit_decision_table(
    policy: RestartPolicy,
    code: int,
    manual: bool,
    shutdown: bool,
    cancelled: bool,
    expected: object,
) -> None:
    """Every policy against every kind of exit, on a fresh tracker."""
    t = RestartTracker(policy)
    if cancelled:
        t.cancel()
    assert t.on_exit(5.0, code, 1.0, manual, shutdown) == expected
    assert t.restart_count == (1 if isinstance(expected, RestartAfter) else 0)


def test_on_failure_counts_restart_count_below_maximum() -> None:
    """on-failure:2 restarts twice, then gives up with a message naming the limit."""
    t = RestartTracker(ON_FAILURE_2)
    assert t.on_exit(0, 1, 0) == RestartAfter(0.1)
    assert t.on_exit(0, 1, 0) == RestartAfter(0.2)
    d = t.on_exit(0, 1, 0)
    assert isinstance(d, GiveUp) and d.reason is Reason.RETRIES_EXHAUSTED
    assert (
        d.message
        == "gave up restarting: maximum retry count 2 reached (restart policy on-failure:2)"
    )
    assert t.restart_count == 2


def test_restart_count_seed_survives_a_daemon_restart() -> None:
    """A tracker seeded with RestartCount 2 under on-failure:2 gives up at once (moby#20853)."""
    t = RestartTracker(ON_FAILURE_2, restart_count=2)
    assert isinstance(t.on_exit(0, 1, 0), GiveUp)


def test_backoff_advances_before_the_policy_check() -> None:
    """An exit that is not restarted still doubles the delay (Docker's step order)."""
    t = RestartTracker(ON_FAILURE)
    assert t.on_exit(0, 1, 0) == RestartAfter(0.1)
    assert t.on_exit(0, 0, 0) == Stay(Reason.EXIT_SUCCESS)
    assert t.current_delay == 0.2
    assert t.on_exit(0, 1, 0) == RestartAfter(0.4)


def test_policy_no_and_cancel_do_not_advance_the_backoff() -> None:
    """Docker returns before the backoff update for policy no and a cancelled manager."""
    t = RestartTracker(ALWAYS)
    t.on_exit(0, 1, 0)
    t.cancel()
    t.on_exit(0, 1, 0)
    assert t.current_delay == 0.1


def test_long_run_resets_the_delay() -> None:
    """A run of 10 s or more brings the delay back to 100 ms."""
    t = RestartTracker(ALWAYS)
    for _ in range(5):
        t.on_exit(0, 1, 0.5)
    assert t.on_exit(0, 1, 10.0) == RestartAfter(0.1)


def test_cancel_is_permanent_until_reset() -> None:
    """After a manual stop no exit restarts; an API start (reset) clears everything."""
    t = RestartTracker(ALWAYS)
    t.on_exit(0, 1, 0)
    t.on_exit(0, 1, 0)
    t.cancel()
    assert t.cancelled
    assert t.on_exit(0, 1, 0) == Stay(Reason.CANCELLED)
    assert t.on_exit(0, 1, 0) == Stay(Reason.CANCELLED)
    t.reset()
    assert not t.cancelled and t.restart_count == 0 and t.current_delay == 0.0
    assert t.on_exit(0, 1, 0) == RestartAfter(0.1)


def test_update_policy_keeps_count_and_backoff() -> None:
    """docker update --restart changes the policy in place (Docker's SetPolicy)."""
    t = RestartTracker(ALWAYS)
    t.on_exit(0, 1, 0)
    t.on_exit(0, 1, 0)
    t.update_policy(RestartPolicy("on-failure", 3))
    assert t.on_exit(0, 1, 0) == RestartAfter(0.4)
    assert isinstance(t.on_exit(0, 1, 0), GiveUp)
    t.update_policy(NO)
    assert t.on_exit(0, 1, 0) == Stay(Reason.POLICY_NO)


def test_invalid_policy_refused() -> None:
    """The tracker validates its policy with Docker's rules."""
    with pytest.raises(InvalidArgument):
        RestartTracker(RestartPolicy("sometimes"))
    t = RestartTracker(NO)
    with pytest.raises(InvalidArgument):
        t.update_policy(RestartPolicy("always", 3))


class TestStartLimit:
    LIMIT = RestartTuning(limit=StartLimit(burst=3, window=10.0))

    def test_gives_up_on_the_fourth_restart_inside_the_window(self) -> None:
        """3/10s: three restarts begin inside 10 s, the fourth is refused."""
        t = RestartTracker(ALWAYS, self.LIMIT)
        now = 0.0
        for expected in (0.1, 0.2, 0.4):
            d = t.on_exit(now, 1, 0)
            assert d == RestartAfter(expected)
            now += expected
        d = t.on_exit(now, 1, 0)
        assert isinstance(d, GiveUp) and d.reason is Reason.START_LIMIT_HIT
        assert d.message == "gave up restarting: 3 restarts within 10s (berth.restart.limit=3/10s)"
        assert t.restart_count == 3

    def test_restarts_spread_out_are_allowed(self) -> None:
        """Restarts that begin more than WINDOW apart never hit the limit."""
        t = RestartTracker(ALWAYS, self.LIMIT)
        now = 0.0
        for _ in range(10):
            d = t.on_exit(now, 1, 20.0)
            assert d == RestartAfter(0.1)
            now += 0.1 + 4.0
        assert t.restart_count == 10

    def test_reset_forgets_the_history(self) -> None:
        """An API start clears the start history."""
        t = RestartTracker(ALWAYS, self.LIMIT)
        for _ in range(3):
            t.on_exit(0, 1, 0)
        t.reset()
        assert isinstance(t.on_exit(0, 1, 0), RestartAfter)

    def test_retry_limit_wins_over_start_limit(self) -> None:
        """on-failure's count is checked before the start limit."""
        t = RestartTracker(RestartPolicy("on-failure", 1), self.LIMIT)
        t.on_exit(0, 1, 0)
        d = t.on_exit(0, 1, 0)
        assert isinstance(d, GiveUp) and d.reason is Reason.RETRIES_EXHAUSTED


class TestStartFailed:
    def test_counts_as_a_failed_run_with_backoff(self) -> None:
        """A failed policy restart is retried with a growing delay (Docker would give up)."""
        t = RestartTracker(ALWAYS)
        assert t.on_exit(0, 1, 0) == RestartAfter(0.1)
        assert t.on_start_failed(0.1) == RestartAfter(0.2)
        assert t.on_start_failed(0.3) == RestartAfter(0.4)
        assert t.restart_count == 3

    def test_consumes_on_failure_retries(self) -> None:
        """Under on-failure:2 failed starts use up the retries."""
        t = RestartTracker(ON_FAILURE_2)
        t.on_exit(0, 1, 0)
        t.on_start_failed(0)
        d = t.on_start_failed(0)
        assert isinstance(d, GiveUp) and d.reason is Reason.RETRIES_EXHAUSTED

    def test_after_cancel_stays(self) -> None:
        """A cancel (stop during backoff) wins over a failed start."""
        t = RestartTracker(ALWAYS)
        t.on_exit(0, 1, 0)
        t.cancel()
        assert t.on_start_failed(0) == Stay(Reason.CANCELLED)


class TestUnhealthy:
    ON = RestartTuning(restart_on_unhealthy=True)

    def test_not_enabled_stays(self) -> None:
        """Without the label an unhealthy container is left alone (Docker's behaviour)."""
        t = RestartTracker(ALWAYS)
        assert t.on_unhealthy(0, 100.0) == Stay(Reason.UNHEALTHY_IGNORED)
        assert t.restart_count == 0

    def test_policy_no_stays(self) -> None:
        """With policy no the label does nothing."""
        t = RestartTracker(NO, self.ON)
        assert t.on_unhealthy(0, 100.0) == Stay(Reason.POLICY_NO)

    def test_restart_is_pending_until_the_exit(self) -> None:
        """on_unhealthy decides once; the exit that follows returns the same decision."""
        t = RestartTracker(ON_FAILURE, self.ON)
        d = t.on_unhealthy(0, 100.0)
        assert d == RestartAfter(0.1)
        assert t.pending == d
        assert t.on_unhealthy(1, 101.0) == d  # idempotent
        assert t.restart_count == 1
        assert t.on_exit(2, 143, 102.0) == d  # the stop's exit code does not matter
        assert t.pending is None
        assert t.restart_count == 1

    def test_within_the_retry_limit(self) -> None:
        """Unhealthy restarts count against on-failure:N."""
        t = RestartTracker(RestartPolicy("on-failure", 1), self.ON)
        assert isinstance(t.on_unhealthy(0, 100.0), RestartAfter)
        t.on_exit(0, 0, 100.0)
        d = t.on_unhealthy(0, 100.0)
        assert isinstance(d, GiveUp) and d.reason is Reason.RETRIES_EXHAUSTED

    def test_manual_stop_during_the_unhealthy_stop_wins(self) -> None:
        """A cancel while the unhealthy restart is pending means no restart."""
        t = RestartTracker(ALWAYS, self.ON)
        t.on_unhealthy(0, 100.0)
        t.cancel()
        assert t.pending is None
        assert t.on_exit(0, 137, 100.0) == Stay(Reason.CANCELLED)

    def test_shutdown_during_the_unhealthy_stop_stays(self) -> None:
        """A daemon shutdown overrides a pending unhealthy restart."""
        t = RestartTracker(ALWAYS, self.ON)
        t.on_unhealthy(0, 100.0)
        assert t.on_exit(0, 143, 100.0, False, True) == Stay(Reason.SHUTDOWN)


def test_reason_descriptions() -> None:
    """Every reason has a human phrase for inspect and logs."""
    for reason in Reason:
        assert reason.describe()


@given(
    st.integers(min_value=1, max_value=5),
    st.lists(st.tuples(st.integers(-1, 255), st.floats(0, 30)), max_size=30),
)
def test_on_failure_never_exceeds_its_maximum(n: int, exits: list[tuple[int, float]]) -> None:
    """Whatever the exits, on-failure:N decides at most N restarts."""
    t = RestartTracker(RestartPolicy("on-failure", n))
    restarts = sum(isinstance(t.on_exit(0, code, dur), RestartAfter) for code, dur in exits)
    assert restarts == t.restart_count <= n


class TrackerMachine(RuleBasedStateMachine):
    """Random facts against a model of Docker's rules."""

    def __init__(self) -> None:
        super().__init__()
        self.policy = ALWAYS
        self.t = RestartTracker(self.policy, RestartTuning(restart_on_unhealthy=True))
        self.cancelled = False
        self.count = 0
        self.pending = False

    @rule(policy=st.sampled_from([NO, ALWAYS, UNLESS, ON_FAILURE, ON_FAILURE_2]))
    def update(self, policy: RestartPolicy) -> None:
        self.policy = policy
        self.t.update_policy(policy)

    @rule(code=st.integers(0, 3), dur=st.floats(0, 20), manual=st.booleans())
    def exit(self, code: int, dur: float, manual: bool) -> None:
        was_pending, self.pending = self.pending, False
        d = self.t.on_exit(0, code, dur, manual)
        if was_pending:
            assert isinstance(d, RestartAfter)
            return
        if self.policy == NO:
            assert d == Stay(Reason.POLICY_NO)
        elif self.cancelled:
            assert d == Stay(Reason.CANCELLED)
        elif self.policy == UNLESS and manual:
            assert d == Stay(Reason.MANUALLY_STOPPED)
        elif self.policy.name == "on-failure" and code == 0:
            assert d == Stay(Reason.EXIT_SUCCESS)
        elif self.policy == ON_FAILURE_2 and self.count >= 2:
            assert isinstance(d, GiveUp)
        else:
            assert isinstance(d, RestartAfter)
            self.count += 1

    @precondition(lambda self: not self.pending)
    @rule()
    def unhealthy(self) -> None:
        d = self.t.on_unhealthy(0, 50.0)
        if isinstance(d, RestartAfter):
            self.pending = True
            self.count += 1

    @rule()
    def cancel(self) -> None:
        self.t.cancel()
        self.cancelled = True
        self.pending = False

    @rule()
    def reset(self) -> None:
        self.t.reset()
        self.cancelled = False
        self.count = 0
        self.pending = False

    @invariant()
    def count_matches(self) -> None:
        assert self.t.restart_count == self.count
        assert 0.0 <= self.t.current_delay <= 60.0


TestTrackerMachine = TrackerMachine.TestCase
TestTrackerMachine.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
