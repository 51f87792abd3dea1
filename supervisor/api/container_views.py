"""berth's container model → Docker's JSON shapes (inspect, list summary).

Every key the docker CLI, docker-py and compose read is always present, with
Docker's zero values (``null`` where Go has a nil slice or pointer, ``""`` and
``0`` elsewhere), so that a client indexing ``attrs["HostConfig"]["LogConfig"]
["Type"]`` never meets a KeyError. ``encode_config``/``encode_host_config``
write the spec in the very shape ``create_body.parse_create`` reads, so that
inspect → create round-trips.

Facts that live outside the spec (health, mounts, network endpoints, sizes)
come in through ``extra``: a one-level merge into the body, so
``extra={"State": {"Health": {...}}}`` adds a key to State while
``extra={"NetworkSettings": {"Networks": {...}}}`` replaces Networks whole.

Pure: ``now_ns`` is an argument; times are unix nanoseconds.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from supervisor.api.humanize import human_duration, rfc3339_nano, state_time
from supervisor.engine.model import ContainerRecord, ContainerSpec, HealthConfig, State
from supervisor.images.model import Image

_NS = 1_000_000_000


def _nil(items: tuple[str, ...]) -> list[str] | None:
    """Go's nil slice: an empty list encodes as null."""
    return list(items) if items else None


def encode_health(health: HealthConfig) -> dict[str, Any]:
    """Docker's HealthConfig (durations in ns)."""
    return {
        "Test": list(health.test),
        "Interval": health.interval,
        "Timeout": health.timeout,
        "StartPeriod": health.start_period,
        "StartInterval": health.start_interval,
        "Retries": health.retries,
    }


def encode_config(spec: ContainerSpec, *, hostname: str | None = None) -> dict[str, Any]:
    """The container's ``Config`` (ContainerConfig), as inspect shows it.

    Args:
        hostname: what to show when the spec has none (Docker shows the short id).
    """
    config: dict[str, Any] = {
        "Hostname": spec.hostname or hostname or "",
        "Domainname": spec.domainname,
        "User": spec.user,
        "AttachStdin": spec.attach_stdin,
        "AttachStdout": spec.attach_stdout,
        "AttachStderr": spec.attach_stderr,
        "ExposedPorts": {port: {} for port in spec.exposed_ports},
        "Tty": spec.tty,
        "OpenStdin": spec.open_stdin,
        "StdinOnce": spec.stdin_once,
        "Env": _nil(spec.env),
        "Cmd": _nil(spec.cmd),
        "Image": spec.image,
        "Volumes": {path: {} for path in spec.volumes} or None,
        "WorkingDir": spec.working_dir,
        "Entrypoint": _nil(spec.entrypoint),
        "OnBuild": None,
        "Labels": dict(spec.labels),
    }
    if spec.healthcheck is not None:
        config["Healthcheck"] = encode_health(spec.healthcheck)
    if spec.stop_signal:
        config["StopSignal"] = spec.stop_signal
    if spec.stop_timeout is not None:
        config["StopTimeout"] = spec.stop_timeout
    if spec.shell:
        config["Shell"] = list(spec.shell)
    return config


def encode_host_config(spec: ContainerSpec) -> dict[str, Any]:
    """The container's ``HostConfig`` in Docker's full shape with its zero values."""
    res = spec.resources
    return {
        "Binds": _nil(spec.binds),
        "ContainerIDFile": "",
        "LogConfig": {"Type": spec.log_config.type, "Config": dict(spec.log_config.config)},
        "NetworkMode": spec.network_mode,
        "PortBindings": {
            port: [dict(b) for b in bindings] for port, bindings in spec.port_bindings.items()
        },
        "RestartPolicy": {
            "Name": spec.restart_policy.name,
            "MaximumRetryCount": spec.restart_policy.maximum_retry_count,
        },
        "AutoRemove": spec.auto_remove,
        "VolumeDriver": "",
        "VolumesFrom": _nil(spec.volumes_from),
        "Mounts": [dict(m) for m in spec.mounts] or None,
        "ConsoleSize": list(spec.console_size or (0, 0)),
        "CapAdd": _nil(spec.cap_add),
        "CapDrop": _nil(spec.cap_drop),
        "CgroupnsMode": "host",
        "Dns": list(spec.dns),
        "DnsOptions": list(spec.dns_options),
        "DnsSearch": list(spec.dns_search),
        "ExtraHosts": _nil(spec.extra_hosts),
        "GroupAdd": None,
        "IpcMode": "private",
        "Cgroup": "",
        "Links": None,
        "OomScoreAdj": 0,
        "PidMode": "",
        "Privileged": spec.privileged,
        "PublishAllPorts": spec.publish_all_ports,
        "ReadonlyRootfs": spec.readonly_rootfs,
        "SecurityOpt": None,
        "Tmpfs": dict(spec.tmpfs),
        "UTSMode": "",
        "UsernsMode": "",
        "ShmSize": spec.shm_size,
        "Sysctls": dict(spec.sysctls),
        "Runtime": "runc",
        "Isolation": "",
        "CpuShares": res.cpu_shares,
        "Memory": res.memory,
        "NanoCpus": res.nano_cpus,
        "CgroupParent": "",
        "BlkioWeight": 0,
        "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": [],
        "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteIOps": [],
        "CpuPeriod": res.cpu_period,
        "CpuQuota": res.cpu_quota,
        "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0,
        "CpusetCpus": res.cpuset_cpus,
        "CpusetMems": res.cpuset_mems,
        "Devices": [],
        "DeviceCgroupRules": None,
        "DeviceRequests": None,
        "MemoryReservation": res.memory_reservation,
        "MemorySwap": res.memory_swap,
        "MemorySwappiness": None,
        "OomKillDisable": False,
        "PidsLimit": res.pids_limit if res.pids_limit > 0 else None,
        "Ulimits": [{"Name": u.name, "Soft": u.soft, "Hard": u.hard} for u in res.ulimits],
        "CpuCount": 0,
        "CpuPercent": 0,
        "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0,
        "Init": spec.init,
        "MaskedPaths": None,
        "ReadonlyPaths": None,
    }


