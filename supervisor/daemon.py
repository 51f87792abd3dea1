"""The composition root: one root nursery, services started in dependency order.

Start order: state directories and the data-root lock → event history →
image store → engine (recovers containers before it reports ready) → API
server (the socket appears only now, so "socket exists" means "ready") →
signal watcher. Shutdown runs in reverse: the API stops accepting, the engine
stops every container with its stop signal and timeout, the history is
flushed, and the process exits 0. A second SIGTERM/SIGINT cancels at once.
"""

from __future__ import annotations

import fcntl
import os
import platform
import resource
import shutil
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from supervisor import __version__, _logging
from supervisor.activity import Activity
from supervisor.api.app import build_router, metrics_router
from supervisor.api.http import serve_tcp, serve_unix
from supervisor.api.router import Router
from supervisor.compose.backend_http import HttpBackend
from supervisor.compose.service import ServiceSupervisor
from supervisor.engine.cgroups import detect_layout, swap_limit_probe
from supervisor.engine.defaults import ALL_CAPABILITIES, RLIMIT_NUMBERS
from supervisor.engine.engine import Engine, EngineConfig
from supervisor.engine.paths import EnginePaths
from supervisor.engine.prepare import BundleContext
from supervisor.engine.process import become_subreaper
from supervisor.engine.runtime import RuncRuntime
from supervisor.errors import BerthError
from supervisor.events.bus import EventBus
from supervisor.events.history import EventHistory
from supervisor.events.model import EventType
from supervisor.images.store import ImageStore
from supervisor.logs.options import parse_daemon_log_opts
from supervisor.network.manager import NetworkConfig, NetworkManager
from supervisor.stats.sampler import StatsSampler, Target
from supervisor.volumes.service import VolumeService
from supervisor.volumes.store import VolumeStore

log = _logging.get_logger("supervisor.daemon")

SWITCH_INTERVAL = 0.0005  # seconds; see run_daemon

CAPABILITY_BITS = {name: bit for bit, name in enumerate(ALL_CAPABILITIES)}
DEFAULT_DATA_ROOT = "/var/lib/berth"
DEFAULT_EXEC_ROOT = "/run/berth"
DEFAULT_HOST = "unix:///run/berth/berth.sock"


@dataclass(frozen=True, slots=True)
class DaemonOptions:
    data_root: Path
    exec_root: Path
    socket_path: Path
    runtime: str = "runc"
    cgroup_parent: str = "/berth"
    log_opts: Mapping[str, str] = field(default_factory=dict)
    metrics_addr: tuple[str, int] | None = None
    stats_interval: float = 1.0
    bridge_name: str = ""
    bridge_subnet: str = ""
    service_files: tuple[str, ...] = ()
    nat: bool = False
    spare_netns: int = 2


def socket_path_from_host(host: str) -> Path:
    """``unix:///run/berth/berth.sock`` → the path; anything else is refused."""
    if host.startswith("unix://"):
        path = host[len("unix://") :]
    elif host.startswith("/"):
        path = host
    else:
        msg = f"unsupported host {host!r}: only unix:///path sockets are served"
        raise SystemExit(msg)
    if not path:
        msg = f"invalid host {host!r}: empty socket path"
        raise SystemExit(msg)
    return Path(path)


def _stats_targets(engine: Engine) -> list[Target]:
    """What the stats sampler reads each tick: every running container's cgroup and init."""
    return [
        Target(
            c.id, c.name, c.record.spec.image, f"{engine.config.cgroup_parent}/{c.id}",
            c.state.pid, c.record.spec.resources.memory,
        )
        for c in engine.list()
        if c.state.running and c.state.pid
    ]


