"""``/metrics``: Prometheus text exposition with cAdvisor's metric names, from the sampler's latest samples.

cAdvisor's names and label keys (``id``, ``name``, ``image``) are kept so
existing dashboards work unchanged; like cAdvisor, ``id`` is the container's
cgroup path ("/berth/<container id>"). The working set is usage minus
inactive file pages (``total_inactive_file`` on v1, ``inactive_file`` on v2;
0 if that exceeds usage), cAdvisor's definition. ``container_spec_memory_limit_bytes``
is 0 when there is no limit, as cAdvisor reports an unset limit.

No global registry state: ``build_registry`` makes a fresh ``CollectorRegistry``
holding one custom collector that reads the sampler at scrape time, plus the
daemon's own process metrics and counters supplied as callables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from supervisor.errors import RuntimeFailed
from supervisor.stats.math import block_totals
from supervisor.stats.sampler import Latest, StatsSampler

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LABELS = ["id", "name", "image"]
#: A v1 limit at or above this is "no limit" (the kernel's PAGE_COUNTER_MAX x page size).
UNLIMITED_FLOOR = 2**62


@dataclass(frozen=True, slots=True)
class DaemonGauges:
    """Callables for the daemon's own figures, read at scrape time."""

    containers_by_state: Callable[[], Mapping[str, int]]
    events_published: Callable[[], int]


def working_set(usage: int, stats: Mapping[str, int]) -> int:
    """cAdvisor's working set: usage - inactive file pages, floored at 0."""
    inactive = stats.get("total_inactive_file", stats.get("inactive_file", 0))
    return 0 if inactive > usage else usage - inactive


class ContainerCollector(Collector):
    """Builds the container_* families from ``sampler.all_latest()`` at each scrape."""

    def __init__(self, sampler: StatsSampler, daemon: DaemonGauges | None = None) -> None:
        self.sampler = sampler
        self.daemon = daemon

    def collect(self) -> Iterator[Metric]:
        entries = sorted(self.sampler.all_latest(), key=lambda e: e.target.name)
        cpu = CounterMetricFamily(
            "container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.",
            labels=[*LABELS, "cpu"],
        )
        cpu_user = CounterMetricFamily(
            "container_cpu_user_seconds_total", "Cumulative user cpu time consumed in seconds.",
            labels=LABELS,
        )
        cpu_sys = CounterMetricFamily(
            "container_cpu_system_seconds_total", "Cumulative system cpu time consumed in seconds.",
            labels=LABELS,
        )
        mem = GaugeMetricFamily(
            "container_memory_usage_bytes",
            "Current memory usage in bytes, including all memory regardless of when it was accessed",
            labels=LABELS,
        )
        wset = GaugeMetricFamily(
            "container_memory_working_set_bytes", "Current working set in bytes.", labels=LABELS
        )
        limit = GaugeMetricFamily(
            "container_spec_memory_limit_bytes", "Memory limit for the container.", labels=LABELS
        )
        rx = CounterMetricFamily(
            "container_network_receive_bytes_total", "Cumulative count of bytes received",
            labels=[*LABELS, "interface"],
        )
        tx = CounterMetricFamily(
            "container_network_transmit_bytes_total", "Cumulative count of bytes transmitted",
            labels=[*LABELS, "interface"],
        )
        reads = CounterMetricFamily(
            "container_fs_reads_bytes_total", "Cumulative count of bytes read",
            labels=[*LABELS, "device"],
        )
        writes = CounterMetricFamily(
            "container_fs_writes_bytes_total", "Cumulative count of bytes written",
            labels=[*LABELS, "device"],
        )
        procs = GaugeMetricFamily(
            "container_processes", "Number of processes running inside the container.", labels=LABELS
        )
        for e in entries:
            try:
                self._add(e, cpu, cpu_user, cpu_sys, mem, wset, limit, rx, tx, reads, writes, procs)
            except RuntimeFailed:  # a malformed stat file: this container is left out, not the scrape
                continue
        yield from (cpu, cpu_user, cpu_sys, mem, wset, limit, rx, tx, reads, writes, procs)
        if self.daemon is not None:
            yield from self._daemon_metrics(self.daemon)

    @staticmethod
    def _add(e: Latest, cpu, cpu_user, cpu_sys, mem, wset, limit, rx, tx, reads, writes, procs) -> None:  # type: ignore[no-untyped-def]
        t, s = e.target, e.cur
        labels = [t.cgroups_path, t.name, t.image]
        c = s.cgroup
        cpu.add_metric([*labels, "total"], c.cpu.total / 1e9)
        cpu_user.add_metric(labels, c.cpu.user / 1e9)
        cpu_sys.add_metric(labels, c.cpu.kernel / 1e9)
        mem.add_metric(labels, float(c.memory.usage))
        wset.add_metric(labels, float(working_set(c.memory.usage, c.memory.stats)))
        raw_limit = c.memory.limit
        limit.add_metric(labels, 0.0 if raw_limit >= UNLIMITED_FLOOR else float(raw_limit))
        for ifname, n in sorted((s.networks or {}).items()):
            rx.add_metric([*labels, ifname], float(n.rx_bytes))
            tx.add_metric([*labels, ifname], float(n.tx_bytes))
        by_device: dict[str, list[int]] = {}
        for entry in c.blkio.get("io_service_bytes_recursive") or ():
            read, write = block_totals([entry])
            acc = by_device.setdefault(f"{entry.major}:{entry.minor}", [0, 0])
            acc[0] += read
            acc[1] += write
        for device, (r, w) in sorted(by_device.items()):
            reads.add_metric([*labels, device], float(r))
            writes.add_metric([*labels, device], float(w))
        procs.add_metric(labels, float(c.pids.current))

    def _daemon_metrics(self, daemon: DaemonGauges) -> Iterator[Metric]:
        states = GaugeMetricFamily(
            "berth_containers", "Containers known to the daemon, by state.", labels=["state"]
        )
        for state, count in sorted(daemon.containers_by_state().items()):
            states.add_metric([state], float(count))
        yield states
        events = CounterMetricFamily("berth_events_published", "Events published on the bus.")
        events.add_metric([], float(daemon.events_published()))
        yield events
        ticks = CounterMetricFamily("berth_stats_ticks", "Sampler ticks completed.")
        ticks.add_metric([], float(self.sampler.ticks))
        yield ticks
        errors = CounterMetricFamily("berth_stats_read_errors", "Container stat reads that failed.")
        errors.add_metric([], float(self.sampler.errors))
        yield errors