def port_map(spec: ContainerSpec, *, running: bool) -> dict[str, list[dict[str, str]] | None]:
    """``NetworkSettings.Ports``: bindings of a running container, null for exposed-only ports.

    Like Docker, a container that is not running publishes nothing (``{}``).
    An empty HostIp reads as ``0.0.0.0``; the networking layer passes real
    (ephemeral) host ports through ``extra``.
    """
    if not running:
        return {}
    ports: dict[str, list[dict[str, str]] | None] = {p: None for p in spec.exposed_ports}
    for port, bindings in spec.port_bindings.items():
        ports[port] = [
            {"HostIp": b.get("HostIp") or "0.0.0.0", "HostPort": b.get("HostPort", "")}
            for b in bindings
        ] or None
    return ports


def endpoint_settings() -> dict[str, Any]:
    """An EndpointSettings with every field at its zero value."""
    return {
        "IPAMConfig": None,
        "Links": None,
        "Aliases": None,
        "MacAddress": "",
        "DriverOpts": None,
        "GwPriority": 0,
        "NetworkID": "",
        "EndpointID": "",
        "Gateway": "",
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "DNSNames": None,
    }


def networks(spec: ContainerSpec) -> dict[str, Any]:
    """``NetworkSettings.Networks`` keyed by network name (empty for ``container:``)."""
    if spec.network_mode.startswith("container:"):
        return {}
    return {spec.network_mode: endpoint_settings()}


def _state(state: State) -> dict[str, Any]:
    return {
        "Status": state.status.value,
        "Running": state.running,
        "Paused": state.paused,
        "Restarting": state.restarting,
        "OOMKilled": state.oom_killed,
        "Dead": state.dead,
        "Pid": state.pid,
        "ExitCode": state.exit_code,
        "Error": state.error,
        "StartedAt": state_time(state.started_at),
        "FinishedAt": state_time(state.finished_at),
    }


def _image_ref(spec: ContainerSpec, image: Image | None) -> str:
    image_id = spec.image_id or (image.id if image is not None else "")
    return image_id if image_id.startswith("sha256:") else f"sha256:{image_id}"


def _merge(body: dict[str, Any], extra: Mapping[str, Any] | None) -> dict[str, Any]:
    for key, value in (extra or {}).items():
        if isinstance(value, Mapping) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    return body


