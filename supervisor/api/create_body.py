"""Docker's ``POST /containers/create`` and ``/update`` bodies → berth's model.

Theory of operation:

1. Read the JSON the way Go's ``encoding/json`` fills moby's structs
   (``_fields.Obj``): keys match exactly, else case-insensitively; ``null`` is
   the zero value; a wrong JSON type is a 400 that names the field, in Go's own
   words ("json: cannot unmarshal string into Go struct field
   HostConfig.Memory of type int64").
2. Validate the request as moby's ``verifyContainerSettings`` and
   ``verifyPlatformContainerResources`` do, with their messages.
3. Merge the image's config exactly as moby's ``merge(userConf, imageConf)``.

Pure: no I/O, no clock. The image is resolved by the caller.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from supervisor.engine.model import (
    DEFAULT_SHM_SIZE,
    ContainerSpec,
    HealthConfig,
    LogConfig,
    Resources,
    RestartPolicy,
    Ulimit,
)
from supervisor.errors import InvalidArgument
from supervisor.images.model import Image
from supervisor.volumes.plan import MountRequest, validate_request
from supervisor.volumes.specs import parse_volumes_from

# --- reading JSON the way Go fills a struct --------------------------------------------

_INT_RANGES = {
    "int64": (-(2**63), 2**63 - 1),
    "int": (-(2**63), 2**63 - 1),
    "uint": (0, 2**64 - 1),
}


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def _type_error(value: Any, path: str, go_type: str) -> InvalidArgument:
    kind = _json_kind(value)
    if kind == "number" and go_type in _INT_RANGES:
        kind = f"number {value}"  # Go names the number it could not fit
    msg = f"json: cannot unmarshal {kind} into Go struct field {path} of type {go_type}"
    return InvalidArgument(msg)


class Obj:
    """One JSON object read as Go's ``encoding/json`` fills a struct.

    Keys match exactly, else case-insensitively; ``null`` and absence give the
    zero value; any other JSON type mismatch raises ``InvalidArgument`` naming
    the field path (``HostConfig.Memory``) and the Go type.
    """

    __slots__ = ("_data", "_path")

    def __init__(self, data: Mapping[str, Any], path: str) -> None:
        self._data = data
        self._path = path

    @classmethod
    def root(cls, data: Any, go_type: str) -> Obj:
        if data is None:
            return cls({}, "")
        if not isinstance(data, Mapping):
            msg = f"json: cannot unmarshal {_json_kind(data)} into Go value of type {go_type}"
            raise InvalidArgument(msg)
        return cls(data, "")

    @classmethod
    def empty(cls, path: str) -> Obj:
        return cls({}, path)

    def _field(self, key: str) -> str:
        base = self._path or "ContainerConfig"
        return f"{base}.{key}"

    def _get(self, key: str) -> Any:
        if key in self._data:
            return self._data[key]
        folded = key.casefold()
        for k, v in self._data.items():
            if isinstance(k, str) and k.casefold() == folded:
                return v
        return None

    def has(self, key: str) -> bool:
        """Present and not null."""
        return self._get(key) is not None

    def text(self, key: str) -> str:
        value = self._get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise _type_error(value, self._field(key), "string")
        return value

    def _int(self, value: Any, path: str, go_type: str) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _type_error(value, path, go_type)
        low, high = _INT_RANGES[go_type]
        if isinstance(value, float) or not low <= value <= high:
            raise _type_error(value, path, go_type)
        return value

    def number(self, key: str, go_type: str = "int64") -> int:
        value = self._get(key)
        return 0 if value is None else self._int(value, self._field(key), go_type)

    def opt_number(self, key: str, go_type: str = "int64") -> int | None:
        value = self._get(key)
        return None if value is None else self._int(value, self._field(key), go_type)

    def flag(self, key: str) -> bool:
        return bool(self.opt_flag(key))

    def opt_flag(self, key: str) -> bool | None:
        value = self._get(key)
        if value is not None and not isinstance(value, bool):
            raise _type_error(value, self._field(key), "bool")
        return value

    def _list(self, key: str, go_type: str) -> list[Any] | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, (list, tuple)):
            raise _type_error(value, self._field(key), go_type)
        return list(value)

    def strs(self, key: str) -> tuple[str, ...] | None:
        """A ``[]string``; None when absent or null (Go's nil slice)."""
        items = self._list(key, "[]string")
        if items is None:
            return None
        for item in items:
            if item is not None and not isinstance(item, str):
                raise _type_error(item, self._field(key), "string")
        return tuple(item or "" for item in items)

    def strslice(self, key: str) -> tuple[str, ...] | None:
        """moby's ``StrSlice``: a string is a one-element list."""
        value = self._get(key)
        if isinstance(value, str):
            return (value,)
        if value is not None and not isinstance(value, (list, tuple)):
            raise _type_error(value, self._field(key), "strslice.StrSlice")
        return self.strs(key)

    def ints(self, key: str, go_type: str) -> tuple[int, ...] | None:
        items = self._list(key, f"[]{go_type}")
        if items is None:
            return None
        return tuple(0 if i is None else self._int(i, self._field(key), go_type) for i in items)

    def _map(self, key: str, go_type: str) -> Mapping[str, Any] | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise _type_error(value, self._field(key), go_type)
        return value

    def strmap(self, key: str) -> dict[str, str] | None:
        """A ``map[string]string``; None when absent or null."""
        value = self._map(key, "map[string]string")
        if value is None:
            return None
        for v in value.values():
            if v is not None and not isinstance(v, str):
                raise _type_error(v, self._field(key), "string")
        return {str(k): v or "" for k, v in value.items()}

    def map_keys(self, key: str) -> tuple[str, ...]:
        """The keys of a set-like ``map[string]struct{}`` (ExposedPorts, Volumes)."""
        value = self._map(key, "map[string]struct {}")
        if value is None:
            return ()
        for v in value.values():
            if v is not None and not isinstance(v, Mapping):
                raise _type_error(v, self._field(key), "struct {}")
        return tuple(str(k) for k in value)

    def obj(self, key: str, go_type: str) -> Obj | None:
        value = self._map(key, go_type)
        return (
            None if value is None else Obj(value, self._field(key).removeprefix("ContainerConfig."))
        )

    def objs(self, key: str, go_type: str) -> list[Obj] | None:
        items = self._list(key, f"[]{go_type}")
        if items is None:
            return None
        path = self._field(key)
        out = []
        for item in items:
            if item is not None and not isinstance(item, Mapping):
                raise _type_error(item, path, go_type)
            out.append(Obj(item or {}, path))
        return out

    def map_of_obj(self, key: str, go_type: str) -> dict[str, Obj | None]:
        """A ``map[string]*T`` of objects (null values allowed)."""
        value = self._map(key, f"map[string]*{go_type}")
        out: dict[str, Obj | None] = {}
        for k, v in (value or {}).items():
            if v is not None and not isinstance(v, Mapping):
                raise _type_error(v, self._field(key), go_type)
            out[str(k)] = None if v is None else Obj(v, self._field(key))
        return out

    def map_of_objs(self, key: str, go_type: str) -> dict[str, list[Obj] | None]:
        """A ``map[string][]T`` (PortBindings: null or a list of objects per key)."""
        value = self._map(key, f"map[string][]{go_type}")
        out: dict[str, list[Obj] | None] = {}
        path = self._field(key)
        for k, items in (value or {}).items():
            if items is None:
                out[str(k)] = None
                continue
            if not isinstance(items, (list, tuple)):
                raise _type_error(items, path, f"[]{go_type}")
            objs = []
            for item in items:
                if item is not None and not isinstance(item, Mapping):
                    raise _type_error(item, path, go_type)
                objs.append(Obj(item or {}, path))
            out[str(k)] = objs
        return out


# --- names ----------------------------------------------------------------------------

_NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_HOST_LABEL_RE = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$")


def validate_container_name(name: str) -> str:
    """Check a container name against Docker's rule and return it without the ``/``."""
    if not _NAME_RE.match(name):
        msg = f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        raise InvalidArgument(msg)
    return name.removeprefix("/")


def validate_hostname(hostname: str) -> None:
    """RFC 1123 host name that the kernel accepts (``sethostname`` takes ≤ 64 bytes)."""
    labels = hostname.split(".")
    if len(hostname) > 64 or not all(_HOST_LABEL_RE.match(label) for label in labels):
        msg = (
            f"invalid hostname format: {hostname!r} (RFC 1123: at most 64 characters, "
            "dot-separated labels of letters, digits and '-')"
        )
        raise InvalidArgument(msg)


# --- moby's small validators -----------------------------------------------------------

_SIGNALS: frozenset[str] = frozenset(
    {s.name.removeprefix("SIG") for s in signal.Signals}
    | {f"RTMIN+{i}" for i in range(1, 16)}
    | {f"RTMAX-{i}" for i in range(1, 15)}
)


def validate_signal(raw: str) -> None:
    """moby ``signal.ParseSignal``: a non-zero number or a name with or without ``SIG``."""
    try:
        number = int(raw)
    except ValueError:
        if raw.upper().removeprefix("SIG") in _SIGNALS:
            return
    else:
        if number != 0:
            return
    msg = f"Invalid signal: {raw}"
    raise InvalidArgument(msg)


CAPABILITIES = frozenset(
    "CAP_" + c
    for c in (
        "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP "
        "LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK "
        "IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN "
        "SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE "
        "AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND "
        "AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE"
    ).split()
)


def _validate_caps(caps: tuple[str, ...], field_name: str) -> None:
    for cap in caps:
        upper = cap.upper()
        if upper == "ALL":
            continue
        if not upper.startswith("CAP_"):
            upper = "CAP_" + upper
        if upper not in CAPABILITIES:
            msg = f'invalid {field_name}: unknown capability: "{upper}"'
            raise InvalidArgument(msg)


_ULIMITS = frozenset(
    "core cpu data fsize locks memlock msgqueue nice nofile nproc rss rtprio rttime "
    "sigpending stack".split()
)


def _validate_extra_host(value: str) -> None:
    """moby ``opts.ValidateExtraHost``: ``host:ip`` or ``host=ip`` (ip may be host-gateway)."""
    host, sep, ip = value.partition("=")
    if not sep:
        host, sep, ip = value.partition(":")
    if ip != "host-gateway":
        bare = ip[1:-1] if len(ip) > 2 and ip[0] == "[" and ip[-1] == "]" else ip
        try:
            ipaddress.ip_address(bare)
        except ValueError as exc:
            msg = f"invalid IP address in add-host: {bare!r}"
            raise InvalidArgument(msg) from exc
    if not sep or not host:
        msg = f"bad format for add-host: {value!r}"
        raise InvalidArgument(msg)


def _validate_cpuset(value: str, what: str) -> None:
    for part in value.split(","):
        low, dash, high = part.partition("-")
        ok = low.isdigit() and (not dash or (high.isdigit() and int(low) <= int(high)))
        if not ok:
            msg = f"Invalid value {value} for cpuset {what}"
            raise InvalidArgument(msg)


_PROTOCOLS = ("tcp", "udp", "sctp")


def normalize_port(key: str) -> str:
    """nat.Port form ``"80/tcp"``: a missing protocol means tcp; the port must be 1-65535."""
    port, _, proto = key.partition("/")
    proto = proto.lower() or "tcp"
    if not port.isdigit() or not 0 < int(port) <= 65535 or proto not in _PROTOCOLS:
        msg = f"invalid port specification: {key!r}"
        raise InvalidArgument(msg)
    return f"{int(port)}/{proto}"


def _validate_host_port(value: str) -> None:
    low, dash, high = value.partition("-")
    ok = low.isdigit() and int(low) <= 65535
    if dash:
        ok = ok and high.isdigit() and int(low) <= int(high) <= 65535
    if not ok:
        msg = f"invalid port specification: {value!r}"
        raise InvalidArgument(msg)


def _clean_workdir(path: str) -> str:
    if not path.startswith("/"):
        msg = f"the working directory '{path}' is invalid, it needs to be an absolute path"
        raise InvalidArgument(msg)
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/")  # Go's Clean turns a leading "//" into "/"


# --- pieces of the body ----------------------------------------------------------------

_MIN_DURATION_NS = 1_000_000


def _read_health(obj: Obj | None) -> HealthConfig | None:
    if obj is None:
        return None
    health = HealthConfig(
        test=obj.strs("Test") or (),
        interval=obj.number("Interval"),
        timeout=obj.number("Timeout"),
        start_period=obj.number("StartPeriod"),
        start_interval=obj.number("StartInterval"),
        retries=obj.number("Retries", "int"),
    )
    for label, value in (
        ("Interval", health.interval),
        ("Timeout", health.timeout),
        ("StartPeriod", health.start_period),
        ("StartInterval", health.start_interval),
    ):
        if value != 0 and value < _MIN_DURATION_NS:
            msg = f"{label} in Healthcheck cannot be less than 1ms"
            raise InvalidArgument(msg)
    if health.retries < 0:
        msg = "Retries in Healthcheck cannot be negative"
        raise InvalidArgument(msg)
    return health


def _merge_health(user: HealthConfig | None, image: HealthConfig | None) -> HealthConfig | None:
    """moby merge: the image's check fills every zero field of the request's."""
    if image is not None:
        if user is None:
            return image
        user = HealthConfig(
            test=user.test or image.test,
            interval=user.interval or image.interval,
            timeout=user.timeout or image.timeout,
            start_period=user.start_period or image.start_period,
            start_interval=user.start_interval or image.start_interval,
            retries=user.retries or image.retries,
        )
    if user is not None and user == HealthConfig():
        return None  # an all-zero check with nothing to inherit is no check
    return user


def parse_restart_policy(obj: Obj | None) -> RestartPolicy:
    """moby ``ValidateRestartPolicy``; the legacy empty name means ``no``."""
    if obj is None:
        return RestartPolicy()
    name = obj.text("Name")
    count = obj.number("MaximumRetryCount", "int")
    if name == "":
        return RestartPolicy()
    if name in ("no", "always", "unless-stopped"):
        if count != 0:
            msg = "invalid restart policy: maximum retry count can only be used with 'on-failure'"
            if count < 0:
                msg += " and cannot be negative"
            raise InvalidArgument(msg)
    elif name == "on-failure":
        if count < 0:
            msg = "invalid restart policy: maximum retry count cannot be negative"
            raise InvalidArgument(msg)
    else:
        msg = (
            f"invalid restart policy: unknown policy '{name}'; use one of "
            "'no', 'always', 'on-failure', or 'unless-stopped'"
        )
        raise InvalidArgument(msg)
    return RestartPolicy(name=name, maximum_retry_count=count)


def _read_log_config(obj: Obj | None) -> LogConfig:
    if obj is None:
        return LogConfig()
    return LogConfig(type=obj.text("Type") or "json-file", config=obj.strmap("Config") or {})


def _read_ulimits(host: Obj) -> tuple[Ulimit, ...]:
    out = []
    for item in host.objs("Ulimits", "units.Ulimit") or ():
        limit = Ulimit(name=item.text("Name"), soft=item.number("Soft"), hard=item.number("Hard"))
        if limit.name not in _ULIMITS:
            msg = f"invalid ulimit type: {limit.name}"
            raise InvalidArgument(msg)
        if limit.soft > limit.hard:
            msg = (
                "ulimit soft limit must be less than or equal to hard limit: "
                f"{limit.soft} > {limit.hard}"
            )
            raise InvalidArgument(msg)
        out.append(limit)
    return tuple(out)


_RESOURCE_FIELDS = {  # JSON key -> (Resources field, Go type)
    "Memory": ("memory", "int64"),
    "MemorySwap": ("memory_swap", "int64"),
    "MemoryReservation": ("memory_reservation", "int64"),
    "NanoCpus": ("nano_cpus", "int64"),
    "CpuPeriod": ("cpu_period", "int64"),
    "CpuQuota": ("cpu_quota", "int64"),
    "CpuShares": ("cpu_shares", "int64"),
}
_MIN_MEMORY = 6 * 1024 * 1024


def _read_resources(obj: Obj) -> dict[str, Any]:
    """The Resources fields present in a body (absent and null are left out)."""
    found: dict[str, Any] = {}
    for key, (attr, go_type) in _RESOURCE_FIELDS.items():
        if obj.has(key):
            found[attr] = obj.number(key, go_type)
    for key, attr, what in (
        ("CpusetCpus", "cpuset_cpus", "cpus"),
        ("CpusetMems", "cpuset_mems", "mems"),
    ):
        if obj.has(key):
            value = obj.text(key)
            if value:
                _validate_cpuset(value, what)
            found[attr] = value
    if obj.has("PidsLimit"):
        pids = obj.opt_number("PidsLimit")
        found["pids_limit"] = pids if pids is not None and pids > 0 else 0
    if obj.has("Ulimits"):
        found["ulimits"] = _read_ulimits(obj)
    return found


def validate_resources(res: Resources, *, update: bool = False) -> None:
    """moby ``verifyPlatformContainerResources`` for the limits berth applies."""
    checks = (
        (res.memory != 0 and res.memory < _MIN_MEMORY, "Minimum memory limit allowed is 6MB"),
        (
            res.memory > 0 and res.memory_swap > 0 and res.memory_swap < res.memory,
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ),
        (
            not update and res.memory == 0 and res.memory_swap > 0,
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ),
        (
            res.memory > 0 and res.memory_reservation > 0 and res.memory < res.memory_reservation,
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        ),
        (
            res.memory_reservation != 0 and res.memory_reservation < _MIN_MEMORY,
            "Minimum memory reservation allowed is 6MB",
        ),
        (res.nano_cpus < 0, "Range of CPUs is from 0.01 to the number of CPUs available"),
        (
            res.nano_cpus > 0 and res.cpu_period > 0,
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ),
        (
            res.nano_cpus > 0 and res.cpu_quota > 0,
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        ),
        (
            res.cpu_period != 0 and not 1000 <= res.cpu_period <= 1_000_000,
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ),
        (
            0 < res.cpu_quota < 1000,
            "CPU cfs quota can not be less than 1ms (i.e. 1000)",
        ),
        (res.cpu_shares < 0, "invalid CpuShares: cannot be negative"),
    )
    for failed, msg in checks:
        if failed:
            raise InvalidArgument(msg)


def _read_port_bindings(host: Obj) -> dict[str, tuple[dict[str, str], ...]]:
    out: dict[str, tuple[dict[str, str], ...]] = {}
    for key, items in host.map_of_objs("PortBindings", "nat.PortBinding").items():
        bindings = []
        for item in items or ():
            binding = {"HostIp": item.text("HostIp"), "HostPort": item.text("HostPort")}
            if binding["HostPort"]:
                _validate_host_port(binding["HostPort"])
            bindings.append(binding)
        out[normalize_port(key)] = tuple(bindings)
    return out


def _read_console_size(host: Obj) -> tuple[int, int] | None:
    sizes = host.ints("ConsoleSize", "uint")
    if not sizes:
        return None
    height, width = [*sizes, 0, 0][:2]
    return None if (height, width) == (0, 0) else (height, width)


def _union(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*first, *second)))


