"""The container state machine, as data.

Rule 1: every change of a container's ``State`` goes through ``apply`` here.
Rule 2: this module decides, it never does: no I/O, no clock (``now`` is an
argument, unix nanoseconds), no trio.

``TRANSITIONS`` lists which facts are legal in which status; a fact that is
not legal raises ``InvalidTransition`` and leaves the state unchanged. The
field updates follow moby's daemon/container/state.go (setRunning,
SetStopped, SetRestarting, ...).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass

from supervisor.engine.model import State, Status
from supervisor.errors import InvalidTransition


class Fact(enum.Enum):
    """Things that happen to a container."""

    STARTED = "started"
    START_FAILED = "start_failed"
    EXITED = "exited"
    RESTARTING = "restarting"
    PAUSED = "paused"
    UNPAUSED = "unpaused"
    REMOVING = "removing"
    REMOVE_FAILED = "remove_failed"
    DIED_UNSEEN = "died_unseen"


_ALL_STOPPED = {Status.CREATED, Status.EXITED, Status.DEAD}
TRANSITIONS: dict[Fact, frozenset[Status]] = {
    Fact.STARTED: frozenset(_ALL_STOPPED | {Status.RESTARTING}),
    Fact.START_FAILED: frozenset(_ALL_STOPPED | {Status.RESTARTING}),
    Fact.EXITED: frozenset({Status.RUNNING, Status.PAUSED, Status.RESTARTING}),
    Fact.RESTARTING: frozenset({Status.RUNNING, Status.PAUSED}),
    Fact.PAUSED: frozenset({Status.RUNNING}),
    Fact.UNPAUSED: frozenset({Status.PAUSED}),
    Fact.REMOVING: frozenset(_ALL_STOPPED),
    Fact.REMOVE_FAILED: frozenset({Status.REMOVING}),
    Fact.DIED_UNSEEN: frozenset({Status.RUNNING, Status.PAUSED, Status.RESTARTING}),
}


@dataclass(frozen=True, slots=True)
class Change:
    """The details a fact carries (only the ones it needs are read)."""

    now: int = 0
    pid: int = 0
    pid_start: int = 0
    exit_code: int = 0
    error: str = ""


def allowed(status: Status, fact: Fact) -> bool:
    return status in TRANSITIONS[fact]


def apply(state: State, fact: Fact, change: Change | None = None) -> State:
    """Return the state after ``fact``; raise InvalidTransition if it is not legal now."""
    c = change or Change()
    status = state.status
    if status not in TRANSITIONS[fact]:
        msg = f"cannot apply {fact.value} to a container that is {status.value}"
        raise InvalidTransition(msg)
    r = dataclasses.replace
    match fact:
        case Fact.STARTED:
            return r(
                state, running=True, paused=False, restarting=False, dead=False,
                oom_killed=False, error="", exit_code=0, pid=c.pid, pid_start=c.pid_start,
                started_at=c.now, manually_stopped=False, stop_reason="",
            )
        case Fact.START_FAILED:
            # Docker keeps the container created/exited and records why.
            return r(
                state, running=False, paused=False, restarting=False, pid=0, pid_start=0,
                error=c.error, exit_code=c.exit_code,
                finished_at=c.now if state.started_at else state.finished_at,
            )
        case Fact.EXITED | Fact.DIED_UNSEEN:
            return r(
                state, running=False, paused=False, restarting=False, pid=0, pid_start=0,
                exit_code=c.exit_code, finished_at=c.now,
            )
        case Fact.RESTARTING:
            return r(
                state, running=True, paused=False, restarting=True, pid=0, pid_start=0,
                exit_code=c.exit_code, finished_at=c.now,
            )
        case Fact.PAUSED:
            return r(state, paused=True)
        case Fact.UNPAUSED:
            return r(state, paused=False)
        case Fact.REMOVING:
            return r(state, removing=True)
        case Fact.REMOVE_FAILED:
            return r(state, removing=False, dead=True)
    raise AssertionError(fact)  # pragma: no cover
