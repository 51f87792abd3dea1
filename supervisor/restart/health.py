"""Health checks as a pure state machine (docker-semantics.md §7; moby daemon/health.go).

Rules:

1. A (re)start sets the status to ``starting`` and the failing streak to 0;
   the result log survives restarts, as in Docker.
2. The wait before a probe is measured from the end of the previous one
   (and from the start of the container before the first): ``start_interval``
   while the container is inside its start period AND still ``starting``,
   ``interval`` otherwise. With the default start period 0 the first probe
   runs ``interval`` (30 s) after the start.
3. A result with exit code 0 sets the streak to 0 and the status to
   ``healthy``. Any other code (1, the reserved 2, -1 for timeouts and
   errors) is a failure: while ``starting``, a failure whose probe STARTED
   inside the start period is not counted; otherwise the streak grows, and
   reaching ``retries`` makes the status ``unhealthy``. Below that the
   status does not change (``healthy`` stays healthy, ``starting`` stays
   starting, and ``unhealthy`` stays unhealthy until a success).
4. A ``health_status: <status>`` event is due only when the status changed;
   ``starting`` is never published (it is only ever set by a start).
5. When the monitor stops (exit, stop, pause) the status becomes
   ``unhealthy`` without an event, Docker's "compatibility" quirk: exited
   and paused containers with a healthcheck inspect as unhealthy.
6. The last 5 results are kept, oldest first.

``TRANSITIONS`` below is the table of rule 3; ``on_result`` classifies the
result and looks the new status up, so a missing pair is a bug, not a guess.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from supervisor.engine.model import HealthConfig
from supervisor.errors import InvalidArgument, InvalidTransition

DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_START_PERIOD = 0.0
DEFAULT_START_INTERVAL = 5.0
DEFAULT_RETRIES = 3
MAX_LOG_ENTRIES = 5
MINIMUM_DURATION_NS = 1_000_000  # Docker's containertypes.MinimumDuration (1ms)
DEFAULT_SHELL = ("/bin/sh", "-c")


class HealthStatus(enum.Enum):
    """Docker's State.Health.Status (``none`` is the ps filter value for no healthcheck)."""

    STARTING = "starting"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe: unix-nanosecond start and end, exit code (-1: timeout or error), output."""

    start_ns: int
    end_ns: int
    exit_code: int
    output: str


@dataclass(frozen=True, slots=True)
class HealthState:
    """Docker's State.Health: status, consecutive failures, the last results."""

    status: HealthStatus = HealthStatus.STARTING
    failing_streak: int = 0
    log: tuple[ProbeResult, ...] = ()


@dataclass(frozen=True, slots=True)
class EffectiveHealth:
    """A healthcheck with Docker's defaults filled in; durations in seconds."""

    argv: tuple[str, ...]
    interval: float = DEFAULT_INTERVAL
    timeout: float = DEFAULT_TIMEOUT
    start_period: float = DEFAULT_START_PERIOD
    start_interval: float = DEFAULT_START_INTERVAL
    retries: int = DEFAULT_RETRIES


# --- config ----------------------------------------------------------------------------


def validate_health_config(hc: HealthConfig | None) -> None:
    """dockerd's create-time checks, with its messages (0 always means "default").

    Raises:
        InvalidArgument: a duration between 0 and 1ms (or negative), or negative retries.
    """
    if hc is None:
        return
    for name, value in (("Interval", hc.interval), ("Timeout", hc.timeout)):
        if value != 0 and value < MINIMUM_DURATION_NS:
            msg = f"{name} in Healthcheck cannot be less than 1ms"
            raise InvalidArgument(msg)
    if hc.retries < 0:
        msg = "Retries in Healthcheck cannot be negative"
        raise InvalidArgument(msg)
    for name, value in (("StartPeriod", hc.start_period), ("StartInterval", hc.start_interval)):
        if value != 0 and value < MINIMUM_DURATION_NS:
            msg = f"{name} in Healthcheck cannot be less than 1ms"
            raise InvalidArgument(msg)


def _seconds(ns: int, default: float) -> float:
    return ns / 1e9 if ns > 0 else default


