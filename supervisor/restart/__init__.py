"""Restart policies, backoff and health checks: the pure decisions.

Layers (no module here imports trio, does I/O or reads a clock; ``now`` is
an argument in monotonic seconds, result times are unix nanoseconds):

- ``policy``  -- ``--restart`` text <-> ``RestartPolicy``, Docker's validation.
- ``labels``  -- berth's ``berth.restart*`` labels -> ``RestartTuning``; Go durations.
- ``backoff`` -- Docker's 100 ms doubling to 60 s, reset after 10 s, tunable.
- ``tracker`` -- ``RestartTracker``: exits in, RestartAfter/GiveUp/Stay out.
- ``boot``    -- which containers the daemon starts when it boots.
- ``health``  -- the healthcheck state machine (starting/healthy/unhealthy).
- ``probe``   -- a probe's output and errors worded as dockerd words them.

The container's task (the trio shell) applies these decisions.
"""

from __future__ import annotations

from supervisor.restart.backoff import Backoff, next_delay
from supervisor.restart.boot import should_start_at_boot
from supervisor.restart.health import (
    EffectiveHealth,
    HealthState,
    HealthStatus,
    ProbeResult,
    health_config_effective,
    next_probe_delay,
    on_container_started,
    on_monitor_stopped,
    on_result,
    validate_health_config,
)
from supervisor.restart.labels import (
    RestartTuning,
    StartLimit,
    format_duration,
    parse_duration,
    parse_restart_labels,
)
from supervisor.restart.policy import (
    format_restart_policy,
    parse_restart_policy,
    validate_restart_policy,
)
from supervisor.restart.tracker import (
    Decision,
    GiveUp,
    Reason,
    RestartAfter,
    RestartTracker,
    Stay,
)

__all__ = [
    "Backoff",
    "Decision",
    "EffectiveHealth",
    "GiveUp",
    "HealthState",
    "HealthStatus",
    "ProbeResult",
    "Reason",
    "RestartAfter",
    "RestartTracker",
    "RestartTuning",
    "StartLimit",
    "Stay",
    "format_duration",
    "format_restart_policy",
    "health_config_effective",
    "next_delay",
    "next_probe_delay",
    "on_container_started",
    "on_monitor_stopped",
    "on_result",
    "parse_duration",
    "parse_restart_labels",
    "parse_restart_policy",
    "should_start_at_boot",
    "validate_health_config",
    "validate_restart_policy",
]
