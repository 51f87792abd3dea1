"""What one stats sample holds: the numbers Docker's stats JSON is made of, per source.

Pure data. Every counter is an ``int`` in Docker's units (nanoseconds for CPU,
bytes for memory and I/O). Each part is filled by one parser module
(``cgroup_v1``, ``cgroup_v2``, ``procstat``, ``netdev``); ``docker_json``
renders a sample (plus the previous one) as Docker's JSON and ``math`` derives
what the CLI shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from supervisor.api.humanize import rfc3339_nano
from supervisor.errors import InvalidArgument, RuntimeFailed

#: Docker's names of the eight blkio lists, in its JSON order.
BLKIO_KEYS: tuple[str, ...] = (
    "io_service_bytes_recursive",
    "io_serviced_recursive",
    "io_queue_recursive",
    "io_service_time_recursive",
    "io_wait_time_recursive",
    "io_merged_recursive",
    "io_time_recursive",
    "sectors_recursive",
)

#: What Go's ``math.MaxUint64`` is: containerd's reading of ``max`` in v2 limit files.
MAX_UINT64 = 2**64 - 1


@dataclass(frozen=True, slots=True)
class CpuUsage:
    """cgroup CPU accounting, all nanoseconds; ``percpu`` is empty on cgroup v2."""

    total: int = 0
    user: int = 0
    kernel: int = 0
    percpu: tuple[int, ...] = ()
    periods: int = 0
    throttled_periods: int = 0
    throttled_time: int = 0


@dataclass(frozen=True, slots=True)
class MemoryUsage:
    """cgroup memory accounting in bytes.

    ``limit`` is the raw cgroup limit (v2 ``max`` → MAX_UINT64); the cap at the
    host's memory happens when rendering. ``max_usage`` is None on v2 (Docker
    omits it). ``oom_kills`` is the kernel's ``oom_kill`` counter (0 if absent).
    """

    usage: int = 0
    max_usage: int | None = None
    failcnt: int = 0
    limit: int = 0
    stats: Mapping[str, int] = field(default_factory=dict)
    oom_kills: int = 0


@dataclass(frozen=True, slots=True)
class BlkioEntry:
    """One ``{major, minor, op, value}`` entry of Docker's blkio lists."""

    major: int
    minor: int
    op: str
    value: int


@dataclass(frozen=True, slots=True)
class PidsUsage:
    """``pids.current`` and ``pids.max`` (0 = unlimited on v1, MAX_UINT64 on v2, as Docker)."""

    current: int = 0
    limit: int = 0


@dataclass(frozen=True, slots=True)
class CgroupUsage:
    """Everything read from one container's cgroup in one tick.

    ``blkio`` maps each of BLKIO_KEYS to its entries, or None where Docker
    sends ``null`` (v2 fills only io_service_bytes_recursive).
    """

    v2: bool
    cpu: CpuUsage
    memory: MemoryUsage
    blkio: Mapping[str, tuple[BlkioEntry, ...] | None]
    pids: PidsUsage


@dataclass(frozen=True, slots=True)
class NetCounters:
    """One interface's counters, Docker's eight fields."""

    rx_bytes: int = 0
    rx_packets: int = 0
    rx_errors: int = 0
    rx_dropped: int = 0
    tx_bytes: int = 0
    tx_packets: int = 0
    tx_errors: int = 0
    tx_dropped: int = 0


@dataclass(frozen=True, slots=True)
class SystemCpu:
    """From /proc/stat: host CPU time (ns, Docker's 7-field sum) and the number of cpuN lines."""

    usage: int
    online_cpus: int


@dataclass(frozen=True, slots=True)
class Figures:
    """What every tick keeps of a sample: the numbers of the history point, CPU % and OOM.

    ``cpu_total`` in ns; ``cpus`` is the number of ``percpu`` entries (the
    fallback for online CPUs); ``memory_used`` is the docker CLI's (usage less
    inactive file pages); ``memory_limit`` is the raw cgroup limit.
    """

    cpu_total: int = 0
    cpus: int = 0
    memory_usage: int = 0
    memory_used: int = 0
    memory_limit: int = 0
    net_rx: int = 0
    net_tx: int = 0
    block_read: int = 0
    block_write: int = 0
    pids: int = 0
    oom_kills: int = 0


