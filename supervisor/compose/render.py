"""A ``Project`` back to compose YAML: what ``berth compose config`` prints.

The canonical form, as ``docker compose config`` prints it: merged,
interpolated, long syntax for ports, volumes and depends_on, durations as Go
strings, sizes in bytes. Loading the output gives the same project. Pure.
"""

from __future__ import annotations

from typing import Any

import yaml

from supervisor.compose.model import Healthcheck, MountType, Project, Service


def go_duration(seconds: float) -> str:
    """Seconds → Go's duration text (``1m30s``, ``500ms``)."""
    if seconds == 0:
        return "0s"
    ms = round(seconds * 1000)
    if ms % 1000:
        return f"{ms}ms"
    whole = ms // 1000
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"


def _health(h: Healthcheck) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if h.disable:
        out["disable"] = True
    if h.test:
        out["test"] = list(h.test)
    for key in ("interval", "timeout", "start_period", "start_interval"):
        value = getattr(h, key)
        if value is not None:
            out[key] = go_duration(value)
    if h.retries is not None:
        out["retries"] = h.retries
    return out


def _service(s: Service) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if s.command is not None:
        out["command"] = list(s.command)
    if s.container_name:
        out["container_name"] = s.container_name
    if s.depends_on:
        out["depends_on"] = {
            d.service: {"condition": d.condition.value, "required": d.required} for d in s.depends_on
        }
    if s.entrypoint is not None:
        out["entrypoint"] = list(s.entrypoint)
    if s.environment:
        out["environment"] = dict(s.environment)
    if s.healthcheck is not None:
        out["healthcheck"] = _health(s.healthcheck)
    if s.hostname:
        out["hostname"] = s.hostname
    out["image"] = s.image
    if s.init is not None:
        out["init"] = s.init
    if s.labels:
        out["labels"] = dict(s.labels)
    if s.logging.driver or s.logging.options:
        out["logging"] = {k: v for k, v in (("driver", s.logging.driver), ("options", dict(s.logging.options))) if v}
    r = s.resources
    if r.memory is not None:
        out["mem_limit"] = r.memory
    if r.memory_reservation is not None:
        out["mem_reservation"] = r.memory_reservation
    if r.cpus is not None:
        out["cpus"] = r.cpus
    if r.pids is not None:
        out["pids_limit"] = r.pids
    if s.network_mode:
        out["network_mode"] = s.network_mode
    else:
        out["networks"] = {n.key: ({"aliases": list(n.aliases)} if n.aliases else None) for n in s.networks}
    published = [p for p in s.ports if p.publish]
    if published:
        out["ports"] = [
            {k: v for k, v in (("target", p.target), ("published", p.published), ("host_ip", p.host_ip), ("protocol", p.protocol), ("mode", "ingress")) if v != ""}
            for p in published
        ]
    exposed = [p for p in s.ports if not p.publish]
    if exposed:
        out["expose"] = [p.key for p in exposed]
    out["restart"] = str(s.restart)
    if s.replicas != 1:
        out["scale"] = s.replicas
    if s.stop_grace_period is not None:
        out["stop_grace_period"] = go_duration(s.stop_grace_period)
    if s.stop_signal:
        out["stop_signal"] = s.stop_signal
    for key in ("tty", "stdin_open", "privileged", "read_only"):
        if getattr(s, key):
            out[key] = True
    for key in ("cap_add", "cap_drop", "dns", "dns_search", "extra_hosts", "tmpfs"):
        if getattr(s, key):
            out[key] = list(getattr(s, key))
    if s.sysctls:
        out["sysctls"] = dict(s.sysctls)
    if s.shm_size is not None:
        out["shm_size"] = s.shm_size
    if s.user:
        out["user"] = s.user
    if s.volumes:
        out["volumes"] = [
            {k: v for k, v in (("type", m.type.value), ("source", m.source), ("target", m.target), ("read_only", m.read_only)) if v not in ("", False)}
            for m in s.volumes
        ]
        for entry, mount in zip(out["volumes"], s.volumes, strict=True):
            if mount.type is MountType.BIND:
                entry["bind"] = {"create_host_path": True}
    if s.working_dir:
        out["working_dir"] = s.working_dir
    return out


def project_dict(project: Project) -> dict[str, Any]:
    """The project as compose's canonical mapping."""
    out: dict[str, Any] = {"name": project.name, "services": {s.name: _service(s) for s in project.services}}
    if project.networks:
        out["networks"] = {
            n.key: {k: v for k, v in (("name", n.name), ("driver", n.driver), ("external", n.external), ("internal", n.internal), ("labels", dict(n.labels))) if v}
            for n in project.networks
        }
    if project.volumes:
        out["volumes"] = {
            v.key: {k: val for k, val in (("name", v.name), ("driver", v.driver), ("external", v.external), ("labels", dict(v.labels)), ("driver_opts", dict(v.driver_opts))) if val}
            for v in project.volumes
        }
    return out


def render_yaml(project: Project) -> str:
    return str(yaml.safe_dump(project_dict(project), sort_keys=False, default_flow_style=False, allow_unicode=True))