def parse_metrics_addr(value: str) -> tuple[str, int]:
    """``127.0.0.1:9323`` → (host, port); refuses anything else with a clear message."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        msg = f"invalid --metrics-addr {value!r}: expected HOST:PORT, e.g. 127.0.0.1:9323"
        raise SystemExit(msg)
    return host.strip("[]"), int(port)


def _lock_data_root(data_root: Path) -> int:
    """Hold an exclusive lock on the data root for the daemon's lifetime."""
    fd = os.open(data_root / "berth.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        msg = f"another berth daemon is using the data root {data_root}"
        raise SystemExit(msg) from None
    return fd


def _host_rlimits() -> dict[str, tuple[int, int]]:
    """The daemon's own (soft, hard) limits by OCI name: containers never get more."""
    return {oci: resource.getrlimit(num) for oci, num in RLIMIT_NUMBERS.items()}


def _host_capabilities() -> frozenset[str]:
    """The daemon's bounding set: a container cannot be given a capability outside it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            mask = int(line.split()[1], 16)
            return frozenset(
                name for name, bit in CAPABILITY_BITS.items() if mask & (1 << bit)
            )
    return frozenset(CAPABILITY_BITS)


def _init_binary() -> str | None:
    for candidate in ("tini-static", "docker-init", "tini"):
        path = shutil.which(candidate)
        if path:
            return path
    return None


def version_info(runtime: str) -> dict[str, object]:
    uname = platform.uname()
    details = {
        "ApiVersion": "1.50",
        "MinAPIVersion": "1.24",
        "GitCommit": "berth",
        "GoVersion": f"python{platform.python_version()}",
        "Os": "linux",
        "Arch": "amd64" if uname.machine == "x86_64" else uname.machine,
        "KernelVersion": uname.release,
        "Experimental": "false",
        "BuildTime": "",
    }
    return {
        "Platform": {"Name": "berth"},
        "Components": [
            {"Name": "Engine", "Version": __version__, "Details": details},
            {"Name": runtime, "Version": "", "Details": {"GitCommit": ""}},
        ],
        "Version": __version__,
        "ApiVersion": "1.50",
        "MinAPIVersion": "1.24",
        "GitCommit": "berth",
        "GoVersion": details["GoVersion"],
        "Os": "linux",
        "Arch": details["Arch"],
        "KernelVersion": uname.release,
        "Experimental": False,
        "BuildTime": "",
    }


async def _watch_signals(
    cancel_api: trio.CancelScope,
    cancel_services: trio.CancelScope,
    root: trio.CancelScope,
    engine: Engine,
    services: ServiceSupervisor,
) -> None:
    """SIGHUP: reload the service files. First SIGTERM/SIGINT: graceful shutdown; a second: now."""
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
        async for signum in signals:
            if signum == signal.SIGHUP:
                log.info("reloading service files", signal="SIGHUP")
                services.request_reload()
                continue
            log.info("shutting down", signal=signal.Signals(signum).name)
            cancel_services.cancel()
            cancel_api.cancel()
            async with trio.open_nursery() as nursery:

                async def second_signal() -> None:
                    async for again in signals:
                        if again == signal.SIGHUP:
                            continue
                        log.warning("second signal: exiting now")
                        root.cancel()
                        return

                nursery.start_soon(second_signal)
                await engine.shutdown()
                nursery.cancel_scope.cancel()
            return


async def _run_in_scope(
    scope: trio.CancelScope, service: Any, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    with scope:
        await service(task_status=task_status)


async def serve(options: DaemonOptions) -> None:
    become_subreaper()
    paths = EnginePaths(options.data_root, options.exec_root)
    for directory in (options.data_root, options.exec_root, *paths.all_dirs()):
        directory.mkdir(parents=True, exist_ok=True, mode=0o711)
    lock_fd = _lock_data_root(options.data_root)
    try:
        layout = await trio.to_thread.run_sync(
            lambda: detect_layout(
                Path("/proc/self/mountinfo").read_text(), Path("/proc/self/cgroup").read_text()
            )
        )
        history = EventHistory(paths.events)
        await trio.to_thread.run_sync(history.load)
        bus = EventBus(history=history)
        images = await trio.to_thread.run_sync(
            lambda: ImageStore.open(paths.images, exec_root=options.exec_root)
        )
        runtime = RuncRuntime(options.runtime, paths.runtime_root, paths.runtime_logs)
        activity = Activity()
        await runtime.refresh_binary()
        swap_probe = swap_limit_probe(layout)
        context = BundleContext(
            cgroup_layout=layout,
            host_rlimits=_host_rlimits(),
            host_resolv_conf=_read_text("/etc/resolv.conf"),
            host_capabilities=_host_capabilities(),
            swap_limit_supported=swap_probe is not None and swap_probe.exists(),
        )
        engine = Engine(
            EngineConfig(
                paths=paths, cgroup_parent=options.cgroup_parent, init_path=_init_binary(),
                daemon_log_opts=options.log_opts,
            ),
            runtime, images, bus, context, activity=activity,
        )
        volumes = VolumeService(
            VolumeStore(options.data_root / "volumes"), bus,
            state_dirs=(options.data_root, options.exec_root), sockets=(options.socket_path,),
        )
        await volumes.load()
        engine.volumes = volumes
        network = NetworkManager(
            NetworkConfig(
                options.data_root, options.exec_root,
                bridge_name=options.bridge_name, bridge_subnet=options.bridge_subnet,
                nat=options.nat,
                host_resolv_conf=context.host_resolv_conf,
                spare_netns=options.spare_netns,
            ),
            bus,
            activity,
        )
        engine.network = network
        sampler = StatsSampler(
            lambda: _stats_targets(engine), layout,
            interval=options.stats_interval, on_oom=engine.note_oom,
        )
        engine.exit_hook = sampler.check_oom
        engine.remove_hook = sampler.forget
        facts = {
            "DataRoot": str(options.data_root),
            "CgroupVersion": "2" if layout.version.is_v2 else "1",
            "Runtime": runtime.name,
        }
        backend = HttpBackend(f"unix://{options.socket_path}")
        services = ServiceSupervisor(options.service_files, backend, bus.publish)
        router = build_router(
            engine=engine, images=images, bus=bus, sampler=sampler, volumes=volumes, network=network,
            reload=services.reload if options.service_files else None,
            version_info=lambda: version_info(runtime.name), daemon_info=lambda: facts,
        )
        async with trio.open_nursery() as root:
            await root.start(history.run_writer)
            await root.start(network.run)
            await root.start(engine.run)
            await root.start(sampler.run)
            if options.metrics_addr is not None:
                host, port = options.metrics_addr
                await root.start(serve_tcp, host, port, metrics_router(router))
            api_scope = trio.CancelScope()
            await root.start(_started_api, api_scope, str(options.socket_path), router)
            services_scope = trio.CancelScope()
            if options.service_files:
                await root.start(_run_in_scope, services_scope, services.run)
            bus.publish(EventType.DAEMON, "start", "berth", {"name": platform.node()})
            log.info("daemon ready", socket=str(options.socket_path), data_root=str(options.data_root), runtime=runtime.name, cgroups=layout.version.value)
            await _watch_signals(api_scope, services_scope, root.cancel_scope, engine, services)
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                await backend.aclose()
            bus.publish(EventType.DAEMON, "shutdown", "berth", {"name": platform.node()})
            root.cancel_scope.cancel()
        runtime.close()
    finally:
        os.close(lock_fd)
    log.info("daemon stopped")


async def _started_api(
    scope: trio.CancelScope,
    path: str,
    router: Router,
    *,
    task_status: trio.TaskStatus[list[trio.SocketListener]] = trio.TASK_STATUS_IGNORED,
) -> None:
    with scope:
        await serve_unix(path, router, task_status=task_status)


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def run_daemon(
    data_root: str = DEFAULT_DATA_ROOT,
    exec_root: str = DEFAULT_EXEC_ROOT,
    host: str = DEFAULT_HOST,
    runtime: str = "runc",
    log_level: str = "info",
    log_opts: tuple[str, ...] = (),
    metrics_addr: str | None = None,
    stats_interval: float = 1.0,
    bridge_name: str = "",
    bridge_subnet: str = "",
    service_files: tuple[str, ...] = (),
    nat: bool = False,
    spare_netns: int = 2,
) -> None:
    """Run the daemon in the foreground until SIGTERM/SIGINT."""
    _logging.configure(level=log_level)
    try:
        daemon_log_opts = parse_daemon_log_opts(log_opts)
    except BerthError as exc:
        msg = f"berth daemon: --log-opt: {exc.message}"
        raise SystemExit(msg) from exc
    if os.geteuid() != 0:
        msg = "berth daemon must run as root"
        raise SystemExit(msg)
    if runtime not in ("runc", "crun"):
        msg = f"unknown runtime {runtime!r}: use runc or crun"
        raise SystemExit(msg)
    options = DaemonOptions(
        data_root=Path(data_root).absolute(),
        exec_root=Path(exec_root).absolute(),
        socket_path=socket_path_from_host(host),
        runtime=runtime,
        log_opts=daemon_log_opts,
        metrics_addr=parse_metrics_addr(metrics_addr) if metrics_addr else None,
        stats_interval=stats_interval,
        bridge_name=bridge_name,
        bridge_subnet=bridge_subnet,
        service_files=tuple(str(Path(f).absolute()) for f in service_files),
        nat=nat,
        spare_netns=spare_netns,
    )
    # The trio thread answers the API while worker threads do Python work
    # (bundles, state files, cleanup after an exit). With the default 5 ms
    # GIL switch interval a reply could wait that long for the GIL; 0.5 ms
    # keeps the loop responsive at a negligible cost in thread throughput.
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        trio.run(serve, options)
    except BerthError as exc:
        msg_0 = f"berth daemon: {exc.message}"
        raise SystemExit(msg_0) from exc