def inspect(
    record: ContainerRecord,
    *,
    image: Image | None,
    now_ns: int,
    log_path: str,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Docker's ``GET /containers/{id}/json`` body.

    Args:
        image: the container's image, used only when the spec lacks its id.
        now_ns: unused today; kept so that time-derived fields need no new parameter.
        log_path: the json-file log; its directory holds resolv.conf, hostname, hosts.
        extra: facts from outside the spec, merged one level deep (see module doc).
    """
    del now_ns
    spec = record.spec
    argv = spec.argv
    container_dir = posixpath.dirname(log_path)
    running = record.state.running and not record.state.restarting
    body: dict[str, Any] = {
        "Id": record.id,
        "Created": rfc3339_nano(record.created),
        "Path": argv[0] if argv else "",
        "Args": list(argv[1:]),
        "State": _state(record.state),
        "Image": _image_ref(spec, image),
        "ResolvConfPath": posixpath.join(container_dir, "resolv.conf"),
        "HostnamePath": posixpath.join(container_dir, "hostname"),
        "HostsPath": posixpath.join(container_dir, "hosts"),
        "LogPath": log_path,
        "Name": f"/{record.name}",
        "RestartCount": record.state.restart_count,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": encode_host_config(spec),
        "GraphDriver": {"Name": "overlay2", "Data": {}},
        "Mounts": [],
        "Config": encode_config(spec, hostname=record.short_id),
        "NetworkSettings": {
            "Bridge": "",
            "SandboxID": "",
            "SandboxKey": "",
            "Ports": port_map(spec, running=running),
            "HairpinMode": False,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "SecondaryIPAddresses": None,
            "SecondaryIPv6Addresses": None,
            "EndpointID": "",
            "Gateway": "",
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "IPAddress": "",
            "IPPrefixLen": 0,
            "IPv6Gateway": "",
            "MacAddress": "",
            "Networks": networks(spec),
        },
    }
    return _merge(body, extra)


def status_text(state: State, *, now_ns: int, health: str | None = None) -> str:
    """moby ``State.String``: the STATUS column of ``docker ps``.

    Args:
        health: the health status (starting/healthy/unhealthy), None or "none" if
            the container has no health check.
    """
    if state.running:
        if state.paused:
            return f"Up {human_duration(now_ns - state.started_at)} (Paused)"
        if state.restarting:
            ago = human_duration(now_ns - state.finished_at)
            return f"Restarting ({state.exit_code}) {ago} ago"
        up = f"Up {human_duration(now_ns - state.started_at)}"
        if health and health != "none":
            return f"{up} ({'health: starting' if health == 'starting' else health})"
        return up
    if state.removing:
        return "Removal In Progress"
    if state.dead:
        return "Dead"
    if state.started_at == 0:
        return "Created"
    if state.finished_at == 0:
        return ""
    return f"Exited ({state.exit_code}) {human_duration(now_ns - state.finished_at)} ago"


def command_text(argv: tuple[str, ...]) -> str:
    """moby's list ``Command``: path and args, args containing a space in single quotes."""
    if not argv:
        return ""
    args = [f"'{a}'" if " " in a else a for a in argv[1:]]
    return " ".join([argv[0], *args]) if args else argv[0]


def summary_ports(ports: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The list's ``Ports`` from a ``NetworkSettings.Ports`` map (moby ``transformContainer``)."""
    out: list[dict[str, Any]] = []
    for key, bindings in ports.items():
        number, _, proto = key.partition("/")
        private = int(number) if number.isdigit() else 0
        if not bindings:
            out.append({"PrivatePort": private, "Type": proto or "tcp"})
            continue
        for binding in bindings:
            entry: dict[str, Any] = {"PrivatePort": private, "Type": proto or "tcp"}
            host_ip, host_port = binding.get("HostIp", ""), binding.get("HostPort", "")
            if host_ip:
                entry["IP"] = host_ip
            if host_port.isdigit() and int(host_port) > 0:
                entry["PublicPort"] = int(host_port)
            out.append(entry)
    return out


def summary(
    record: ContainerRecord,
    *,
    image_id: str | None,
    now_ns: int,
    health: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One element of Docker's ``GET /containers/json``.

    Args:
        image_id: the id the container's image reference (``Config.Image``)
            resolves to today, None if it no longer resolves. As in moby, the
            list shows the reference as typed only while it still names the
            container's image, and the image id otherwise.
        health: health status for the STATUS text (None = no health check).
        extra: one-level merge, e.g. ``{"Mounts": [...], "SizeRw": n}``; its
            ``NetworkSettings`` is inspect-shaped: ``Ports`` (a port map) becomes
            the list's ``Ports`` and ``Networks`` replaces the networks.
    """
    spec = record.spec
    own_id = _image_ref(spec, None) if spec.image_id else (image_id or "")
    shown = spec.image if image_id and image_id == own_id else own_id
    state = record.state
    rest = dict(extra or {})
    net = rest.pop("NetworkSettings", None) or {}
    ports = net.get("Ports")
    if ports is None:
        ports = port_map(spec, running=state.running and not state.restarting)
    body: dict[str, Any] = {
        "Id": record.id,
        "Names": [f"/{record.name}"],
        "Image": shown,
        "ImageID": own_id,
        "Command": command_text(spec.argv),
        "Created": record.created // _NS,
        "Ports": summary_ports(ports),
        "Labels": dict(spec.labels),
        "State": state.status.value,
        "Status": status_text(state, now_ns=now_ns, health=health),
        "HostConfig": {"NetworkMode": spec.network_mode},
        "NetworkSettings": {"Networks": net.get("Networks", networks(spec))},
        "Mounts": [],
    }
    return _merge(body, rest)


__all__ = [
    "command_text",
    "encode_config",
    "encode_health",
    "encode_host_config",
    "endpoint_settings",
    "inspect",
    "networks",
    "port_map",
    "status_text",
    "summary",
    "summary_ports",
]
