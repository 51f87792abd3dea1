"""The restart decision for one container: facts in, decisions out (h11 style).

Rules:

1. The tracker never sleeps, starts or reads a clock. The container's task
   tells it what happened (``on_exit``, ``on_unhealthy``, ``on_start_failed``,
   ``cancel``, ``reset``, ``update_policy``) with ``now`` in monotonic
   seconds, and gets back one of three decisions:

   - ``RestartAfter(delay)``: set the container restarting, emit ``die``,
     sleep ``delay``, start it again (``start``; no ``restart`` event).
   - ``GiveUp(reason, message)``: the policy wanted a restart but a limit
     forbids it (retries exhausted, start limit hit); record ``message`` as
     the reason the container is down (inspect ``State.Error``).
   - ``Stay(reason)``: the policy does not restart this exit (policy ``no``,
     stopped by hand, exit 0 under on-failure, daemon shutdown).

2. ``on_exit`` is Docker's ``RestartManager.ShouldRestart`` in this order:
   policy ``no`` → Stay; daemon shutting down → Stay (berth: Docker gets
   the same effect because its shutdown stop cancels the manager);
   cancelled → Stay; then the backoff is updated (BEFORE the policy check,
   so even an exit that is not restarted advances it); then the policy:
   ``always`` restarts whatever the manual-stop flag says, ``unless-stopped``
   restarts unless stopped by hand, ``on-failure`` restarts a non-zero exit
   while ``restart_count < MaximumRetryCount`` (0 = unlimited).
3. ``restart_count`` is Docker's ``RestartCount``: seeded from the persisted
   value (so ``on-failure:N`` survives a daemon restart, moby#20853),
   incremented when a restart is DECIDED (so it already counts the pending
   attempt while the container is "Restarting"), zeroed only by ``reset``
   (an API start or restart).
4. ``cancel`` (a manual stop or kill) is permanent until ``reset``: the next
   exit is never restarted, whatever the policy.

Beyond Docker (each one documented because it differs on purpose):

- berth's start limit (label ``berth.restart.limit=N/WINDOW``): a restart
  that would be the (N+1)th policy restart to begin inside WINDOW seconds is
  refused with ``GiveUp(START_LIMIT_HIT)``, like systemd's StartLimitBurst.
  A restart "begins" at ``now + delay``; only policy restarts count and
  ``reset`` forgets them.
- ``on_start_failed``: when the start of a policy restart fails (a port in
  use, a missing bind source), Docker sets the container stopped and never
  tries again. berth counts it as a failed run of length 0 (exit status
  ``START_FAILED_EXIT``) and decides again: within the policy's retry limit
  and start limit, with the backoff growing. An ``always`` container whose
  port is taken therefore keeps trying every minute at most, instead of
  staying down until someone notices.
- ``on_unhealthy`` (label ``berth.restart-on-unhealthy=true``, moby#28400):
  an unhealthy container counts as a failed run (exit status
  ``UNHEALTHY_EXIT``), decided like an exit. A ``RestartAfter`` is kept
  pending: the task stops the container (stop signal, timeout, kill), and
  the exit that follows returns that same decision from ``on_exit`` without
  counting twice (a cancel or a daemon shutdown in between drops it; the
  count it took stays, as Docker's count stays when a restart it decided is
  cancelled during the backoff). ``GiveUp`` here means "leave it running,
  unhealthy".
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

from supervisor.engine.model import RestartPolicy
from supervisor.restart.backoff import Backoff
from supervisor.restart.labels import DEFAULT_TUNING, LABEL_LIMIT, RestartTuning, format_seconds
from supervisor.restart.policy import (
    ALWAYS,
    ON_FAILURE,
    UNLESS_STOPPED,
    format_restart_policy,
    is_none,
    validate_restart_policy,
)

# Exit statuses that stand for runs that did not end by themselves.
START_FAILED_EXIT = 128  # Docker's code for a start that failed for another reason
UNHEALTHY_EXIT = 1


class Reason(enum.Enum):
    """Why a container was not restarted."""

    POLICY_NO = "policy-no"
    MANUALLY_STOPPED = "manually-stopped"
    EXIT_SUCCESS = "exit-success"
    RETRIES_EXHAUSTED = "retries-exhausted"
    START_LIMIT_HIT = "start-limit-hit"
    SHUTDOWN = "shutdown"
    CANCELLED = "cancelled"
    UNHEALTHY_IGNORED = "unhealthy-ignored"

    def describe(self) -> str:
        """A short phrase for logs and inspect."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Reason.POLICY_NO: "restart policy is no",
    Reason.MANUALLY_STOPPED: "stopped by hand",
    Reason.EXIT_SUCCESS: "exited successfully",
    Reason.RETRIES_EXHAUSTED: "retries exhausted",
    Reason.START_LIMIT_HIT: "start limit hit",
    Reason.SHUTDOWN: "daemon shutting down",
    Reason.CANCELLED: "stopped by hand",
    Reason.UNHEALTHY_IGNORED: "restart on unhealthy is not enabled",
}


@dataclass(frozen=True, slots=True)
class RestartAfter:
    """Restart the container after ``delay`` seconds."""

    delay: float


@dataclass(frozen=True, slots=True)
class GiveUp:
    """The policy would restart, but a limit forbids it; ``message`` says which."""

    reason: Reason
    message: str = ""


@dataclass(frozen=True, slots=True)
class Stay:
    """The policy does not restart this exit."""

    reason: Reason


Decision = RestartAfter | GiveUp | Stay


