"""Bundle preparation: everything between "rootfs mounted" and ``runc create``.

One synchronous function, run in a worker thread (it reads /etc/passwd from
the image and writes a few small files): resolve the user, render the
container's hosts/hostname/resolv.conf, build the OCI config with the pure
spec builder and write it into the bundle directory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from supervisor.engine.cgroups import CgroupLayout
from supervisor.engine.etcfiles import render_hostname, render_hosts, render_hosts_of_host, render_resolv_conf
from supervisor.engine.model import ContainerRecord, Mount
from supervisor.engine.paths import EnginePaths
from supervisor.engine.spec import EtcFiles, SpecInputs, build_spec
from supervisor.engine.users import ResolvedUser, resolve_user
from supervisor.images.model import RootfsPlan
from supervisor.network.model import HOST

if TYPE_CHECKING:
    from supervisor.engine.engine import EngineConfig
    from supervisor.network.sandbox import NetworkPlan


HOST_HOSTS = "/etc/hosts"  # the host's own, copied for ``--network host`` containers


@dataclass(frozen=True, slots=True)
class BundleContext:
    """Host facts read once at daemon start."""

    cgroup_layout: CgroupLayout
    host_rlimits: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    host_resolv_conf: str = ""
    host_capabilities: frozenset[str] | None = None
    swap_limit_supported: bool = True


def _read(path: str) -> str | None:
    """A small file's text, or None (``io.open``'s text layer costs more than the read here)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    except IsADirectoryError:
        return None
    finally:
        os.close(fd)
    return b"".join(chunks).decode(errors="replace")


def _etc_dir(plan: RootfsPlan, rootfs: str) -> str:
    """Where the container's /etc really is before the container exists.

    The ``host`` image binds the host's /etc over the rootfs; any other
    image has it inside the mounted rootfs.
    """
    for mount in plan.mounts:
        if mount.destination == "/etc" and mount.type == "bind":
            return mount.source
    return os.path.join(rootfs, "etc")


def _write(path: str, text: str) -> None:
    """Write a generated /etc file only if it changed (one open either way).

    These files are bind-mounted into a running container, so they are
    rewritten in place (a rename would leave the container on the old inode,
    as Docker's do). A start that changes nothing writes nothing.
    """
    data = text.encode()
    try:
        # A new container's file: made and written, nothing to compare (three syscalls:
        # in a worker thread each one waits for the GIL again).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        try:
            # One byte more than ours: a longer file differs too.
            old = os.read(fd, len(data) + 1)
            if old == data:
                return
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
        finally:
            os.close(fd)
        return
    try:
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


def prepare_bundle(
    record: ContainerRecord,
    plan: RootfsPlan,
    paths: EnginePaths,
    context: BundleContext,
    config: EngineConfig,
    net: NetworkPlan | None = None,
    user_mounts: tuple[Mount, ...] | None = None,
    rootfs_propagation: str | None = None,
) -> ResolvedUser:
    """Write the bundle for ``record``'s next run; return the process user.

    ``net`` is the network manager's plan (the netns to join, the container's
    own /etc/hosts lines, its resolver); None means a new netns with only lo.
    """
    cid = record.id
    spec = record.spec
    rootfs = str(paths.rootfs(cid))
    hostname_file, hosts_file, resolv_file = paths.etc_files(cid)
    etc = _etc_dir(plan, rootfs)
    user = resolve_user(spec.user, _read(os.path.join(etc, "passwd")), _read(os.path.join(etc, "group")))
    _write(hostname_file, render_hostname(spec.hostname or cid[:12]))
    host_network = spec.network_mode == HOST
    if host_network:
        # The host's names, as libnetwork copies them for a container on the host's network.
        _write(hosts_file, render_hosts_of_host(_read(HOST_HOSTS) or "", spec.extra_hosts))
    else:
        _write(hosts_file, render_hosts(net.hosts if net else (), spec.extra_hosts))
    nameservers = spec.dns or (net.nameservers if net else ())
    _write(
        resolv_file,
        render_resolv_conf(
            context.host_resolv_conf, nameservers, spec.dns_search, spec.dns_options, host_network=host_network,
        ),
    )
    inputs = SpecInputs(
        container_id=cid,
        rootfs=rootfs,
        user=user,
        hostname=spec.hostname or cid[:12],
        etc_files=EtcFiles(hosts=hosts_file, hostname=hostname_file, resolv_conf=resolv_file),
        image_mounts=plan.mounts,
        user_mounts=user_mounts,
        rootfs_propagation=rootfs_propagation,
        cgroups_path=f"{config.cgroup_parent}/{cid}",
        netns_path=net.netns_path if net else None,
        init_path=config.init_path,
        host_rlimits=context.host_rlimits,
        cgroup_version=context.cgroup_layout.version,
        host_capabilities=context.host_capabilities,
        swap_limit_supported=context.swap_limit_supported,
    )
    oci = build_spec(spec, inputs)
    bundle = str(paths.bundle(cid))
    config_file = os.path.join(bundle, "config.json")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    try:
        fd = os.open(config_file, flags, 0o600)
    except FileNotFoundError:  # the bundle directory is made at create; not for a container from before
        os.makedirs(bundle, exist_ok=True)
        fd = os.open(config_file, flags, 0o600)
    try:
        data = json.dumps(oci).encode()
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)
    return user
