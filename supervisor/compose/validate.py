"""Validate a merged, interpolated compose tree into a frozen ``Project``.

Rules of operation:

1. Every problem is collected, not just the first, each as one line
   ``file:line: key.path: what is wrong`` (the key path names the service).
2. Unknown keys are refused. Keys that are valid compose but that berth does
   not implement (``build``, ``secrets``...) are refused with that reason, so a
   file never silently means less than it says.
3. ``x-`` extension keys are ignored wherever they appear; ``version`` is ignored.
4. The result is fully resolved: sizes in bytes, durations in seconds, paths
   absolute, the environment final. Pure except for ``read_env_file``.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from supervisor.compose import fields
from supervisor.compose.errors import ComposeError
from supervisor.compose.loader import Node
from supervisor.compose.merge import as_mapping
from supervisor.compose.model import (
    Condition,
    Dependency,
    Healthcheck,
    Logging,
    Mount,
    MountType,
    Network,
    Port,
    Project,
    Resources,
    RestartPolicy,
    Service,
    ServiceNetwork,
    Volume,
)

ReadEnvFile = Callable[[str, Node], Mapping[str, str]]

_SERVICE_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
_TOP_KEYS = frozenset({"version", "name", "services", "networks", "volumes"})
_UNSUPPORTED_TOP = frozenset({"secrets", "configs", "include", "models"})
_UNSUPPORTED_SERVICE = frozenset({
    "build", "secrets", "configs", "links", "external_links", "volumes_from", "devices",
    "security_opt", "ulimits", "profiles", "pid", "ipc", "userns_mode", "cgroup_parent",
    "extends", "platform", "pull_policy", "runtime", "isolation", "device_cgroup_rules",
    "group_add", "oom_score_adj", "oom_kill_disable", "mem_swappiness", "memswap_limit",
    "cpu_shares", "cpu_quota", "cpu_period", "cpuset", "blkio_config", "storage_opt",
    "develop", "annotations", "attach", "credential_spec", "post_start", "pre_stop",
})


@dataclass
class _Ctx:
    errors: list[str] = field(default_factory=list)

    def error(self, node: Node, path: str, message: str) -> None:
        self.errors.append(f"{node.mark}: {path}: {message}")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            dict: "a mapping", list: "a list"}.get(type(value), type(value).__name__)


class _Reader:
    """Typed accessors over one mapping node; every failure is recorded, never raised."""

    def __init__(self, ctx: _Ctx, node: Node, path: str) -> None:
        self.ctx, self.node, self.path = ctx, node, path

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}"

    def check_keys(self, allowed: frozenset[str], unsupported: frozenset[str] = frozenset()) -> None:
        for key, value in self.node.items():
            if key in allowed or key.startswith("x-"):
                continue
            if key in unsupported:
                self.ctx.error(value, self.sub(key), "is valid compose but not supported by berth")
            else:
                self.ctx.error(value, self.sub(key), "unknown key (additional properties are not allowed)")

    def _fail(self, node: Node, key: str, expected: str) -> None:
        self.ctx.error(node, self.sub(key), f"must be {expected}, got {_type_name(node.value)} {node.value!r}")

    def string(self, key: str, default: str = "") -> str:
        node = self.node.get(key)
        if node is None or node.value is None:
            return default
        if isinstance(node.value, bool) or not isinstance(node.value, (str, int, float)):
            self._fail(node, key, "a string")
            return default
        return str(node.value)

    def boolean(self, key: str, default: bool | None = None) -> bool | None:
        node = self.node.get(key)
        if node is None or node.value is None:
            return default
        if isinstance(node.value, bool):
            return node.value
        if isinstance(node.value, str) and node.value.lower() in ("true", "false"):
            return node.value.lower() == "true"
        self._fail(node, key, "a boolean")
        return default

    def integer(self, key: str, minimum: int | None = None) -> int | None:
        node = self.node.get(key)
        if node is None or node.value is None:
            return None
        value = node.value
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self._fail(node, key, "an integer")
            return None
        if minimum is not None and value < minimum:
            self.ctx.error(node, self.sub(key), f"must be at least {minimum}, got {value}")
            return None
        return value

    def parsed(self, key: str, parse: Callable[[Any], Any]) -> Any:
        node = self.node.get(key)
        if node is None or node.value is None:
            return None
        try:
            return parse(node.value)
        except ValueError as exc:
            self.ctx.error(node, self.sub(key), str(exc))
            return None

    def strings(self, key: str) -> tuple[str, ...]:
        """A list of strings, or one string as a one-item list."""
        node = self.node.get(key)
        if node is None or node.value is None:
            return ()
        if isinstance(node.value, str):
            return (node.value,)
        if not node.is_list:
            self._fail(node, key, "a list of strings")
            return ()
        out = []
        for index, item in enumerate(node.value):
            if isinstance(item.value, bool) or not isinstance(item.value, (str, int, float)):
                self.ctx.error(item, f"{self.sub(key)}[{index}]", f"must be a string, got {_type_name(item.value)}")
            else:
                out.append(str(item.value))
        return tuple(out)

    def command(self, key: str) -> tuple[str, ...] | None:
        node = self.node.get(key)
        if node is None or node.value is None:
            return None
        if isinstance(node.value, str):
            try:
                return tuple(shlex.split(node.value))
            except ValueError as exc:
                self.ctx.error(node, self.sub(key), f"cannot split {node.value!r}: {exc}")
                return None
        return self.strings(key)

    def mapping(self, key: str, separator: str = "=", allow_null: bool = False) -> dict[str, str | None]:
        """A mapping, or a list of ``K=V`` strings, as {K: V}; values become strings."""
        node = self.node.get(key)
        if node is None or node.value is None:
            return {}
        as_map = as_mapping(node, separator)
        if as_map is None:
            self._fail(node, key, "a mapping or a list of KEY" + separator + "VALUE strings")
            return {}
        out: dict[str, str | None] = {}
        for name, value in as_map.items():
            if value.value is None:
                out[name] = None if allow_null else ""
            elif isinstance(value.value, bool) or not isinstance(value.value, (str, int, float)):
                self.ctx.error(value, f"{self.sub(key)}.{name}", f"must be a string or a number, got {_type_name(value.value)} {value.value!r} (quote it)")
            else:
                out[name] = str(value.value)
        return out

    def child(self, key: str) -> _Reader | None:
        node = self.node.get(key)
        if node is None or node.value is None:
            return None
        if not node.is_map:
            self._fail(node, key, "a mapping")
            return None
        return _Reader(self.ctx, node, self.sub(key))


_SERVICE_KEYS = frozenset({
    "image", "command", "entrypoint", "environment", "env_file", "restart", "stop_signal",
    "stop_grace_period", "healthcheck", "depends_on", "ports", "expose", "volumes", "mem_limit",
    "mem_reservation", "cpus", "pids_limit", "deploy", "logging", "labels", "init", "user",
    "working_dir", "hostname", "domainname", "network_mode", "networks", "container_name",
    "scale", "tty", "stdin_open", "privileged", "read_only", "cap_add", "cap_drop", "dns",
    "dns_search", "extra_hosts", "sysctls", "tmpfs", "shm_size",
})


@dataclass(frozen=True, slots=True)
class ProjectContext:
    """What validation needs besides the tree: names, places and the environment."""

    name: str
    working_dir: str
    config_files: tuple[str, ...]
    environ: Mapping[str, str]
    read_env_file: ReadEnvFile
    warnings: tuple[str, ...] = ()


def validate_project(root: Node, pctx: ProjectContext) -> Project:
    """Build the ``Project`` or raise ``ComposeError`` listing every problem."""
    ctx = _Ctx()
    top = _Reader(ctx, root, "")
    for key, value in root.items():
        if key in _TOP_KEYS or key.startswith("x-"):
            continue
        reason = "is valid compose but not supported by berth" if key in _UNSUPPORTED_TOP else "unknown top-level key (additional properties are not allowed)"
        ctx.error(value, key, reason)
    services_node = root.get("services")
    if services_node is None or services_node.value is None:
        ctx.errors.append(f"{root.mark.file}: services: no services defined")
        raise ComposeError(ctx.errors)
    if not services_node.is_map:
        ctx.error(services_node, "services", "must be a mapping of service names to services")
        raise ComposeError(ctx.errors)
    volumes = _top_volumes(ctx, root.get("volumes"), pctx.name)
    declared_networks = _top_networks(ctx, root.get("networks"), pctx.name)
    volume_keys = {v.key for v in volumes}
    network_keys = {n.key for n in declared_networks} | {"default"}
    services = []
    for name, node in services_node.items():
        if name.startswith("x-"):
            continue
        path = f"services.{name}"
        if not _SERVICE_NAME.fullmatch(name):
            ctx.error(node, path, "invalid service name: use letters, digits, '_', '.' and '-', starting with a letter or digit")
            continue
        if not node.is_map:
            ctx.error(node, path, f"must be a mapping, got {_type_name(node.value)}")
            continue
        service = _service(_Reader(ctx, node, path), name, pctx, volume_keys, network_keys)
        if service is not None:
            services.append(service)
    del top
    names = {s.name for s in services}
    _check_dependencies(ctx, services_node, services, names)
    networks = list(declared_networks)
    uses_default = any(not s.network_mode and any(n.key == "default" for n in s.networks) for s in services)
    if uses_default and "default" not in {n.key for n in networks}:
        networks.insert(0, Network("default", f"{pctx.name}_default"))
    if ctx.errors:
        raise ComposeError(sorted(ctx.errors, key=_error_position))
    return Project(
        name=pctx.name, working_dir=pctx.working_dir, config_files=pctx.config_files,
        services=tuple(services), networks=tuple(networks), volumes=tuple(volumes),
        warnings=pctx.warnings,
    )


def _error_position(error: str) -> tuple[str, int]:
    file, _, rest = error.partition(":")
    line = rest.partition(":")[0]
    return file, int(line) if line.isdigit() else 0


def _top_volumes(ctx: _Ctx, node: Node | None, project: str) -> list[Volume]:
    out: list[Volume] = []
    if node is None or node.value is None:
        return out
    if not node.is_map:
        ctx.error(node, "volumes", "must be a mapping")
        return out
    for key, value in node.items():
        if key.startswith("x-"):
            continue
        if value.value is None:
            out.append(Volume(key, f"{project}_{key}"))
            continue
        if not value.is_map:
            ctx.error(value, f"volumes.{key}", "must be a mapping or empty")
            continue
        r = _Reader(ctx, value, f"volumes.{key}")
        r.check_keys(frozenset({"name", "driver", "driver_opts", "external", "labels"}))
        external, ext_name = _external(r)
        name = r.string("name") or ext_name or (key if external else f"{project}_{key}")
        out.append(Volume(
            key, name, r.string("driver"), external, _pairs(r.mapping("labels")),
            _pairs(r.mapping("driver_opts")),
        ))
    return out


def _top_networks(ctx: _Ctx, node: Node | None, project: str) -> list[Network]:
    out: list[Network] = []
    if node is None or node.value is None:
        return out
    if not node.is_map:
        ctx.error(node, "networks", "must be a mapping")
        return out
    for key, value in node.items():
        if key.startswith("x-"):
            continue
        if value.value is None:
            out.append(Network(key, f"{project}_{key}"))
            continue
        if not value.is_map:
            ctx.error(value, f"networks.{key}", "must be a mapping or empty")
            continue
        r = _Reader(ctx, value, f"networks.{key}")
        r.check_keys(
            frozenset({"name", "driver", "external", "internal", "labels", "attachable"}),
            frozenset({"ipam", "driver_opts", "enable_ipv6"}),
        )
        external, ext_name = _external(r)
        name = r.string("name") or ext_name or (key if external else f"{project}_{key}")
        out.append(Network(
            key, name, r.string("driver"), external, bool(r.boolean("internal")),
            _pairs(r.mapping("labels")),
        ))
    return out


def _external(r: _Reader) -> tuple[bool, str]:
    node = r.node.get("external")
    if node is not None and node.is_map:  # compose v1: external: {name: x}
        sub = _Reader(r.ctx, node, r.sub("external"))
        sub.check_keys(frozenset({"name"}))
        return True, sub.string("name")
    return bool(r.boolean("external")), ""


def _pairs(values: Mapping[str, str | None]) -> tuple[tuple[str, str], ...]:
    return tuple((k, v or "") for k, v in values.items())


def _service(
    r: _Reader, name: str, pctx: ProjectContext, volume_keys: set[str], network_keys: set[str]
) -> Service | None:
    r.check_keys(_SERVICE_KEYS, _UNSUPPORTED_SERVICE)
    image = r.string("image")
    if not image:
        where = r.node.get("build") or r.node
        r.ctx.error(where, r.sub("image"), "is required (berth runs images; it does not build them)")
    stop_signal = r.string("stop_signal").upper()
    if stop_signal and not re.fullmatch(r"(SIG)?[A-Z0-9+-]+", stop_signal):
        r.ctx.error(r.node["stop_signal"], r.sub("stop_signal"), f"invalid signal {stop_signal!r}")
    restart = r.parsed("restart", fields.parse_restart)
    deploy = _deploy(r)
    resources = Resources(
        memory=r.parsed("mem_limit", fields.parse_size) or deploy.get("memory"),
        memory_reservation=r.parsed("mem_reservation", fields.parse_size) or deploy.get("memory_reservation"),
        cpus=_cpus(r, "cpus") or deploy.get("cpus"),
        pids=r.integer("pids_limit", minimum=-1) or deploy.get("pids"),
    )
    if restart is None and deploy.get("restart") is not None:
        restart = deploy["restart"]
    network_mode = r.string("network_mode")
    if network_mode and not (network_mode in ("none", "host", "bridge") or network_mode.startswith("container:")):
        reason = "service: network modes are not supported by berth" if network_mode.startswith("service:") else "must be none, host, bridge or container:NAME"
        r.ctx.error(r.node["network_mode"], r.sub("network_mode"), f"{network_mode!r}: {reason}")
    networks = _service_networks(r, network_keys)
    if network_mode and r.node.get("networks") is not None:
        r.ctx.error(r.node["network_mode"], r.sub("network_mode"), "cannot be used together with networks")
    if not network_mode and not networks:
        networks = (ServiceNetwork("default"),)
    replicas = r.integer("scale", minimum=0)
    if replicas is None:
        replicas = deploy.get("replicas")
    container_name = r.string("container_name")
    if container_name and not _SERVICE_NAME.fullmatch(container_name):
        r.ctx.error(r.node["container_name"], r.sub("container_name"), f"invalid container name {container_name!r}")
    if container_name and (replicas or 1) > 1:
        r.ctx.error(r.node["container_name"], r.sub("container_name"), "cannot be set when the service has more than one replica")
    working_dir = r.string("working_dir")
    if working_dir and not working_dir.startswith("/"):
        r.ctx.error(r.node["working_dir"], r.sub("working_dir"), f"{working_dir!r} must be an absolute path")
    log_reader = r.child("logging")
    logging = Logging()
    if log_reader is not None:
        log_reader.check_keys(frozenset({"driver", "options"}))
        options = log_reader.mapping("options")
        logging = Logging(log_reader.string("driver"), _pairs(options))
    return Service(
        name=name,
        image=image,
        command=r.command("command"),
        entrypoint=r.command("entrypoint"),
        environment=_environment(r, pctx),
        restart=restart or RestartPolicy(),
        stop_signal=stop_signal,
        stop_grace_period=r.parsed("stop_grace_period", fields.parse_duration),
        healthcheck=_healthcheck(r),
        depends_on=_depends_on(r),
        ports=_ports(r),
        volumes=_volumes(r, pctx, volume_keys),
        resources=resources,
        logging=logging,
        labels=_pairs(r.mapping("labels")),
        init=r.boolean("init"),
        user=r.string("user"),
        working_dir=working_dir,
        hostname=r.string("hostname"),
        domainname=r.string("domainname"),
        network_mode=network_mode,
        networks=networks,
        container_name=container_name,
        replicas=1 if replicas is None else replicas,
        tty=bool(r.boolean("tty")),
        stdin_open=bool(r.boolean("stdin_open")),
        privileged=bool(r.boolean("privileged")),
        read_only=bool(r.boolean("read_only")),
        cap_add=r.strings("cap_add"),
        cap_drop=r.strings("cap_drop"),
        dns=r.strings("dns"),
        dns_search=r.strings("dns_search"),
        extra_hosts=tuple(f"{k}:{v}" for k, v in r.mapping("extra_hosts", ":").items()),
        sysctls=_pairs(r.mapping("sysctls")),
        tmpfs=r.strings("tmpfs"),
        shm_size=r.parsed("shm_size", fields.parse_size),
    )


def _cpus(r: _Reader, key: str) -> float | None:
    def parse(value: Any) -> float:
        try:
            cpus = float(value)
        except (TypeError, ValueError):
            cpus = -1.0
        if isinstance(value, bool) or cpus <= 0:
            msg = f"{value!r} is not a positive number of CPUs (e.g. 0.5, 2)"
            raise ValueError(msg)
        return cpus

    return r.parsed(key, parse)  # type: ignore[no-any-return]


def _deploy(r: _Reader) -> dict[str, Any]:
    out: dict[str, Any] = {}
    deploy = r.child("deploy")
    if deploy is None:
        return out
    deploy.check_keys(
        frozenset({"resources", "replicas", "restart_policy"}),
        frozenset({"mode", "placement", "update_config", "rollback_config", "endpoint_mode", "labels"}),
    )
    out["replicas"] = deploy.integer("replicas", minimum=0)
    resources = deploy.child("resources")
    if resources is not None:
        resources.check_keys(frozenset({"limits", "reservations"}))
        limits = resources.child("limits")
        if limits is not None:
            limits.check_keys(frozenset({"cpus", "memory", "pids"}))
            out["cpus"] = _cpus(limits, "cpus")
            out["memory"] = limits.parsed("memory", fields.parse_size)
            out["pids"] = limits.integer("pids", minimum=-1)
        reservations = resources.child("reservations")
        if reservations is not None:
            reservations.check_keys(frozenset({"memory"}), frozenset({"cpus", "devices", "generic_resources"}))
            out["memory_reservation"] = reservations.parsed("memory", fields.parse_size)
    policy = deploy.child("restart_policy")
    if policy is not None:
        policy.check_keys(frozenset({"condition", "max_attempts"}), frozenset({"delay", "window"}))
        condition = policy.string("condition", "any")
        mapping = {"none": "no", "on-failure": "on-failure", "any": "always"}
        if condition not in mapping:
            r.ctx.error(policy.node, policy.sub("condition"), f"{condition!r} is not one of none, on-failure, any")
        else:
            attempts = policy.integer("max_attempts", minimum=0) or 0
            out["restart"] = RestartPolicy(mapping[condition], attempts if condition == "on-failure" else 0)
    return out


def _environment(r: _Reader, pctx: ProjectContext) -> tuple[tuple[str, str], ...]:
    env: dict[str, str] = {}
    files_node = r.node.get("env_file")
    if files_node is not None:
        entries = files_node.value if files_node.is_list else [files_node]
        for entry in entries:
            path, required = entry.value, True
            if entry.is_map:
                sub = _Reader(r.ctx, entry, r.sub("env_file"))
                sub.check_keys(frozenset({"path", "required", "format"}))
                path, required = sub.string("path"), bool(sub.boolean("required", True))
            if not isinstance(path, str) or not path:
                r.ctx.error(entry, r.sub("env_file"), "must be a path or a list of paths")
                continue
            full = posixpath.normpath(posixpath.join(pctx.working_dir, path))
            try:
                env.update(pctx.read_env_file(full, entry))
            except FileNotFoundError:
                if required:
                    r.ctx.error(entry, r.sub("env_file"), f"env file {full} not found")
            except ComposeError as exc:
                r.ctx.errors.extend(exc.errors)
    for key, value in r.mapping("environment", allow_null=True).items():
        if value is None:
            if key in pctx.environ:
                env[key] = pctx.environ[key]
            else:
                env.pop(key, None)
        else:
            env[key] = value
    return tuple(env.items())


def _healthcheck(r: _Reader) -> Healthcheck | None:
    h = r.child("healthcheck")
    if h is None:
        return None
    h.check_keys(frozenset({"test", "interval", "timeout", "start_period", "start_interval", "retries", "disable"}))
    disable = bool(h.boolean("disable"))
    test: tuple[str, ...] = ()
    node = h.node.get("test")
    if node is not None and isinstance(node.value, str):
        test = ("CMD-SHELL", node.value)
    elif node is not None:
        test = h.strings("test")
        if test and test[0] not in ("CMD", "CMD-SHELL", "NONE"):
            r.ctx.error(node, h.sub("test"), f"a list must start with CMD, CMD-SHELL or NONE, got {test[0]!r}")
    if test == ("NONE",):
        disable = True
    if not disable and not test and node is None:
        pass  # only timings: the image's test is kept
    return Healthcheck(
        test=test,
        interval=h.parsed("interval", fields.parse_duration),
        timeout=h.parsed("timeout", fields.parse_duration),
        start_period=h.parsed("start_period", fields.parse_duration),
        start_interval=h.parsed("start_interval", fields.parse_duration),
        retries=h.integer("retries", minimum=0),
        disable=disable,
    )


def _depends_on(r: _Reader) -> tuple[Dependency, ...]:
    node = r.node.get("depends_on")
    if node is None or node.value is None:
        return ()
    if node.is_list:
        return tuple(Dependency(s) for s in r.strings("depends_on"))
    if not node.is_map:
        r.ctx.error(node, r.sub("depends_on"), "must be a list of services or a mapping")
        return ()
    out = []
    choices = ", ".join(c.value for c in Condition)
    for name, value in node.items():
        path = f"{r.sub('depends_on')}.{name}"
        if value.value is None:
            out.append(Dependency(name))
            continue
        if not value.is_map:
            r.ctx.error(value, path, "must be a mapping with a condition")
            continue
        d = _Reader(r.ctx, value, path)
        d.check_keys(frozenset({"condition", "required", "restart"}))
        text = d.string("condition", Condition.STARTED.value)
        try:
            condition = Condition(text)
        except ValueError:
            r.ctx.error(value.get("condition") or value, d.sub("condition"), f"{text!r} is not one of {choices}")
            continue
        out.append(Dependency(name, condition, bool(d.boolean("required", True))))
    return tuple(out)


def _ports(r: _Reader) -> tuple[Port, ...]:
    out: list[Port] = []
    node = r.node.get("ports")
    if node is not None and node.value is not None:
        if not node.is_list:
            r.ctx.error(node, r.sub("ports"), "must be a list")
        else:
            for index, item in enumerate(node.value):
                path = f"{r.sub('ports')}[{index}]"
                if item.is_map:
                    p = _Reader(r.ctx, item, path)
                    p.check_keys(frozenset({"target", "published", "host_ip", "protocol", "mode", "name", "app_protocol"}))
                    target = p.integer("target")
                    if target is None or not 0 < target < 65536:
                        r.ctx.error(item, f"{path}.target", "is required: a port from 1 to 65535")
                        continue
                    protocol = p.string("protocol", "tcp")
                    if protocol not in ("tcp", "udp", "sctp"):
                        r.ctx.error(item, f"{path}.protocol", f"{protocol!r} is not one of tcp, udp, sctp")
                    out.append(Port(target, p.string("published"), p.string("host_ip"), protocol))
                elif isinstance(item.value, (str, int)) and not isinstance(item.value, bool):
                    try:
                        out.extend(fields.parse_port(str(item.value)))
                    except ValueError as exc:
                        r.ctx.error(item, path, str(exc))
                else:
                    r.ctx.error(item, path, f"must be a string or a mapping, got {_type_name(item.value)}")
    for text in r.strings("expose"):
        spec, _, protocol = text.partition("/")
        try:
            out.extend(Port(p, protocol=protocol or "tcp", publish=False) for p in fields._port_range(spec, "exposed"))
        except ValueError as exc:
            r.ctx.error(r.node["expose"], r.sub("expose"), str(exc))
    return tuple(out)


def _resolve_source(source: str, working_dir: str) -> str:
    if source.startswith("~"):
        source = "/root" + source[1:] if source in ("~",) or source.startswith("~/") else source
    return posixpath.normpath(posixpath.join(working_dir, source))


def _volumes(r: _Reader, pctx: ProjectContext, volume_keys: set[str]) -> tuple[Mount, ...]:
    node = r.node.get("volumes")
    if node is None or node.value is None:
        return ()
    if not node.is_list:
        r.ctx.error(node, r.sub("volumes"), "must be a list")
        return ()
    out: list[Mount] = []
    for index, item in enumerate(node.value):
        path = f"{r.sub('volumes')}[{index}]"
        mount: Mount | None = None
        if isinstance(item.value, str):
            try:
                mount = fields.parse_volume(item.value)
            except ValueError as exc:
                r.ctx.error(item, path, str(exc))
                continue
        elif item.is_map:
            v = _Reader(r.ctx, item, path)
            v.check_keys(frozenset({"type", "source", "target", "read_only", "volume", "bind", "tmpfs", "consistency"}))
            kind = v.string("type", "volume")
            try:
                mtype = MountType(kind)
            except ValueError:
                r.ctx.error(item, f"{path}.type", f"{kind!r} is not one of volume, bind, tmpfs")
                continue
            target = v.string("target")
            if not target.startswith("/"):
                r.ctx.error(item, f"{path}.target", "is required: an absolute container path")
                continue
            mount = Mount(mtype, v.string("source"), target, bool(v.boolean("read_only")))
        else:
            r.ctx.error(item, path, f"must be a string or a mapping, got {_type_name(item.value)}")
            continue
        if mount.type is MountType.BIND:
            if not mount.source:
                r.ctx.error(item, path, "a bind mount needs a source path")
                continue
            mount = Mount(mount.type, _resolve_source(mount.source, pctx.working_dir), mount.target, mount.read_only)
        elif mount.type is MountType.VOLUME and mount.source and mount.source not in volume_keys:
            r.ctx.error(item, path, f"named volume {mount.source!r} is not declared in the top-level volumes section")
            continue
        out.append(mount)
    return tuple(out)


def _service_networks(r: _Reader, network_keys: set[str]) -> tuple[ServiceNetwork, ...]:
    node = r.node.get("networks")
    if node is None or node.value is None:
        return ()
    out: list[ServiceNetwork] = []
    if node.is_list:
        entries: list[tuple[str, Node | None]] = [(n, None) for n in r.strings("networks")]
    elif node.is_map:
        entries = list(node.items())
    else:
        r.ctx.error(node, r.sub("networks"), "must be a list or a mapping")
        return ()
    for key, value in entries:
        path = f"{r.sub('networks')}.{key}"
        if key not in network_keys:
            r.ctx.error(value or node, path, f"network {key!r} is not declared in the top-level networks section")
            continue
        aliases: tuple[str, ...] = ()
        if value is not None and value.value is not None:
            if not value.is_map:
                r.ctx.error(value, path, "must be a mapping or empty")
                continue
            n = _Reader(r.ctx, value, path)
            n.check_keys(frozenset({"aliases"}), frozenset({"ipv4_address", "ipv6_address", "link_local_ips", "priority", "mac_address", "driver_opts"}))
            aliases = n.strings("aliases")
        out.append(ServiceNetwork(key, aliases))
    return tuple(out)


def _check_dependencies(ctx: _Ctx, services_node: Node, services: list[Service], names: set[str]) -> None:
    by_name = {s.name: s for s in services}
    for service in services:
        node = services_node.value[service.name]
        dep_node = node.get("depends_on") or node
        for dep in service.depends_on:
            if dep.service not in names and dep.service not in services_node.value:
                ctx.error(dep_node, f"services.{service.name}.depends_on", f"depends on undefined service {dep.service!r}")
            elif dep.service == service.name:
                ctx.error(dep_node, f"services.{service.name}.depends_on", "a service cannot depend on itself")
    # cycles: depth-first search over the defined services
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for dep in by_name[name].depends_on:
            if dep.service not in by_name or dep.service == name:
                continue
            if state.get(dep.service) == 1:
                cycle = " -> ".join([*trail[trail.index(dep.service):], dep.service])
                node = services_node.value[name]
                ctx.error(node.get("depends_on") or node, f"services.{name}.depends_on", f"dependency cycle: {cycle}")
            elif dep.service not in state:
                visit(dep.service, [*trail, dep.service])
        state[name] = 2

    for service in services:
        if service.name not in state:
            visit(service.name, [service.name])