class RestartTracker:
    """One container's restart state: policy, count, backoff, cancel flag, start history."""

    def __init__(
        self,
        policy: RestartPolicy,
        tuning: RestartTuning = DEFAULT_TUNING,
        restart_count: int = 0,
    ) -> None:
        """Args:
        policy: the container's restart policy (validated here).
        tuning: the container's restart labels (``parse_restart_labels``).
        restart_count: the persisted RestartCount to continue from.
        """
        validate_restart_policy(policy)
        self._policy = policy
        self._tuning = tuning
        self._count = max(0, restart_count)
        self._backoff = Backoff(tuning)
        self._cancelled = False
        self._pending: RestartAfter | None = None
        self._starts: deque[float] = deque(maxlen=tuning.limit.burst if tuning.limit else 0)

    # --- read-only facts ----------------------------------------------------------

    @property
    def policy(self) -> RestartPolicy:
        return self._policy

    @property
    def tuning(self) -> RestartTuning:
        return self._tuning

    @property
    def restart_count(self) -> int:
        """Docker's RestartCount (persist it after every decision)."""
        return self._count

    @property
    def cancelled(self) -> bool:
        """True after ``cancel`` until ``reset``: no exit will be restarted."""
        return self._cancelled

    @property
    def current_delay(self) -> float:
        """The backoff chosen at the last evaluated exit (0.0 if none since the last reset)."""
        return self._backoff.current

    @property
    def pending(self) -> RestartAfter | None:
        """The restart decided by ``on_unhealthy`` that waits for the run's exit."""
        return self._pending

    # --- facts in, decisions out ------------------------------------------------------

    def on_exit(
        self,
        now: float,
        exit_code: int,
        run_duration: float,
        manually_stopped: bool = False,
        daemon_shutting_down: bool = False,
    ) -> Decision:
        """The run ended with ``exit_code`` after ``run_duration`` seconds; restart it?

        Args:
            now: monotonic seconds at exit processing.
            exit_code: the process's exit status (128+N for a signal).
            run_duration: seconds since the run started (Docker: now - StartedAt).
            manually_stopped: the persisted "stopped by hand" flag (unless-stopped reads it).
            daemon_shutting_down: the exit is part of a graceful daemon shutdown.
        """
        pending, self._pending = self._pending, None
        if pending is not None and not daemon_shutting_down:
            return pending  # the exit of a restart already decided for an unhealthy run
        return self._decide(now, exit_code, run_duration, manually_stopped, daemon_shutting_down)

    def on_unhealthy(self, now: float, run_duration: float) -> Decision:
        """The health status became unhealthy (``berth.restart-on-unhealthy``).

        Returns ``RestartAfter`` when the task should stop the container now
        and restart it after the delay; ``Stay``/``GiveUp`` to leave it running.
        Idempotent while a restart is pending.
        """
        if self._pending is not None:
            return self._pending
        if not self._tuning.restart_on_unhealthy:
            return Stay(Reason.UNHEALTHY_IGNORED)
        decision = self._decide(now, UNHEALTHY_EXIT, run_duration, False, False)
        if isinstance(decision, RestartAfter):
            self._pending = decision
        return decision

    def on_start_failed(self, now: float) -> Decision:
        """A policy restart's start failed: a failed run of length 0 (Docker would give up)."""
        self._pending = None
        return self._decide(now, START_FAILED_EXIT, 0.0, False, False)

    def cancel(self) -> None:
        """A manual stop or kill: the next exit is never restarted (until ``reset``)."""
        self._cancelled = True
        self._pending = None

    def reset(self) -> None:
        """An API start or restart: RestartCount 0, fresh backoff, no cancel, no start history."""
        self._count = 0
        self._backoff.reset()
        self._cancelled = False
        self._pending = None
        self._starts.clear()

    def update_policy(self, policy: RestartPolicy) -> None:
        """``docker update --restart``: a new policy; count and backoff carry on (Docker's SetPolicy)."""
        validate_restart_policy(policy)
        self._policy = policy

    # --- the decision ---------------------------------------------------------------

    def _decide(
        self, now: float, exit_code: int, run_duration: float, manual: bool, shutting_down: bool
    ) -> Decision:
        policy = self._policy
        if is_none(policy):
            return Stay(Reason.POLICY_NO)
        if shutting_down:
            return Stay(Reason.SHUTDOWN)
        if self._cancelled:
            return Stay(Reason.CANCELLED)
        delay = self._backoff.advance(run_duration)
        if policy.name == UNLESS_STOPPED and manual:
            return Stay(Reason.MANUALLY_STOPPED)
        if policy.name == ON_FAILURE:
            if exit_code == 0:
                return Stay(Reason.EXIT_SUCCESS)
            limit = policy.maximum_retry_count
            if limit and self._count >= limit:
                msg = (
                    f"gave up restarting: maximum retry count {limit} reached "
                    f"(restart policy {format_restart_policy(policy)})"
                )
                return GiveUp(Reason.RETRIES_EXHAUSTED, msg)
        assert policy.name in (ALWAYS, UNLESS_STOPPED, ON_FAILURE), policy
        start_limit = self._tuning.limit
        begins = now + delay
        if start_limit is not None:
            if (
                len(self._starts) >= start_limit.burst
                and begins - self._starts[0] < start_limit.window
            ):
                msg = (
                    f"gave up restarting: {start_limit.burst} restarts within "
                    f"{format_seconds(start_limit.window)} ({LABEL_LIMIT}={start_limit})"
                )
                return GiveUp(Reason.START_LIMIT_HIT, msg)
            self._starts.append(begins)
        self._count += 1
        return RestartAfter(delay)
