"""Turn ``berth run``/``create`` flags into the ``POST /containers/create`` body.

Pure: the caller passes the parsed flag values, the process environment (for
``-e KEY`` pass-through) and the contents of ``--env-file``/``--label-file``.
Every flag lands in a field of Docker's create body (container.Config +
HostConfig + NetworkingConfig) as docker CLI 28.2.2 puts it there; a value that
cannot be converted raises ``InvalidArgument`` naming the flag.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from supervisor.cli import units
from supervisor.errors import InvalidArgument
from supervisor.volumes.specs import parse_mount_flag

_PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass(frozen=True, slots=True)
class CreateRequest:
    """What to send: the ``name`` query parameter and the JSON body."""

    name: str | None
    body: dict[str, Any]


def parse_env_file(text: str, environ: Mapping[str, str], source: str) -> list[str]:
    """Parse an env/label file: KEY=VALUE lines, # comments, KEY alone looks up the environment."""
    lines: list[str] = []
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not key:
            msg = f"{source}:{number}: no variable name on line '{raw}'"
            raise InvalidArgument(msg)
        if re.search(r"\s", key):
            msg = f"{source}:{number}: variable '{key}' contains whitespaces"
            raise InvalidArgument(msg)
        if sep:
            lines.append(f"{key}={value}")
        elif key in environ:
            lines.append(f"{key}={environ[key]}")
    return lines


