"""The container's model: what the user asked for (spec) and what happened (state).

Pure data, no I/O. A ``ContainerSpec`` is the merged result of the image's
config and the create request (Docker merges at create time, so a spec is
self-contained and survives the image being retagged). A ``State`` is the
runtime record that Docker calls ``State`` plus the fields the restart rules
need (restart count, manual-stop flag). Both are frozen; changes produce new
values through ``dataclasses.replace`` or the transitions in ``state.py``.

Both serialise to plain JSON through ``to_json``/``from_json`` below so that
the on-disk format is ours (stable, versioned) and not Docker's wire shape.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

SHORT_ID_LEN = 12
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_STOP_TIMEOUT = 10
DEFAULT_SHM_SIZE = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Ulimit:
    """One rlimit, by Docker's short name (``nofile``, ``nproc``, ...)."""

    name: str
    soft: int
    hard: int


@dataclass(frozen=True, slots=True)
class Resources:
    """cgroup limits in Docker's units (bytes, nano-CPUs, microseconds, shares).

    Zero means "not set" everywhere, as in Docker's HostConfig; ``memory_swap``
    is the total of memory and swap (-1 = unlimited swap), ``pids_limit`` <= 0
    means unlimited.
    """

    memory: int = 0
    memory_swap: int = 0
    memory_reservation: int = 0
    nano_cpus: int = 0
    cpu_period: int = 0
    cpu_quota: int = 0
    cpu_shares: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    pids_limit: int = 0
    ulimits: tuple[Ulimit, ...] = ()


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """Docker's HostConfig.RestartPolicy; ``name`` is no|always|on-failure|unless-stopped."""

    name: str = "no"
    maximum_retry_count: int = 0


@dataclass(frozen=True, slots=True)
class LogConfig:
    """The log driver and its options (json-file by default)."""

    type: str = "json-file"
    config: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HealthConfig:
    """Docker's HealthConfig; durations in nanoseconds, 0 = default."""

    test: tuple[str, ...] = ()
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


@dataclass(frozen=True, slots=True)
class Mount:
    """One OCI mount, exactly as it goes into config.json."""

    destination: str
    type: str
    source: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    """Everything a container was created with: image config merged with the request.

    Field names follow Docker's Config and HostConfig in snake case.
    """

    image: str
    image_id: str = ""
    cmd: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    working_dir: str = ""
    user: str = ""
    hostname: str = ""
    domainname: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    tty: bool = False
    open_stdin: bool = False
    stdin_once: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = False
    attach_stderr: bool = False
    stop_signal: str = ""
    stop_timeout: int | None = None
    healthcheck: HealthConfig | None = None
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    shell: tuple[str, ...] = ()
    # HostConfig
    init: bool = False
    auto_remove: bool = False
    privileged: bool = False
    readonly_rootfs: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    network_mode: str = "bridge"
    binds: tuple[str, ...] = ()
    # HostConfig.Mounts (the API objects as sent) and HostConfig.VolumesFrom.
    mounts: tuple[Mapping[str, Any], ...] = ()
    volumes_from: tuple[str, ...] = ()
    port_bindings: Mapping[str, tuple[Mapping[str, str], ...]] = field(default_factory=dict)
    publish_all_ports: bool = False
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()
    shm_size: int = DEFAULT_SHM_SIZE
    tmpfs: Mapping[str, str] = field(default_factory=dict)
    sysctls: Mapping[str, str] = field(default_factory=dict)
    restart_policy: RestartPolicy = field(default_factory=RestartPolicy)
    log_config: LogConfig = field(default_factory=LogConfig)
    resources: Resources = field(default_factory=Resources)
    console_size: tuple[int, int] | None = None

    @property
    def argv(self) -> tuple[str, ...]:
        """The process's full argument vector: entrypoint then cmd."""
        return (*self.entrypoint, *self.cmd)


@dataclass(frozen=True, slots=True)
class HealthLogEntry:
    """One health probe result (unix ns times; exit code -1 for a timeout or error)."""

    start: int
    end: int
    exit_code: int
    output: str


@dataclass(frozen=True, slots=True)
class Health:
    """Docker's State.Health: status (starting|healthy|unhealthy), streak, last 5 results."""

    status: str = "starting"
    failing_streak: int = 0
    log: tuple[HealthLogEntry, ...] = ()


class Status(enum.Enum):
    """Docker's State.Status values."""

    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    REMOVING = "removing"
    EXITED = "exited"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class State:
    """A container's runtime record. Times are unix nanoseconds; 0 means never.

    The flags are not exclusive, as in Docker: paused implies running, and
    restarting implies running with pid 0.
    """

    running: bool = False
    paused: bool = False
    restarting: bool = False
    removing: bool = False
    dead: bool = False
    oom_killed: bool = False
    pid: int = 0
    pid_start: int = 0
    exit_code: int = 0
    error: str = ""
    started_at: int = 0
    finished_at: int = 0
    restart_count: int = 0
    manually_stopped: bool = False
    health: Health | None = None
    # berth: why the container is not running any more (stopped by hand, retries
    # exhausted, start limit hit, start failed, ...); "" while it runs.
    stop_reason: str = ""

    @property
    def status(self) -> Status:
        """Docker's precedence: running (paused/restarting), removing, dead, created, exited."""
        if self.running:
            if self.paused:
                return Status.PAUSED
            if self.restarting:
                return Status.RESTARTING
            return Status.RUNNING
        if self.removing:
            return Status.REMOVING
        if self.dead:
            return Status.DEAD
        if self.started_at == 0:
            return Status.CREATED
        return Status.EXITED


@dataclass(frozen=True, slots=True)
class ContainerRecord:
    """A container as the engine knows it: identity, spec and state."""

    id: str
    name: str
    created: int
    spec: ContainerSpec
    state: State = field(default_factory=State)

    @property
    def short_id(self) -> str:
        return self.id[:SHORT_ID_LEN]


# --- JSON (our on-disk format) -------------------------------------------------


def to_json(value: Any) -> Any:
    """Turn a model value into plain JSON data (dataclasses become dicts)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [to_json(v) for v in value]
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _convert(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if data is None:
            return None
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(members[0], data)
    if dataclasses.is_dataclass(tp):
        return from_json(tp, data)  # type: ignore[arg-type]
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v) for v in data)
        return tuple(_convert(a, v) for a, v in zip(args, data, strict=True))
    if origin in (Mapping, dict) or tp is dict:
        args = typing.get_args(tp)
        vt = args[1] if args else Any
        return {k: _convert(vt, v) for k, v in data.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(data)
    return data


def from_json(cls: type[T], data: Mapping[str, Any]) -> T:
    """Rebuild a model dataclass from ``to_json`` output; unknown keys are ignored."""
    hints = _hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            kwargs[f.name] = _convert(hints[f.name], data[f.name])
    return cls(**kwargs)
