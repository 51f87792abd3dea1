"""Which containers the daemon starts at boot (docker-semantics.md §1.5)."""

from __future__ import annotations

import pytest

from supervisor.engine.model import RestartPolicy, State
from supervisor.restart.boot import should_start_at_boot

EXITED = State(started_at=1, finished_at=2)


@pytest.mark.parametrize(
    ("policy", "state", "started_before", "expected"),
    [
        # never-started containers stay created, whatever the policy
        (RestartPolicy("always"), State(), False, False),
        (RestartPolicy("unless-stopped"), State(), False, False),
        (RestartPolicy("on-failure"), State(exit_code=1), False, False),
        # no: never
        (RestartPolicy("no"), State(started_at=1, exit_code=1), True, False),
        (RestartPolicy(""), State(started_at=1, exit_code=1), True, False),
        # always: even when stopped by hand
        (RestartPolicy("always"), EXITED, True, True),
        (RestartPolicy("always"), State(started_at=1, manually_stopped=True), True, True),
        # unless-stopped: unless stopped by hand
        (RestartPolicy("unless-stopped"), EXITED, True, True),
        (RestartPolicy("unless-stopped"), State(started_at=1, exit_code=255), True, True),
        (RestartPolicy("unless-stopped"), State(started_at=1, manually_stopped=True), True, False),
        # on-failure: persisted exit code != 0 and retries remain
        (RestartPolicy("on-failure"), State(started_at=1, exit_code=0), True, False),
        (RestartPolicy("on-failure"), State(started_at=1, exit_code=255), True, True),
        (
            RestartPolicy("on-failure"),
            State(started_at=1, exit_code=143, restart_count=99),
            True,
            True,
        ),
        (
            RestartPolicy("on-failure", 3),
            State(started_at=1, exit_code=137, restart_count=2),
            True,
            True,
        ),
        (
            RestartPolicy("on-failure", 3),
            State(started_at=1, exit_code=137, restart_count=3),
            True,
            False,
        ),
        # removing / dead never come back
        (RestartPolicy("always"), State(started_at=1, dead=True), True, False),
        (RestartPolicy("always"), State(started_at=1, removing=True), True, False),
    ],
)
def test_boot_rules(
    policy: RestartPolicy, state: State, started_before: bool, expected: bool
) -> None:
    """Each policy and persisted state against Docker's restore rules."""
    assert should_start_at_boot(policy, state, started_before=started_before) is expected