def parse_env(values: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """``-e KEY=VAL`` as is; ``-e KEY`` takes KEY's value from the environment if set."""
    out = []
    for value in values:
        key, sep, _ = value.partition("=")
        if not key:
            msg = f"invalid environment variable: {value}"
            raise InvalidArgument(msg)
        out.append(value if sep or key not in environ else f"{key}={environ[key]}")
    return out


def parse_labels(values: Sequence[str]) -> dict[str, str]:
    """``-l k=v`` / ``-l k`` (empty value) into a label map."""
    labels = {}
    for value in values:
        key, _, val = value.partition("=")
        if not key:
            msg = f"invalid label '{value}': empty name"
            raise InvalidArgument(msg)
        labels[key] = val
    return labels


def parse_restart_policy(value: str) -> dict[str, Any]:
    """``no|always|unless-stopped|on-failure[:N]`` into Docker's RestartPolicy."""
    name, sep, count = value.partition(":")
    if name not in ("no", "always", "unless-stopped", "on-failure"):
        msg = f"invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
        raise InvalidArgument(msg)
    retries = 0
    if sep:
        if not count.isdigit():
            msg = f"invalid restart policy format: maximum retry count must be an integer: {value}"
            raise InvalidArgument(msg)
        retries = int(count)
        if name != "on-failure" and retries:
            msg = f"invalid restart policy: maximum retry count can only be used with 'on-failure': {value}"
            raise InvalidArgument(msg)
    return {"Name": name, "MaximumRetryCount": retries}


def parse_ulimit(value: str) -> dict[str, Any]:
    """``nofile=1024[:2048]`` into ``{"Name", "Soft", "Hard"}``."""
    name, sep, limits = value.partition("=")
    soft, _, hard = limits.partition(":")
    try:
        soft_n = int(soft)
        hard_n = int(hard) if hard else soft_n
    except ValueError:
        soft_n = hard_n = -2
    if not sep or not name or soft_n < -1 or hard_n < -1:
        msg = f"invalid ulimit argument: {value}"
        raise InvalidArgument(msg)
    if soft_n > hard_n and hard_n != -1:
        msg = f"ulimit soft limit must be less than or equal to hard limit: {soft_n} > {hard_n}"
        raise InvalidArgument(msg)
    return {"Name": name, "Soft": soft_n, "Hard": hard_n}


def _port_range(text: str, what: str, spec: str) -> tuple[int, int]:
    first, sep, last = text.partition("-")
    if not first.isdigit() or (sep and not last.isdigit()):
        msg = f"invalid {what}port: {spec}"
        raise InvalidArgument(msg)
    lo, hi = int(first), int(last) if sep else int(first)
    if not 0 < lo <= hi <= 65535:
        msg = f"invalid {what}port: {spec}"
        raise InvalidArgument(msg)
    return lo, hi


def parse_publish(spec: str) -> list[tuple[str, dict[str, str]]]:
    """``[ip:][hostPort:]containerPort[/proto]`` into (port key, binding) pairs."""
    rest, _, proto = spec.partition("/")
    proto = proto or "tcp"
    if proto not in _PROTOCOLS:
        msg = f"invalid proto: {proto}"
        raise InvalidArgument(msg)
    parts = rest.rsplit(":", 2) if not rest.startswith("[") else None
    if parts is None:
        ip, _, tail = rest[1:].partition("]:")
        host, _, container = tail.rpartition(":")
    elif len(parts) == 3:
        ip, host, container = parts
    elif len(parts) == 2:
        ip, (host, container) = "", parts
    else:
        ip, host, container = "", "", parts[0]
    ip = ip.strip("[]")
    c_lo, c_hi = _port_range(container, "container", spec)
    if not host:
        return [(f"{p}/{proto}", {"HostIp": ip, "HostPort": ""}) for p in range(c_lo, c_hi + 1)]
    h_lo, h_hi = _port_range(host, "host", spec)
    if c_lo == c_hi:
        host_port = str(h_lo) if h_lo == h_hi else f"{h_lo}-{h_hi}"
        return [(f"{c_lo}/{proto}", {"HostIp": ip, "HostPort": host_port})]
    if c_hi - c_lo != h_hi - h_lo:
        msg = f"invalid ranges specified for container and host Ports: {container} and {host}"
        raise InvalidArgument(msg)
    return [
        (f"{c_lo + i}/{proto}", {"HostIp": ip, "HostPort": str(h_lo + i)})
        for i in range(c_hi - c_lo + 1)
    ]


def parse_expose(spec: str) -> list[str]:
    """``--expose 80``, ``80/udp``, ``8000-8010`` into port keys."""
    ports, _, proto = spec.partition("/")
    proto = proto or "tcp"
    if proto not in _PROTOCOLS:
        msg = f"invalid proto: {proto}"
        raise InvalidArgument(msg)
    lo, hi = _port_range(ports, "", spec)
    return [f"{p}/{proto}" for p in range(lo, hi + 1)]


def _key_values(values: Sequence[str], flag: str) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            msg = f"invalid argument {value!r} for {flag}: expected key=value"
            raise InvalidArgument(msg)
        out[key] = val
    return out


def _size(
    opts: Mapping[str, Any],
    key: str,
    flag: str,
    parse: Callable[[str], int] = units.parse_ram_in_bytes,
) -> int | None:
    value = opts.get(key)
    if value in (None, ""):
        return None
    try:
        return parse(value)
    except InvalidArgument as exc:
        msg = f'invalid argument "{value}" for "{flag}" flag: {exc}'
        raise InvalidArgument(msg) from exc


def _duration(opts: Mapping[str, Any], key: str, flag: str) -> int | None:
    value = opts.get(key)
    if value in (None, ""):
        return None
    try:
        nanos = units.parse_go_duration(value)
    except InvalidArgument as exc:
        msg = f'invalid argument "{value}" for "{flag}" flag: {exc}'
        raise InvalidArgument(msg) from exc
    if nanos < 0:
        msg = f"{flag} cannot be negative"
        raise InvalidArgument(msg)
    return nanos


def _healthcheck(opts: Mapping[str, Any]) -> dict[str, Any] | None:
    timing = {
        "Interval": _duration(opts, "health_interval", "--health-interval"),
        "Timeout": _duration(opts, "health_timeout", "--health-timeout"),
        "StartPeriod": _duration(opts, "health_start_period", "--health-start-period"),
        "StartInterval": _duration(opts, "health_start_interval", "--health-start-interval"),
    }
    retries = opts.get("health_retries")
    cmd = opts.get("health_cmd") or ""
    given = bool(cmd) or retries is not None or any(v is not None for v in timing.values())
    if opts.get("no_healthcheck"):
        if given:
            msg = "--no-healthcheck conflicts with --health-* options"
            raise InvalidArgument(msg)
        return {"Test": ["NONE"]}
    if not given:
        return None
    if retries is not None and retries < 0:
        msg = "--health-retries cannot be negative"
        raise InvalidArgument(msg)
    check: dict[str, Any] = {"Test": ["CMD-SHELL", cmd] if cmd else None}
    check.update({k: v or 0 for k, v in timing.items()})
    check["Retries"] = retries or 0
    return check


def _resources(opts: Mapping[str, Any]) -> dict[str, Any]:
    host: dict[str, Any] = {}
    sizes = {
        "Memory": _size(opts, "memory", "-m, --memory"),
        "MemorySwap": _size(opts, "memory_swap", "--memory-swap", units.parse_mem_swap),
        "MemoryReservation": _size(opts, "memory_reservation", "--memory-reservation"),
        "ShmSize": _size(opts, "shm_size", "--shm-size"),
    }
    host.update({k: v for k, v in sizes.items() if v is not None})
    if opts.get("cpus"):
        try:
            host["NanoCpus"] = units.parse_nano_cpus(opts["cpus"])
        except InvalidArgument as exc:
            msg = f'invalid argument "{opts["cpus"]}" for "--cpus" flag: {exc}'
            raise InvalidArgument(msg) from exc
    ints = {
        "CpuShares": "cpu_shares",
        "CpuPeriod": "cpu_period",
        "CpuQuota": "cpu_quota",
        "PidsLimit": "pids_limit",
    }
    host.update({k: opts[o] for k, o in ints.items() if opts.get(o) is not None})
    strings = {"CpusetCpus": "cpuset_cpus", "CpusetMems": "cpuset_mems"}
    host.update({k: opts[o] for k, o in strings.items() if opts.get(o)})
    return host


def build_create(
    opts: Mapping[str, Any],
    image: str,
    command: Sequence[str],
    environ: Mapping[str, str],
    files: Mapping[str, str],
) -> CreateRequest:
    """Build the create request from flag values (click's parameter names).

    Args:
        opts: flag values keyed by click parameter name (``memory``, ``env``, ...).
        image: the image reference as typed.
        command: the command and its arguments (empty: the image's CMD).
        environ: the CLI's environment, for ``-e KEY`` pass-through.
        files: contents of every ``--env-file``/``--label-file`` path, by path.

    Raises:
        InvalidArgument: a flag value that Docker would reject.
    """
    restart = opts.get("restart") or "no"
    policy = parse_restart_policy(restart)
    if opts.get("rm") and policy["Name"] != "no":
        msg = "conflicting options: cannot specify both --restart and --rm"
        raise InvalidArgument(msg)
    env: list[str] = []
    for path in opts.get("env_file") or ():
        env += parse_env_file(files[path], environ, path)
    env += parse_env(opts.get("env") or (), environ)
    labels: dict[str, str] = {}
    for path in opts.get("label_file") or ():
        labels.update(parse_labels(parse_env_file(files[path], {}, path)))
    labels.update(parse_labels(opts.get("label") or ()))

    exposed: dict[str, dict[str, Any]] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in opts.get("publish") or ():
        for key, binding in parse_publish(spec):
            exposed[key] = {}
            bindings.setdefault(key, []).append(binding)
    for spec in opts.get("expose") or ():
        exposed.update({key: {} for key in parse_expose(spec)})

    binds: list[str] = []
    volumes: dict[str, dict[str, Any]] = {}
    for spec in opts.get("volume") or ():
        if ":" in spec:
            binds.append(spec)
        else:
            volumes[spec] = {}

    interactive, tty = bool(opts.get("interactive")), bool(opts.get("tty"))
    detach = bool(opts.get("detach"))
    entrypoint = opts.get("entrypoint")
    config: dict[str, Any] = {
        "Hostname": opts.get("hostname") or "",
        "User": opts.get("user") or "",
        "AttachStdin": interactive and not detach,
        "AttachStdout": not detach,
        "AttachStderr": not detach,
        "Tty": tty,
        "OpenStdin": interactive,
        "StdinOnce": interactive and not detach,
        "Env": env,
        "Cmd": list(command) or None,
        "Image": image,
        "WorkingDir": opts.get("workdir") or "",
        "Entrypoint": None if entrypoint is None else [entrypoint],
        "Labels": labels,
    }
    if exposed:
        config["ExposedPorts"] = exposed
    if volumes:
        config["Volumes"] = volumes
    if opts.get("stop_signal"):
        config["StopSignal"] = opts["stop_signal"]
    if opts.get("stop_timeout") is not None:
        config["StopTimeout"] = opts["stop_timeout"]
    health = _healthcheck(opts)
    if health is not None:
        config["Healthcheck"] = health

    network = opts.get("network") or "default"
    host: dict[str, Any] = {
        "Binds": binds or None,
        "NetworkMode": network,
        "PortBindings": bindings,
        "RestartPolicy": policy,
        "AutoRemove": bool(opts.get("rm")),
        "LogConfig": {
            "Type": opts.get("log_driver") or "",
            "Config": _key_values(opts.get("log_opt") or (), "--log-opt"),
        },
    }
    lists = {
        "CapAdd": "cap_add",
        "CapDrop": "cap_drop",
        "Dns": "dns",
        "GroupAdd": "group_add",
        "SecurityOpt": "security_opt",
    }
    host.update({k: list(opts[o]) for k, o in lists.items() if opts.get(o)})
    if opts.get("add_host"):
        host["ExtraHosts"] = [h.replace("=", ":", 1) if "=" in h else h for h in opts["add_host"]]
    if opts.get("mount"):
        host["Mounts"] = [parse_mount_flag(m, cwd=os.getcwd()) for m in opts["mount"]]
    if opts.get("volumes_from"):
        host["VolumesFrom"] = list(opts["volumes_from"])
    if opts.get("tmpfs"):
        host["Tmpfs"] = {
            path: flags for path, _, flags in (t.partition(":") for t in opts["tmpfs"])
        }
    if opts.get("ulimit"):
        host["Ulimits"] = [parse_ulimit(u) for u in opts["ulimit"]]
    if opts.get("sysctl"):
        host["Sysctls"] = _key_values(opts["sysctl"], "--sysctl")
    for key, opt in (("Privileged", "privileged"), ("ReadonlyRootfs", "read_only")):
        if opts.get(opt):
            host[key] = True
    if opts.get("init"):
        host["Init"] = True
    for key, opt in (("PidMode", "pid"), ("IpcMode", "ipc")):
        if opts.get(opt):
            host[key] = opts[opt]
    if opts.get("console_size"):
        host["ConsoleSize"] = list(opts["console_size"])
    host.update(_resources(opts))

    endpoint: dict[str, Any] = {}
    if opts.get("network_alias"):
        endpoint["Aliases"] = list(opts["network_alias"])
    body = {
        **config,
        "HostConfig": host,
        "NetworkingConfig": {"EndpointsConfig": {network: endpoint}},
    }
    return CreateRequest(opts.get("name") or None, body)