def build_registry(sampler: StatsSampler, daemon: DaemonGauges | None = None) -> CollectorRegistry:
    """A fresh registry: the container collector plus this process's cpu/memory/fd metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ContainerCollector(sampler, daemon))
    ProcessCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The text exposition of ``registry`` (Prometheus format 0.0.4)."""
    return generate_latest(registry)


async def serve_metrics_tcp(
    host: str,
    port: int,
    registry: CollectorRegistry,
    *,
    task_status: Any = None,
) -> None:
    """Serve ``GET /metrics`` (any path, really) over plain TCP for ``--metrics-addr``.

    A minimal HTTP/1.0 responder on trio: read the request head, answer the
    exposition, close. Prometheus scrapers need nothing more.
    """
    import trio

    async def handle(stream: trio.SocketStream) -> None:
        try:
            head = b""
            with trio.move_on_after(10):
                while b"\r\n\r\n" not in head and len(head) < 16384:
                    chunk = await stream.receive_some(4096)
                    if not chunk:
                        return
                    head += chunk
            method, _, rest = head.partition(b" ")
            path = rest.split(b" ", 1)[0]
            if method != b"GET" or path.split(b"?")[0] not in (b"/metrics", b"/"):
                await stream.send_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                return
            body = await trio.to_thread.run_sync(exposition, registry)
            await stream.send_all(
                b"HTTP/1.0 200 OK\r\nContent-Type: " + CONTENT_TYPE.encode()
                + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
        except (trio.BrokenResourceError, OSError):
            pass
        finally:
            await stream.aclose()

    listeners = await trio.open_tcp_listeners(port, host=host)
    if task_status is not None:
        task_status.started(listeners[0].socket.getsockname()[1])
    await trio.serve_listeners(handle, listeners)