def _merge_env(user: tuple[str, ...], image: tuple[str, ...]) -> tuple[str, ...]:
    """moby merge: the request's variables, then the image's whose names it does not set."""
    if not user:
        return image
    names = {entry.partition("=")[0] for entry in user}
    return (*user, *(e for e in image if e.partition("=")[0] not in names))


def parse_endpoints(body: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """``NetworkingConfig.EndpointsConfig`` as network name → aliases (``default`` → bridge)."""
    top = Obj.root(body, "container.CreateRequest")
    net = top.obj("NetworkingConfig", "network.NetworkingConfig")
    if net is None:
        return {}
    out = {}
    for name, endpoint in net.map_of_obj("EndpointsConfig", "network.EndpointSettings").items():
        aliases = endpoint.strs("Aliases") if endpoint is not None else None
        out["bridge" if name in ("", "default") else name] = aliases or ()
    return out


# --- the create body -------------------------------------------------------------------


def parse_create(body: Mapping[str, Any], image: Image, *, name: str | None) -> ContainerSpec:
    """Build a container's spec from a create body merged with its image's config.

    Args:
        body: the decoded JSON of ``POST /containers/create`` (Config fields at
            the top level, ``HostConfig``, ``NetworkingConfig``).
        image: the image ``body["Image"]`` resolved to.
        name: the ``name`` query parameter, validated here (None or "" = none).

    Raises:
        InvalidArgument: a wrong JSON type or a value Docker rejects, with Docker's message.
    """
    if name:
        validate_container_name(name)
    top = Obj.root(body, "container.CreateRequest")
    host = top.obj("HostConfig", "container.HostConfig") or Obj.empty("HostConfig")
    parse_endpoints(body)  # type-checks NetworkingConfig
    img = image.config

    hostname = top.text("Hostname")
    if hostname:
        validate_hostname(hostname)
    env = top.strs("Env") or ()
    for entry in env:
        if not entry.partition("=")[0]:
            msg = f"invalid environment variable: {entry}"
            raise InvalidArgument(msg)
    working_dir = top.text("WorkingDir")
    if working_dir:
        working_dir = _clean_workdir(working_dir)
    stop_signal = top.text("StopSignal")
    if stop_signal:
        validate_signal(stop_signal)

    user_cmd = top.strslice("Cmd")
    user_entrypoint = top.strslice("Entrypoint")
    if user_entrypoint:  # moby: a request entrypoint drops the image's Cmd
        cmd = user_cmd or ()
        entrypoint = () if user_entrypoint == ("",) else user_entrypoint
    else:
        cmd = user_cmd or img.cmd
        entrypoint = img.entrypoint if user_entrypoint is None else ()
    if not cmd and not entrypoint:
        msg = "No command specified"
        raise InvalidArgument(msg)

    network_mode = host.text("NetworkMode")
    if network_mode in ("", "default"):
        network_mode = "bridge"
    if network_mode.startswith("container:") and hostname:
        msg = "conflicting options: hostname and the network mode"
        raise InvalidArgument(msg)

    resources = Resources(**_read_resources(host))
    validate_resources(resources)
    restart_policy = parse_restart_policy(host.obj("RestartPolicy", "container.RestartPolicy"))
    auto_remove = host.flag("AutoRemove")
    if auto_remove and restart_policy.name != "no":
        msg = "can't create 'AutoRemove' container with restart policy"
        raise InvalidArgument(msg)

    cap_add, cap_drop = host.strs("CapAdd") or (), host.strs("CapDrop") or ()
    _validate_caps(cap_add, "CapAdd")
    _validate_caps(cap_drop, "CapDrop")
    binds = host.strs("Binds") or ()
    extra_hosts = host.strs("ExtraHosts") or ()
    for extra in extra_hosts:
        _validate_extra_host(extra)
    shm_size = host.number("ShmSize")
    if shm_size < 0:
        msg = "SHM size can not be less than 0"
        raise InvalidArgument(msg)
    mounts = tuple(dict(o._data) for o in host.objs("Mounts", "mount.Mount") or ())
    volumes_from = host.strs("VolumesFrom") or ()
    for item in volumes_from:
        parse_volumes_from(item)
    volumes = _union(top.map_keys("Volumes"), img.volumes)
    tmpfs = host.strmap("Tmpfs") or {}
    validate_request(
        MountRequest(binds=binds, mounts=mounts, volumes=volumes, tmpfs=tmpfs, volumes_from=volumes_from)
    )

    exposed = tuple(normalize_port(p) for p in top.map_keys("ExposedPorts"))
    labels = {**img.labels, **(top.strmap("Labels") or {})}
    return ContainerSpec(
        image=top.text("Image") or image.id,
        image_id=image.id,
        cmd=cmd,
        entrypoint=entrypoint,
        env=_merge_env(env, img.env),
        working_dir=working_dir or img.working_dir,
        user=top.text("User") or img.user,
        hostname=hostname,
        domainname=top.text("Domainname"),
        labels=labels,
        tty=top.flag("Tty"),
        open_stdin=top.flag("OpenStdin"),
        stdin_once=top.flag("StdinOnce"),
        attach_stdin=top.flag("AttachStdin"),
        attach_stdout=top.flag("AttachStdout"),
        attach_stderr=top.flag("AttachStderr"),
        stop_signal=stop_signal or img.stop_signal,
        stop_timeout=top.opt_number("StopTimeout", "int"),
        healthcheck=_merge_health(
            _read_health(top.obj("Healthcheck", "container.HealthConfig")), img.healthcheck
        ),
        exposed_ports=_union(exposed, img.exposed_ports),
        volumes=volumes,
        shell=top.strs("Shell") or img.shell,
        init=bool(host.opt_flag("Init")),
        auto_remove=auto_remove,
        privileged=host.flag("Privileged"),
        readonly_rootfs=host.flag("ReadonlyRootfs"),
        cap_add=cap_add,
        cap_drop=cap_drop,
        network_mode=network_mode,
        binds=binds,
        mounts=mounts,
        volumes_from=volumes_from,
        port_bindings=_read_port_bindings(host),
        publish_all_ports=host.flag("PublishAllPorts"),
        dns=host.strs("Dns") or (),
        dns_search=host.strs("DnsSearch") or (),
        dns_options=host.strs("DnsOptions") or (),
        extra_hosts=extra_hosts,
        shm_size=shm_size or DEFAULT_SHM_SIZE,
        tmpfs=tmpfs,
        sysctls=host.strmap("Sysctls") or {},
        restart_policy=restart_policy,
        log_config=_read_log_config(host.obj("LogConfig", "container.LogConfig")),
        resources=resources,
        console_size=_read_console_size(host),
    )


_IGNORED_HOST_FIELDS = (
    "Links", "Devices", "DeviceRequests", "DeviceCgroupRules", "SecurityOpt",
    "GroupAdd", "IpcMode", "PidMode", "UTSMode", "UsernsMode", "CgroupParent", "OomScoreAdj",
    "OomKillDisable", "MemorySwappiness", "BlkioWeight", "BlkioWeightDevice", "Runtime",
    "BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps",
    "CpuRealtimePeriod", "CpuRealtimeRuntime", "StorageOpt", "VolumeDriver", "MaskedPaths",
    "ReadonlyPaths", "Annotations",
)  # fmt: skip


def create_warnings(body: Mapping[str, Any]) -> list[str]:
    """Warnings for the create reply: HostConfig settings berth accepts but does not apply."""
    host = body.get("HostConfig") if isinstance(body, Mapping) else None
    if not isinstance(host, Mapping):
        return []
    return [
        f"HostConfig.{key} is not supported by berth and was ignored"
        for key in _IGNORED_HOST_FIELDS
        if host.get(key) not in (None, "", 0, False, [], {})
    ]


# --- the update body -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContainerUpdate:
    """What ``POST /containers/{id}/update`` asks to change.

    ``resources`` holds only the Resources fields to change (moby applies a
    field only when it is non-zero, and PidsLimit only when present);
    ``restart_policy`` is None when the body names no policy.
    """

    resources: Mapping[str, Any] = field(default_factory=dict)
    restart_policy: RestartPolicy | None = None

    @property
    def empty(self) -> bool:
        return not self.resources and self.restart_policy is None


def parse_update(body: Mapping[str, Any]) -> ContainerUpdate:
    """Read an update body (Resources fields + RestartPolicy) into the changes it asks for.

    Raises:
        InvalidArgument: wrong JSON types, or a restart policy Docker rejects.
    """
    top = Obj.root(body, "container.UpdateConfig")
    found = _read_resources(top)
    changes = {k: v for k, v in found.items() if k == "pids_limit" or v not in (0, "")}
    changes.pop("ulimits", None)  # moby cannot update ulimits in place either
    policy_obj = top.obj("RestartPolicy", "container.RestartPolicy")
    policy = None
    if policy_obj is not None and policy_obj.text("Name") != "":
        policy = parse_restart_policy(policy_obj)
    return ContainerUpdate(resources=changes, restart_policy=policy)


def apply_update(spec: ContainerSpec, update: ContainerUpdate) -> ContainerSpec:
    """The spec after an update, with moby's ``UpdateContainer`` conflict checks.

    Raises:
        InvalidArgument: the change conflicts with the container's current settings.
    """
    cur = spec.resources
    new = update.resources
    mem = new.get("memory", 0)
    if mem and cur.memory_swap > 0 and mem > cur.memory_swap and not new.get("memory_swap"):
        msg = (
            "Memory limit should be smaller than already set memoryswap limit, "
            "update the memoryswap at the same time"
        )
        raise InvalidArgument(msg)
    if (
        new.get("nano_cpus")
        and (cur.cpu_quota > 0 or cur.cpu_period > 0)
        and not ("cpu_quota" in new or "cpu_period" in new)
    ):
        msg = "Conflicting options: Nano CPUs cannot be updated as CPU Period/Quota has already been set"
        raise InvalidArgument(msg)
    if (
        (new.get("cpu_quota") or new.get("cpu_period"))
        and cur.nano_cpus > 0
        and "nano_cpus" not in new
    ):
        msg = "Conflicting options: CPU Quota/Period cannot be updated as NanoCPUs has already been set"
        raise InvalidArgument(msg)
    resources = replace(cur, **new)
    validate_resources(resources, update=True)
    policy = spec.restart_policy
    if update.restart_policy is not None:
        if update.restart_policy.name != "no" and spec.auto_remove:
            msg = "Restart policy cannot be updated because AutoRemove is enabled for the container"
            raise InvalidArgument(msg)
        policy = update.restart_policy
    return replace(spec, resources=resources, restart_policy=policy)
