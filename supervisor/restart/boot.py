"""Which containers come back when the daemon starts (docker-semantics.md §1.5).

Rules (Docker's restore calls the same ``ShouldRestart`` with the persisted
exit code, manual-stop flag and RestartCount, on a fresh manager):

1. Never-started containers stay created, whatever the policy.
2. ``no``: never.
3. ``always``: always, even if it had been stopped by hand (documented by
   Docker: a manually stopped ``always`` container comes back when the
   daemon restarts).
4. ``unless-stopped``: unless the persisted manual-stop flag is set. berth's
   engine only sets that flag for signals meant to end the container, so a
   ``kill -s HUP`` does not keep it down (fixes moby#41302, moby#47792), and
   a graceful daemon shutdown never sets it.
5. ``on-failure[:N]``: when the persisted exit code is not 0 and retries
   remain (``restart_count < N``, or N = 0 for unlimited). This is what
   Docker's code does (not what its docs say, docker/docs#18228): an exit of
   255 after a host crash or 137/143 after a stop counts as a failure.
6. A container that is being removed or is dead never starts.

The caller applies the start with a reset tracker (RestartCount 0), as
Docker's restore start does.
"""

from __future__ import annotations

from supervisor.engine.model import RestartPolicy, State
from supervisor.restart.policy import ALWAYS, ON_FAILURE, UNLESS_STOPPED, is_none


def should_start_at_boot(policy: RestartPolicy, state: State, *, started_before: bool) -> bool:
    """Whether the daemon starts this container while booting.

    Args:
        policy: the container's restart policy.
        state: the persisted state, after vanished runs were recorded exited.
        started_before: the container ran at least once (Docker's HasBeenStartedBefore).
    """
    if not started_before or is_none(policy) or state.removing or state.dead:
        return False
    if policy.name == ALWAYS:
        return True
    if policy.name == UNLESS_STOPPED:
        return not state.manually_stopped
    if policy.name == ON_FAILURE:
        limit = policy.maximum_retry_count
        return state.exit_code != 0 and (limit == 0 or state.restart_count < limit)
    return False