Parse = Callable[[], tuple[CgroupUsage, Mapping[str, NetCounters] | None]]


class Sample:
    """One container at one tick.

    ``read_ns`` is wall-clock unix nanoseconds (Docker's ``read``);
    ``networks`` is None when the container shares the host's network
    namespace or has only ``lo`` (Docker omits the key then).

    A sampler tick builds it from ``figures`` and a ``parse`` function over
    the files' texts: ``cgroup`` and ``networks`` are parsed on first use
    (``/stats``, ``/metrics``), since most samples of an idle box are never
    looked at whole. A malformed file then raises RuntimeFailed (500): the
    daemon could not read the container's stats.
    """

    __slots__ = ("_cgroup", "_networks", "_parse", "figures", "read_ns", "system")

    def __init__(
        self,
        read_ns: int,
        system: SystemCpu,
        cgroup: CgroupUsage | None = None,
        networks: Mapping[str, NetCounters] | None = None,
        *,
        figures: Figures | None = None,
        parse: Parse | None = None,
    ) -> None:
        if cgroup is None and parse is None:
            msg = "a Sample needs its cgroup usage or a parse function"
            raise TypeError(msg)
        self.read_ns = read_ns
        self.system = system
        self._cgroup = cgroup
        self._networks = networks
        self._parse = parse
        if figures is None:
            from supervisor.stats.figures import figures_of

            figures = figures_of(self.cgroup, self.networks)
        self.figures = figures

    def _resolve(self) -> None:
        parse = self._parse
        if parse is None:
            return
        try:
            self._cgroup, self._networks = parse()
        except InvalidArgument as exc:
            msg = f"cannot read the container's stats: {exc.message}"
            raise RuntimeFailed(msg) from exc
        self._parse = None

    @property
    def cgroup(self) -> CgroupUsage:
        if self._parse is not None:
            self._resolve()
        assert self._cgroup is not None
        return self._cgroup

    @property
    def networks(self) -> Mapping[str, NetCounters] | None:
        if self._parse is not None:
            self._resolve()
        return self._networks

    def __repr__(self) -> str:
        return f"Sample(read_ns={self.read_ns}, system={self.system}, figures={self.figures})"


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One row of the history ring: the derived numbers only (a full Sample is ~100x bigger).

    ``cpu_percent`` is computed against the previous sample when the point is
    recorded, so every point in the ring has one.
    """

    read_ns: int
    cpu_percent: float
    cpu_total_ns: int
    memory_usage: int
    memory_used: int
    memory_limit: int
    net_rx: int
    net_tx: int
    block_read: int
    block_write: int
    pids: int

    def to_json(self) -> dict[str, object]:
        """The berth ``/stats/history`` shape of this point."""
        limit = self.memory_limit
        return {
            "read": rfc3339_nano(self.read_ns),
            "timestamp": self.read_ns / 1e9,
            "cpu_percent": round(self.cpu_percent, 4),
            "cpu_total_ns": self.cpu_total_ns,
            "memory_usage": self.memory_usage,
            "memory_used": self.memory_used,
            "memory_limit": limit,
            "memory_percent": round(self.memory_used / limit * 100, 4) if limit else 0.0,
            "net_rx_bytes": self.net_rx,
            "net_tx_bytes": self.net_tx,
            "block_read_bytes": self.block_read,
            "block_write_bytes": self.block_write,
            "pids": self.pids,
        }


@dataclass(frozen=True, slots=True)
class Target:
    """One running container the sampler should read, as the engine describes it.

    Args:
        id: the full container id.
        name: the name without the leading slash.
        image: the image as the user typed it (the ``image`` label of /metrics).
        cgroups_path: the OCI cgroupsPath, e.g. "/berth/<id>".
        pid: the init's host pid (0 if unknown: no network figures then).
        memory_limit_hint: the spec's memory limit in bytes (0 = none), used when
            the host has no memory controller to read the limit from.
    """

    id: str
    name: str
    image: str
    cgroups_path: str
    pid: int
    memory_limit_hint: int = 0