def health_config_effective(
    hc: HealthConfig | None, shell: tuple[str, ...] = ()
) -> EffectiveHealth | None:
    """The probe to run, or None when there is none (no test, ``NONE``, an unknown kind).

    ``CMD`` runs its arguments directly; ``CMD-SHELL`` runs them through the
    container's shell (``spec.shell``, else ``/bin/sh -c``). An unknown first
    element disables the probe, as Docker does (it only logs a warning).
    """
    if hc is None or not hc.test:
        return None
    kind, args = hc.test[0], tuple(hc.test[1:])
    if kind == "CMD":
        argv = args
    elif kind == "CMD-SHELL":
        argv = (*(shell or DEFAULT_SHELL), *args)
    else:
        return None
    return EffectiveHealth(
        argv=argv,
        interval=_seconds(hc.interval, DEFAULT_INTERVAL),
        timeout=_seconds(hc.timeout, DEFAULT_TIMEOUT),
        start_period=_seconds(hc.start_period, DEFAULT_START_PERIOD),
        start_interval=_seconds(hc.start_interval, DEFAULT_START_INTERVAL),
        retries=hc.retries if hc.retries > 0 else DEFAULT_RETRIES,
    )


# --- scheduling --------------------------------------------------------------------------


def next_probe_delay(cfg: EffectiveHealth, state: HealthState, since_start_s: float) -> float:
    """Seconds to wait (from the end of the last probe) before the next one.

    Args:
        since_start_s: seconds since the container started, now.
    """
    if since_start_s < cfg.start_period and state.status is HealthStatus.STARTING:
        return cfg.start_interval
    return cfg.interval


# --- results -----------------------------------------------------------------------------


class Outcome(enum.Enum):
    """How one result counts."""

    PASS = "pass"
    FAIL_IN_START_PERIOD = "fail-in-start-period"  # not counted
    FAIL = "fail"  # counted, streak still below retries
    FAIL_RETRIES = "fail-retries"  # counted, streak reached retries


S = HealthStatus
TRANSITIONS: dict[tuple[HealthStatus, Outcome], HealthStatus] = {
    (S.STARTING, Outcome.PASS): S.HEALTHY,
    (S.STARTING, Outcome.FAIL_IN_START_PERIOD): S.STARTING,
    (S.STARTING, Outcome.FAIL): S.STARTING,
    (S.STARTING, Outcome.FAIL_RETRIES): S.UNHEALTHY,
    (S.HEALTHY, Outcome.PASS): S.HEALTHY,
    (S.HEALTHY, Outcome.FAIL): S.HEALTHY,
    (S.HEALTHY, Outcome.FAIL_RETRIES): S.UNHEALTHY,
    (S.UNHEALTHY, Outcome.PASS): S.HEALTHY,
    (S.UNHEALTHY, Outcome.FAIL): S.UNHEALTHY,
    (S.UNHEALTHY, Outcome.FAIL_RETRIES): S.UNHEALTHY,
}


def classify(
    cfg: EffectiveHealth,
    state: HealthState,
    result: ProbeResult,
    since_start_at_probe_start_s: float,
) -> Outcome:
    """Which row of ``TRANSITIONS`` a result falls into."""
    if result.exit_code == 0:
        return Outcome.PASS
    if state.status is S.STARTING and since_start_at_probe_start_s < cfg.start_period:
        return Outcome.FAIL_IN_START_PERIOD
    if state.failing_streak + 1 >= cfg.retries:
        return Outcome.FAIL_RETRIES
    return Outcome.FAIL


def on_result(
    cfg: EffectiveHealth,
    state: HealthState,
    result: ProbeResult,
    since_start_at_probe_start_s: float,
) -> tuple[HealthState, HealthStatus | None]:
    """Fold one probe result into the state.

    Args:
        since_start_at_probe_start_s: seconds from the container's start to the probe's start.

    Returns:
        The new state, and the status to publish as ``health_status: <s>``
        (None when the status did not change).

    Raises:
        InvalidTransition: a result for a state with no healthcheck (``NONE``).
    """
    outcome = classify(cfg, state, result, since_start_at_probe_start_s)
    new_status = TRANSITIONS.get((state.status, outcome))
    if new_status is None:
        msg = f"health result {outcome.value} cannot apply to a container whose health is {state.status.value}"
        raise InvalidTransition(msg)
    if outcome is Outcome.PASS:
        streak = 0
    elif outcome is Outcome.FAIL_IN_START_PERIOD:
        streak = state.failing_streak
    else:
        streak = state.failing_streak + 1
    log = (*state.log, result)[-MAX_LOG_ENTRIES:]
    new = HealthState(status=new_status, failing_streak=streak, log=log)
    return new, (new_status if new_status is not state.status else None)


def on_monitor_stopped(state: HealthState) -> HealthState:
    """The probe loop stopped (exit, stop, pause): unhealthy, with no event (Docker's quirk)."""
    return replace(state, status=HealthStatus.UNHEALTHY)


def on_container_started(state: HealthState | None = None) -> HealthState:
    """A (re)start: starting, streak 0; an earlier log is kept."""
    return HealthState(
        status=HealthStatus.STARTING, failing_streak=0, log=state.log if state else ()
    )
