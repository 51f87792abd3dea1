"""Restart and health decisions driven by a tiny trio loop on the autojump clock.

The loop below stands in for the container's task: it "runs" a scripted
process (a sleep), feeds the exit to the tracker, and sleeps the decided
delay. Virtual time makes every delay and every give-up exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import trio

from supervisor.engine.model import RestartPolicy
from supervisor.restart.health import (
    EffectiveHealth,
    HealthStatus,
    ProbeResult,
    next_probe_delay,
    on_container_started,
    on_result,
)
from supervisor.restart.labels import RestartTuning, StartLimit
from supervisor.restart.tracker import Decision, GiveUp, Reason, RestartAfter, RestartTracker, Stay


def at(t: float) -> object:
    """Virtual time compared to the nanosecond (float sums of 0.1 are not exact)."""
    return pytest.approx(t, abs=1e-9)


@dataclass
class Run:
    """One scripted run: how long it lasts and its exit code; ``start_fails`` = never runs."""

    duration: float = 0.0
    exit_code: int = 1
    start_fails: bool = False


@dataclass
class Loop:
    """The container task in miniature, with a record of what happened when."""

    tracker: RestartTracker
    script: list[Run]
    starts: list[float] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    stop: trio.Event = field(default_factory=trio.Event)
    final: Decision | None = None
    final_at: float = -1.0

    async def run(self) -> None:
        runs = iter(self.script)
        decision: Decision
        run = next(runs)
        while True:
            started = trio.current_time()
            if run.start_fails:
                decision = self.tracker.on_start_failed(started)
            else:
                self.starts.append(started)
                with trio.move_on_after(run.duration):
                    await self.stop.wait()
                now = trio.current_time()
                code = 137 if self.stop.is_set() else run.exit_code
                decision = self.tracker.on_exit(now, code, now - started, self.stop.is_set())
            if not isinstance(decision, RestartAfter):
                self.final, self.final_at = decision, trio.current_time()
                return
            self.delays.append(decision.delay)
            with trio.move_on_after(decision.delay):
                await self.stop.wait()
            if self.stop.is_set():  # stopped by hand during the backoff
                self.final, self.final_at = Stay(Reason.CANCELLED), trio.current_time()
                return
            run = next(runs)

    def manual_stop(self) -> None:
        self.tracker.cancel()
        self.stop.set()


async def test_crash_loop_delays_then_manual_stop(autojump_clock: trio.abc.Clock) -> None:
    """always + 5 immediate failures: 0.1, 0.2, 0.4, 0.8, 1.6; a stop at t=10 ends it."""
    loop = Loop(RestartTracker(RestartPolicy("always")), [Run()] * 5 + [Run(duration=1000)])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(loop.run)
        await trio.sleep(10)
        loop.manual_stop()
    assert loop.delays == [0.1, 0.2, 0.4, 0.8, 1.6]
    assert loop.starts == [at(0), at(0.1), at(0.3), at(0.7), at(1.5), at(3.1)]
    assert loop.final == Stay(Reason.CANCELLED)
    assert loop.final_at == at(10)
    assert loop.tracker.restart_count == 5


async def test_on_failure_3_gives_up_at_the_exact_time(autojump_clock: trio.abc.Clock) -> None:
    """on-failure:3 with 1 s runs: restarts at 1.1, 2.3, 3.7; gives up at exactly 4.7."""
    t0 = trio.current_time()
    loop = Loop(RestartTracker(RestartPolicy("on-failure", 3)), [Run(duration=1.0)] * 4)
    await loop.run()
    assert loop.delays == [0.1, 0.2, 0.4]
    assert [s - t0 for s in loop.starts] == [at(0), at(1.1), at(2.3), at(3.7)]
    assert isinstance(loop.final, GiveUp) and loop.final.reason is Reason.RETRIES_EXHAUSTED
    assert loop.final_at - t0 == at(4.7)
    assert loop.tracker.restart_count == 3


async def test_on_failure_stays_down_after_a_clean_exit(autojump_clock: trio.abc.Clock) -> None:
    """on-failure: two crashes, then exit 0 at t=2.3 stays down."""
    t0 = trio.current_time()
    script = [Run(duration=1.0), Run(duration=1.0), Run(duration=1.0, exit_code=0)]
    loop = Loop(RestartTracker(RestartPolicy("on-failure")), script)
    await loop.run()
    assert loop.final == Stay(Reason.EXIT_SUCCESS)
    assert loop.final_at - t0 == at(3.3)


async def test_long_runs_keep_the_delay_at_100ms(autojump_clock: trio.abc.Clock) -> None:
    """Runs of 10 s or more reset the backoff: every delay is 0.1."""
    loop = Loop(RestartTracker(RestartPolicy("always")), [Run(duration=10.0)] * 4 + [Run(1000)])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(loop.run)
        await trio.sleep(100)
        loop.manual_stop()
    assert loop.delays == [0.1, 0.1, 0.1, 0.1]


async def test_stop_during_backoff_cancels_the_restart(autojump_clock: trio.abc.Clock) -> None:
    """A stop 2 s into a 5 s backoff leaves the container down; no start at t=6."""
    t0 = trio.current_time()
    tuning = RestartTuning(delay=5.0, max_delay=60.0)
    loop = Loop(RestartTracker(RestartPolicy("always"), tuning), [Run(duration=1.0), Run(1000)])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(loop.run)
        await trio.sleep(3)
        loop.manual_stop()
        await trio.sleep(10)
    assert loop.delays == [5.0]
    assert [s - t0 for s in loop.starts] == [at(0)]
    assert loop.final == Stay(Reason.CANCELLED) and loop.final_at - t0 == at(3)


async def test_failed_starts_retry_with_backoff(autojump_clock: trio.abc.Clock) -> None:
    """berth: a failed policy restart is retried (0.2, 0.4, 0.8), where Docker gives up."""
    t0 = trio.current_time()
    script = [Run()] + [Run(start_fails=True)] * 3 + [Run(duration=1000)]
    loop = Loop(RestartTracker(RestartPolicy("always")), script)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(loop.run)
        await trio.sleep(5)
        loop.manual_stop()
    assert loop.delays == [0.1, 0.2, 0.4, 0.8]
    assert [s - t0 for s in loop.starts] == [at(0), at(1.5)]


async def test_start_limit_gives_up_at_the_exact_time(autojump_clock: trio.abc.Clock) -> None:
    """berth.restart.limit=3/10s: the 4th restart inside 10 s is refused at t=0.7."""
    t0 = trio.current_time()
    tuning = RestartTuning(limit=StartLimit(burst=3, window=10.0))
    loop = Loop(RestartTracker(RestartPolicy("always"), tuning), [Run()] * 10)
    await loop.run()
    assert loop.delays == [0.1, 0.2, 0.4]
    assert isinstance(loop.final, GiveUp) and loop.final.reason is Reason.START_LIMIT_HIT
    assert loop.final_at - t0 == at(0.7)


async def test_unhealthy_restarts_within_on_failure_limit(autojump_clock: trio.abc.Clock) -> None:
    """restart-on-unhealthy + on-failure:2 with a probe that always fails.

    interval 1 s, retries 3: unhealthy at 3 s into each run; restarts after
    0.1 then 0.2 s; the third unhealthy (t=9.3) gives up and leaves it running.
    """
    t0 = trio.current_time()
    cfg = EffectiveHealth(argv=("false",), interval=1.0, retries=3)
    tracker = RestartTracker(
        RestartPolicy("on-failure", 2), RestartTuning(restart_on_unhealthy=True)
    )
    events: list[tuple[float, str]] = []
    decision: Decision
    while True:
        started = trio.current_time()
        health = on_container_started()
        while True:  # the probe loop of one run
            await trio.sleep(next_probe_delay(cfg, health, trio.current_time() - started))
            probe_start = trio.current_time()
            result = ProbeResult(0, 0, 1, "down")
            health, event = on_result(cfg, health, result, probe_start - started)
            if event is not None:
                events.append((trio.current_time() - t0, event.value))
            if health.status is HealthStatus.UNHEALTHY:
                break
        now = trio.current_time()
        decision = tracker.on_unhealthy(now, now - started)
        if not isinstance(decision, RestartAfter):
            break
        # stop the container (instantly here); its exit returns the pending decision
        assert tracker.on_exit(now, 143, now - started) == decision
        await trio.sleep(decision.delay)
    assert [t for t, _ in events] == [at(3), at(6.1), at(9.3)]
    assert {e for _, e in events} == {"unhealthy"}
    assert isinstance(decision, GiveUp) and decision.reason is Reason.RETRIES_EXHAUSTED
    assert tracker.restart_count == 2
