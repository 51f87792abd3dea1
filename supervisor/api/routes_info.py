"""``GET /info`` and ``GET /system/df``: what the daemon is and holds."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from supervisor import __version__
from supervisor.api.humanize import rfc3339_nano
from supervisor.api.request import Request, Response
from supervisor.engine.model import Status

if TYPE_CHECKING:
    from supervisor.api.router import Router
    from supervisor.engine.engine import Engine
    from supervisor.images.store import ImageStore


def _mem_total() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def info_body(engine: Engine, images: ImageStore, facts: Mapping[str, str]) -> dict[str, Any]:
    containers = engine.list()
    statuses = [c.state.status for c in containers]
    uname = platform.uname()
    return {
        "ID": facts.get("ID", ""),
        "Containers": len(containers),
        "ContainersRunning": sum(s is Status.RUNNING or s is Status.RESTARTING for s in statuses),
        "ContainersPaused": sum(s is Status.PAUSED for s in statuses),
        "ContainersStopped": sum(
            s not in (Status.RUNNING, Status.RESTARTING, Status.PAUSED) for s in statuses
        ),
        "Images": len(images.list()),
        "Driver": "overlay2",
        "DriverStatus": [["Backing Filesystem", "extfs"]],
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "none"], "Log": ["json-file"]},
        "MemoryLimit": True,
        "SwapLimit": True,
        "CpuCfsPeriod": True,
        "CpuCfsQuota": True,
        "CPUShares": True,
        "CPUSet": True,
        "PidsLimit": True,
        "OomKillDisable": False,
        "IPv4Forwarding": False,
        "Debug": False,
        "NFd": len(os.listdir("/proc/self/fd")),
        "NGoroutines": 0,
        "SystemTime": rfc3339_nano(time.time_ns()),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": facts.get("CgroupVersion", "1"),
        "NEventsListener": 0,
        "KernelVersion": uname.release,
        "OperatingSystem": _os_name(),
        "OSVersion": "",
        "OSType": "linux",
        "Architecture": uname.machine,
        "IndexServerAddress": "",
        "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": [], "Mirrors": []},
        "NCPU": os.cpu_count() or 1,
        "MemTotal": _mem_total(),
        "DockerRootDir": facts.get("DataRoot", ""),
        "Name": uname.node,
        "Labels": [],
        "ExperimentalBuild": False,
        "ServerVersion": __version__,
        "Runtimes": {facts.get("Runtime", "runc"): {"path": facts.get("Runtime", "runc")}},
        "DefaultRuntime": facts.get("Runtime", "runc"),
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False, "Error": "", "RemoteManagers": None},
        "LiveRestoreEnabled": False,
        "Isolation": "",
        "InitBinary": "docker-init",
        "SecurityOptions": ["name=cgroupns"] if facts.get("CgroupVersion") == "2" else [],
        "Warnings": [],
    }


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def add_info_routes(
    router: Router, engine: Engine, images: ImageStore, facts: Callable[[], Mapping[str, str]]
) -> None:
    async def info(req: Request) -> Response:
        return Response.json(info_body(engine, images, facts()))

    router.add("GET", r"/info", info)
