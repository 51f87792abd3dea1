"""A validated compose project: frozen, resolved, ready to plan.

Everything here has already been checked by ``validate.py``: names are valid,
sizes are bytes, durations are seconds, relative paths are absolute,
``environment`` holds the final values (``env_file`` read, bare names taken
from the environment). Mappings are tuples of pairs so every model is
hashable and compares by value. Pure data, no behaviour beyond lookups.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

Pairs = tuple[tuple[str, str], ...]


class Condition(enum.Enum):
    """What ``depends_on`` waits for before starting the dependent service."""

    STARTED = "service_started"
    HEALTHY = "service_healthy"
    COMPLETED = "service_completed_successfully"


@dataclass(frozen=True, slots=True)
class Dependency:
    service: str
    condition: Condition = Condition.STARTED
    required: bool = True


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """``no``, ``always``, ``on-failure[:N]`` or ``unless-stopped``."""

    name: str = "no"
    max_retries: int = 0

    def __str__(self) -> str:
        if self.name == "on-failure" and self.max_retries:
            return f"on-failure:{self.max_retries}"
        return self.name


@dataclass(frozen=True, slots=True)
class Healthcheck:
    """Durations in seconds; None means "the image's or Docker's default"."""

    test: tuple[str, ...] = ()
    interval: float | None = None
    timeout: float | None = None
    start_period: float | None = None
    start_interval: float | None = None
    retries: int | None = None
    disable: bool = False


@dataclass(frozen=True, slots=True)
class Port:
    """One published or exposed port. ``published`` is "" for a random host port."""

    target: int
    published: str = ""
    host_ip: str = ""
    protocol: str = "tcp"
    publish: bool = True  # False: ``expose`` only

    @property
    def key(self) -> str:
        return f"{self.target}/{self.protocol}"


class MountType(enum.Enum):
    VOLUME = "volume"
    BIND = "bind"
    TMPFS = "tmpfs"


@dataclass(frozen=True, slots=True)
class Mount:
    """A service volume: ``source`` is the volume's key in the file (not its real
    name), an absolute host path, or "" for an anonymous volume or a tmpfs."""

    type: MountType
    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class Logging:
    driver: str = ""
    options: Pairs = ()


@dataclass(frozen=True, slots=True)
class Resources:
    memory: int | None = None  # bytes
    memory_reservation: int | None = None
    cpus: float | None = None
    pids: int | None = None


@dataclass(frozen=True, slots=True)
class ServiceNetwork:
    """A network the service joins: its key in the file and extra aliases."""

    key: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    image: str
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    environment: Pairs = ()
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    stop_signal: str = ""
    stop_grace_period: float | None = None
    healthcheck: Healthcheck | None = None
    depends_on: tuple[Dependency, ...] = ()
    ports: tuple[Port, ...] = ()
    volumes: tuple[Mount, ...] = ()
    resources: Resources = field(default_factory=Resources)
    logging: Logging = field(default_factory=Logging)
    labels: Pairs = ()
    init: bool | None = None
    user: str = ""
    working_dir: str = ""
    hostname: str = ""
    domainname: str = ""
    network_mode: str = ""  # "" = the project networks
    networks: tuple[ServiceNetwork, ...] = ()
    container_name: str = ""
    replicas: int = 1
    tty: bool = False
    stdin_open: bool = False
    privileged: bool = False
    read_only: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()
    sysctls: Pairs = ()
    tmpfs: tuple[str, ...] = ()
    shm_size: int | None = None


@dataclass(frozen=True, slots=True)
class Network:
    """A top-level network: ``key`` in the file, ``name`` on the engine."""

    key: str
    name: str
    driver: str = ""
    external: bool = False
    internal: bool = False
    labels: Pairs = ()


@dataclass(frozen=True, slots=True)
class Volume:
    key: str
    name: str
    driver: str = ""
    external: bool = False
    labels: Pairs = ()
    driver_opts: Pairs = ()


@dataclass(frozen=True, slots=True)
class Project:
    name: str
    working_dir: str
    config_files: tuple[str, ...]
    services: tuple[Service, ...]
    networks: tuple[Network, ...] = ()
    volumes: tuple[Volume, ...] = ()
    warnings: tuple[str, ...] = ()

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    def service_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.services)

    def network(self, key: str) -> Network:
        for network in self.networks:
            if network.key == key:
                return network
        raise KeyError(key)

    def volume(self, key: str) -> Volume:
        for volume in self.volumes:
            if volume.key == key:
                return volume
        raise KeyError(key)
