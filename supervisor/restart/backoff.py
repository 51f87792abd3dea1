"""Docker's restart backoff, with its constants turned into per-container tuning.

Rules (moby daemon/internal/restartmanager, ``ShouldRestart`` step 3):

1. The delay is updated on EVERY evaluated exit, before the policy is even
   consulted, so an exit that is not restarted still advances it.
2. A run that lasted at least ``reset_after`` (Docker: 10 s) starts over:
   the previous delay is forgotten.
3. With no previous delay the next one is ``delay`` (Docker: 100 ms);
   otherwise it doubles while below ``max_delay`` (Docker: 1 min), and the
   result is clamped to ``max_delay``. A crash loop therefore waits
   0.1, 0.2, 0.4, ... 51.2, 60, 60 ... seconds.
4. The state is one float, kept in memory only: a fresh tracker (API start,
   daemon restart) starts again at ``delay``, as Docker's fresh manager does.

Doubling a binary float is exact, so the default sequence is exactly
0.1 * 2**k and tests can compare with ``==``.
"""

from __future__ import annotations

from supervisor.restart.labels import DEFAULT_TUNING, RestartTuning

BACKOFF_MULTIPLIER = 2


def next_delay(
    previous: float, run_duration: float, tuning: RestartTuning = DEFAULT_TUNING
) -> float:
    """The delay before the next restart, given the last one (0 = none yet) and the run's length.

    Args:
        previous: the delay chosen at the previous exit, 0.0 if there was none.
        run_duration: how long the run that just ended lasted, in seconds.
        tuning: the container's delay, max-delay and reset-after.
    """
    if run_duration >= tuning.reset_after:
        previous = 0.0
    if previous <= 0.0:
        delay = tuning.delay
    elif previous < tuning.max_delay:
        delay = previous * BACKOFF_MULTIPLIER
    else:
        delay = previous
    return min(delay, tuning.max_delay)


class Backoff:
    """The mutable holder of one container's current delay (see ``next_delay``)."""

    __slots__ = ("current", "tuning")

    def __init__(self, tuning: RestartTuning = DEFAULT_TUNING) -> None:
        self.tuning = tuning
        self.current = 0.0

    def advance(self, run_duration: float) -> float:
        """Record an exit after a run of ``run_duration`` seconds; return the new delay."""
        self.current = next_delay(self.current, run_duration, self.tuning)
        return self.current

    def reset(self) -> None:
        """Forget the history: the next delay is the initial one."""
        self.current = 0.0
