"""A compose service → the Docker ``POST /containers/create`` body, and its config hash.

The body is what docker compose would send (docker-api.md §5): the project
network as ``NetworkMode`` with the service name as alias, named volumes as
``Binds`` (``proj_data:/data:rw``), ports as ``ExposedPorts`` plus
``PortBindings``, healthcheck durations in nanoseconds.

The config hash is a sha256 over the canonical JSON of the body (without
compose's own labels) and the image ID, so a changed file *or* a new image
under the same tag recreates the container, and nothing else does. Pure.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from supervisor.compose import labels as L
from supervisor.compose.model import Healthcheck, MountType, Project, Service

_NS = 1_000_000_000


def _ns(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * _NS)


def healthcheck_body(health: Healthcheck) -> dict[str, Any]:
    if health.disable:
        return {"Test": ["NONE"]}
    body: dict[str, Any] = {}
    if health.test:
        body["Test"] = list(health.test)
    for key, value in (
        ("Interval", health.interval), ("Timeout", health.timeout),
        ("StartPeriod", health.start_period), ("StartInterval", health.start_interval),
    ):
        if value is not None:
            body[key] = _ns(value)
    if health.retries is not None:
        body["Retries"] = health.retries
    return body


def network_mode(project: Project, service: Service) -> str:
    """``NetworkMode``: the explicit mode, else the first project network's real name."""
    if service.network_mode:
        return service.network_mode
    return project.network(service.networks[0].key).name


def container_body(project: Project, service: Service) -> dict[str, Any]:
    """The create body of any container of ``service``, without compose's labels."""
    config: dict[str, Any] = {"Image": service.image}
    host: dict[str, Any] = {}
    if service.command is not None:
        config["Cmd"] = list(service.command)
    if service.entrypoint is not None:
        config["Entrypoint"] = list(service.entrypoint) or [""]
    if service.environment:
        config["Env"] = [f"{k}={v}" for k, v in service.environment]
    for key, attr in (("User", "user"), ("WorkingDir", "working_dir"), ("Hostname", "hostname"),
                      ("Domainname", "domainname"), ("StopSignal", "stop_signal")):
        if getattr(service, attr):
            config[key] = getattr(service, attr)
    if service.stop_grace_period is not None:
        config["StopTimeout"] = round(service.stop_grace_period)
    if service.healthcheck is not None:
        config["Healthcheck"] = healthcheck_body(service.healthcheck)
    if service.tty:
        config["Tty"] = True
    if service.stdin_open:
        config["OpenStdin"] = True
    config["Labels"] = dict(service.labels)

    exposed: dict[str, dict[str, Any]] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for port in service.ports:
        exposed[port.key] = {}
        if port.publish:
            bindings.setdefault(port.key, []).append({"HostIp": port.host_ip, "HostPort": port.published})
    if exposed:
        config["ExposedPorts"] = exposed
    if bindings:
        host["PortBindings"] = bindings

    binds: list[str] = []
    anonymous: dict[str, dict[str, Any]] = {}
    tmpfs: dict[str, str] = {}
    for mount in service.volumes:
        mode = "ro" if mount.read_only else "rw"
        if mount.type is MountType.TMPFS:
            tmpfs[mount.target] = ""
        elif mount.type is MountType.BIND:
            binds.append(f"{mount.source}:{mount.target}:{mode}")
        elif mount.source:
            binds.append(f"{project.volume(mount.source).name}:{mount.target}:{mode}")
        else:
            anonymous[mount.target] = {}
    for entry in service.tmpfs:
        path, _, options = entry.partition(":")
        tmpfs[path] = options
    if anonymous:
        config["Volumes"] = anonymous
    if binds:
        host["Binds"] = binds
    if tmpfs:
        host["Tmpfs"] = tmpfs

    host["NetworkMode"] = network_mode(project, service)
    host["RestartPolicy"] = {"Name": service.restart.name, "MaximumRetryCount": service.restart.max_retries}
    if service.logging.driver or service.logging.options:
        host["LogConfig"] = {"Type": service.logging.driver, "Config": dict(service.logging.options)}
    res = service.resources
    if res.memory is not None:
        host["Memory"] = res.memory
    if res.memory_reservation is not None:
        host["MemoryReservation"] = res.memory_reservation
    if res.cpus is not None:
        host["NanoCpus"] = round(res.cpus * _NS)
    if res.pids is not None:
        host["PidsLimit"] = res.pids
    if service.init is not None:
        host["Init"] = service.init
    for key, value in (("Privileged", service.privileged), ("ReadonlyRootfs", service.read_only)):
        if value:
            host[key] = True
    for key, values in (("CapAdd", service.cap_add), ("CapDrop", service.cap_drop), ("Dns", service.dns),
                        ("DnsSearch", service.dns_search), ("ExtraHosts", service.extra_hosts)):
        if values:
            host[key] = list(values)
    if service.sysctls:
        host["Sysctls"] = dict(service.sysctls)
    if service.shm_size is not None:
        host["ShmSize"] = service.shm_size

    body: dict[str, Any] = {**config, "HostConfig": host}
    if not service.network_mode:
        body["NetworkingConfig"] = {
            "EndpointsConfig": {
                project.network(n.key).name: {"Aliases": [service.name, *n.aliases]}
                for n in service.networks
            }
        }
    return body


def config_hash(body: dict[str, Any], image_id: str) -> str:
    """sha256 of the canonical body and the image ID (compose's ``config-hash`` label)."""
    text = json.dumps({"body": body, "image": image_id}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def labelled_body(
    project: Project, service: Service, body: dict[str, Any], *, number: int, digest: str,
    owner: str = "",
) -> dict[str, Any]:
    """``body`` with compose's labels added (the user's labels stay)."""
    depends = ",".join(f"{d.service}:{d.condition.value}:false" for d in service.depends_on)
    labels = {
        **body.get("Labels", {}),
        **L.container_labels(
            project=project.name, service=service.name, number=number, config_hash=digest,
            config_files=project.config_files, working_dir=project.working_dir,
            depends_on=depends, owner=owner,
        ),
    }
    return {**body, "Labels": labels}


def container_name_for(project: Project, service: Service, number: int) -> str:
    return service.container_name or L.container_name(project.name, service.name, number)
