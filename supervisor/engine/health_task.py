"""The health-check task of a running container: probe, decide, apply.

Decisions come from the pure ``supervisor.restart.health`` state machine;
this task only sleeps, runs the probe inside the container (``runc exec`` as
the container's user, cwd and environment), records the result and publishes
``health_status`` events. With ``berth.restart-on-unhealthy=true`` an
unhealthy status asks the restart tracker, which may end the run so that the
restart policy brings it back (moby#28400).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

import trio

from supervisor._logging import get_logger
from supervisor.api.humanize import rfc3339_nano
from supervisor.engine.model import Health, HealthLogEntry
from supervisor.errors import BerthError
from supervisor.restart.health import (
    EffectiveHealth,
    HealthState,
    HealthStatus,
    ProbeResult,
    next_probe_delay,
    on_result,
)
from supervisor.restart.probe import MAX_OUTPUT, error_result, exited_result, timeout_result
from supervisor.restart.tracker import RestartAfter

if TYPE_CHECKING:
    from supervisor.engine.container import Container
    from supervisor.engine.engine import Engine

log = get_logger(__name__)


def health_state_to_model(state: HealthState) -> Health:
    return Health(
        status=state.status.value,
        failing_streak=state.failing_streak,
        log=tuple(HealthLogEntry(r.start_ns, r.end_ns, r.exit_code, r.output) for r in state.log),
    )


def health_state_from_model(health: Health | None) -> HealthState | None:
    if health is None:
        return None
    return HealthState(
        status=HealthStatus(health.status),
        failing_streak=health.failing_streak,
        log=tuple(ProbeResult(e.start, e.end, e.exit_code, e.output) for e in health.log),
    )


def health_json(health: Health) -> dict[str, object]:
    """Docker's State.Health object for inspect."""
    return {
        "Status": health.status,
        "FailingStreak": health.failing_streak,
        "Log": [
            {
                "Start": rfc3339_nano(e.start),
                "End": rfc3339_nano(e.end),
                "ExitCode": e.exit_code,
                "Output": e.output,
            }
            for e in health.log
        ],
    }


async def probe_once(engine: Engine, c: Container, cfg: EffectiveHealth) -> ProbeResult:
    """Run the probe command once inside the container."""
    start = time.time_ns()
    try:
        result = await engine.runtime.exec(
            c.id, cfg.argv, timeout=cfg.timeout, max_output=MAX_OUTPUT
        )
    except BerthError as exc:
        return error_result(start, time.time_ns(), exc.message)
    end = time.time_ns()
    if result.exit_code is None:
        return timeout_result(start, end, cfg.timeout, result.output)
    return exited_result(start, end, result.exit_code, result.output)


async def run_health_checks(
    engine: Engine, c: Container, cfg: EffectiveHealth, scope: trio.CancelScope
) -> None:
    """Probe until ``scope`` is cancelled (the run ended)."""
    with scope:
        started = trio.current_time()
        while True:
            current = health_state_from_model(c.state.health) or HealthState()
            await trio.sleep(next_probe_delay(cfg, current, trio.current_time() - started))
            if c.state.paused or c.process is None:
                continue  # Docker's monitor does not probe a paused container
            probe_started = trio.current_time() - started
            result = await probe_once(engine, c, cfg)
            current = health_state_from_model(c.state.health) or HealthState()
            new_state, changed = on_result(cfg, current, result, probe_started)
            engine.store.save_nowait(
                c.with_state(replace(c.state, health=health_state_to_model(new_state)))
            )
            if changed is None:
                continue
            engine.publish_container(c, f"health_status: {changed.value}")
            if changed is HealthStatus.UNHEALTHY:
                decision = c.tracker.on_unhealthy(trio.current_time(), trio.current_time() - started)
                if isinstance(decision, RestartAfter):
                    # Ending the run is the restart policy's job from here: the exit
                    # returns this pending decision from the tracker.
                    await engine.restart_unhealthy(c)
                    return
