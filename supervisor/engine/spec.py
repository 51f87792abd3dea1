"""Build the OCI runtime config (config.json) for a container: a pure function.

Theory of operation: ``build_spec(spec, inputs)`` starts from Docker's
defaults (``defaults.py``) and applies the container's settings in the order
moby's ``daemon/oci_linux.go`` does. Everything that needs I/O was resolved
beforehand by the shell and arrives in ``SpecInputs``: the user's ids
(``users.resolve_user`` on the image's /etc files), the generated /etc files,
the network namespace, the daemon's own rlimits and capabilities.

Two places where we must differ from Docker, because berth runs without
CAP_SYS_RESOURCE and maybe without other capabilities: rlimits are clamped to
the daemon's own hard limits, and capabilities to the ones the daemon holds
(runc cannot raise either). Each clamp is reported in ``BuiltSpec.notes`` so
the shell can log it; ``build_spec`` returns just the dict.

Validation with Docker's messages is exposed on its own
(``validate_resources``, ``validate_spec``) so the API refuses bad input at
create time, not at start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from supervisor.engine import defaults as D
from supervisor.engine.cgroups import CgroupVersion
from supervisor.engine.model import DEFAULT_PATH, DEFAULT_SHM_SIZE, ContainerSpec, Mount, Resources
from supervisor.engine.users import ResolvedUser
from supervisor.errors import InvalidArgument, RuntimeFailed

OCI_VERSION = "1.0.2-dev"


@dataclass(frozen=True, slots=True)
class EtcFiles:
    """Host paths of the generated files bind-mounted at /etc/... (None: not mounted)."""

    resolv_conf: str | None = None
    hostname: str | None = None
    hosts: str | None = None


@dataclass(frozen=True, slots=True)
class SpecInputs:
    """Everything ``build_spec`` needs besides the ContainerSpec, resolved by the shell.

    ``host_rlimits`` maps OCI rlimit types to the daemon's own (soft, hard)
    limits; collect them with ``{t: resource.getrlimit(n) for t, n in
    defaults.RLIMIT_NUMBERS.items()}`` (-1 means unlimited). A type missing
    from it is not clamped. ``host_capabilities`` is the daemon's own
    bounding set (None: assume all of ``defaults.ALL_CAPABILITIES``).
    ``netns_path`` None gives a new network namespace (runc brings ``lo``
    up in it); ``network_mode == "host"`` gives none at all.
    """

    container_id: str
    rootfs: str
    user: ResolvedUser = field(default_factory=lambda: ResolvedUser(0, 0))
    hostname: str = ""
    etc_files: EtcFiles = field(default_factory=EtcFiles)
    image_mounts: tuple[Mount, ...] = ()
    # The container's volumes, binds and tmpfs in Docker's order (volumes.ResolvedMounts);
    # None: only HostConfig.Tmpfs, from the spec.
    user_mounts: tuple[Mount, ...] | None = None
    rootfs_propagation: str | None = None
    cgroups_path: str = ""
    netns_path: str | None = None
    init_path: str | None = None
    host_rlimits: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    cgroup_version: CgroupVersion = CgroupVersion.V1
    host_capabilities: frozenset[str] | None = None
    swap_limit_supported: bool = True


@dataclass(frozen=True, slots=True)
class BuiltSpec:
    """The config.json dict plus what was adjusted on the way (for the log)."""

    config: dict[str, Any]
    notes: tuple[str, ...] = ()


# --- validation ---------------------------------------------------------------


def parse_uint_list(value: str) -> frozenset[int]:
    """Parse a cpuset list like ``0-3,5`` (Docker's ``parsers.ParseUintList``).

    Raises:
        InvalidArgument: "invalid format: X".
    """
    out: set[int] = set()
    if value == "":
        return frozenset()
    bad = InvalidArgument(f"invalid format: {value}")
    for part in value.split(","):
        lo, dash, hi = part.partition("-")
        if not _is_uint(lo) or (dash and not _is_uint(hi)):
            raise bad
        if not dash:
            out.add(int(lo))
            continue
        a, b = int(lo), int(hi)
        if b < a or b - a > 65536:
            raise bad
        out.update(range(a, b + 1))
    return frozenset(out)


def _is_uint(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _check_cpuset(value: str, what: str, available: str | None, label: str) -> None:
    try:
        requested = parse_uint_list(value)
    except InvalidArgument as exc:
        msg = f"Invalid value {value} for cpuset {what}: {exc.message}"
        raise InvalidArgument(msg) from exc
    if available is not None and not requested <= parse_uint_list(available):
        msg = f"Requested {label} are not available - requested {value}, available: {available}"
        raise InvalidArgument(msg)


def validate_resources(
    resources: Resources,
    *,
    ncpu: int | None = None,
    available_cpus: str | None = None,
    available_mems: str | None = None,
) -> None:
    """Refuse resource settings Docker refuses, with Docker's messages.

    Args:
        resources: the container's limits.
        ncpu: host CPU count for the --cpus range check (None: skip that bound).
        available_cpus, available_mems: the host's cpuset lists (None: skip).

    Raises:
        InvalidArgument: the first problem found.
    """
    r = resources
    if r.memory != 0 and r.memory < D.MIN_MEMORY:
        msg = "Minimum memory limit allowed is 6MB"
        raise InvalidArgument(msg)
    if r.memory > 0 and r.memory_swap > 0 and r.memory_swap < r.memory:
        msg = "Minimum memoryswap limit should be larger than memory limit, see usage"
        raise InvalidArgument(msg)
    if r.memory == 0 and r.memory_swap > 0:
        msg = "You should always set the Memory limit when using Memoryswap limit, see usage"
        raise InvalidArgument(msg)
    if r.memory_swap < -1:
        msg = f"Invalid memory swap value {r.memory_swap}: use -1 for unlimited swap"
        raise InvalidArgument(msg)
    if r.memory_reservation < 0 or (0 < r.memory_reservation < D.MIN_MEMORY):
        msg_0 = "Minimum memory reservation allowed is 6MB"
        raise InvalidArgument(msg_0)
    if r.memory > 0 and r.memory_reservation > 0 and r.memory < r.memory_reservation:
        msg_0 = "Minimum memory limit can not be less than memory reservation limit, see usage"
        raise InvalidArgument(msg_0)
    if r.nano_cpus > 0 and r.cpu_period > 0:
        msg_0 = "Conflicting options: Nano CPUs and CPU Period cannot both be set"
        raise InvalidArgument(msg_0)
    if r.nano_cpus > 0 and r.cpu_quota > 0:
        msg_0 = "Conflicting options: Nano CPUs and CPU Quota cannot both be set"
        raise InvalidArgument(msg_0)
    too_big = ncpu is not None and r.nano_cpus > ncpu * 10**9
    if r.nano_cpus < 0 or too_big or 0 < r.nano_cpus < 10**7:
        if ncpu is not None:
            msg = (
                f"Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
            )
        else:
            msg = "Range of CPUs starts at 0.01"
        raise InvalidArgument(msg)
    if r.cpu_period != 0 and not 1000 <= r.cpu_period <= 1_000_000:
        msg_0 = (
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
        )
        raise InvalidArgument(msg_0)
    if 0 < r.cpu_quota < 1000:
        msg_0 = "CPU cfs quota can not be less than 1ms (i.e. 1000)"
        raise InvalidArgument(msg_0)
    _check_cpuset(r.cpuset_cpus, "cpus", available_cpus, "CPUs")
    _check_cpuset(r.cpuset_mems, "mems", available_mems, "memory nodes")
    for ul in r.ulimits:
        _ulimit_type(ul.name)
        soft, hard = _rlim(ul.soft), _rlim(ul.hard)
        if soft > hard:
            msg = (
                f"ulimit soft limit must be less than or equal to hard limit: {ul.soft} > {ul.hard}"
            )
            raise InvalidArgument(msg)


_SHARED_FLAGS: dict[str, str] = {}
for _pair in (
    "rw/ro", "suid/nosuid", "dev/nodev", "exec/noexec", "async/sync", "dirsync/",
    "remount/", "mand/nomand", "atime/noatime", "diratime/nodiratime", "bind/", "rbind/",
    "relatime/norelatime", "strictatime/nostrictatime",
):  # fmt: skip
    _a, _b = _pair.split("/")
    _SHARED_FLAGS[_a] = _a
    if _b:
        _SHARED_FLAGS[_b] = _a
for _p in (
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "unbindable",
    "runbindable",
):
    _SHARED_FLAGS[_p] = "propagation"
_TMPFS_DATA = ("size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol")


def merge_tmpfs_options(options: Iterable[str]) -> tuple[str, ...]:
    """moby's ``mount.MergeTmpfsOptions``: later options win over earlier ones of their kind.

    Raises:
        InvalidArgument: an option tmpfs does not take.
    """
    seen: set[str] = set()
    out: list[str] = []
    for option in reversed(list(options)):
        if option in ("defaults", ""):
            continue
        key = _SHARED_FLAGS.get(option)
        if key is None:
            name, eq, _ = option.partition("=")
            if not eq or name not in _TMPFS_DATA:
                quoted = " ".join(f'"{p}"' for p in option.split("=", 1))
                msg = f"Invalid tmpfs option [{quoted}]"
                raise InvalidArgument(msg)
            key = "=" + name
        if key in seen:
            continue
        seen.add(key)
        out.insert(0, option)
    return tuple(out)


def _tmpfs_mounts(tmpfs: Mapping[str, str]) -> list[dict[str, Any]]:
    out = []
    for dest in sorted(tmpfs):
        if not dest.startswith("/"):
            msg = f"invalid mount path: '{dest}' mount path must be absolute"
            raise InvalidArgument(msg)
        if dest.rstrip("/") == "":
            msg_0 = "destination can't be '/'"
            raise InvalidArgument(msg_0)
        data = tmpfs[dest] or ""
        opts = merge_tmpfs_options(["noexec", "nosuid", "nodev", "rprivate", *data.split(",")])
        out.append({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": list(opts)})
    return out


def _check_sysctls(spec: ContainerSpec) -> None:
    for key in spec.sysctls:
        if key in D.NAMESPACED_SYSCTLS or key == "kernel.domainname":
            continue
        if key.startswith(D.NAMESPACED_SYSCTL_PREFIXES):
            if key.startswith("net.") and spec.network_mode == "host":
                msg = f"sysctl '{key}' is not allowed in host network namespace"
                raise InvalidArgument(msg)
            continue
        msg = f"sysctl '{key}' is not allowed: it is not in a separate kernel namespace"
        raise InvalidArgument(msg)


def validate_spec(spec: ContainerSpec) -> None:
    """Everything ``build_spec`` would refuse that does not depend on the host.

    Raises:
        InvalidArgument: with Docker's message where Docker has one.
    """
    if not spec.argv:
        msg = "No command specified"
        raise InvalidArgument(msg)
    if any("\0" in a for a in spec.argv):
        msg = "command arguments must not contain NUL bytes"
        raise InvalidArgument(msg)
    if spec.working_dir and not spec.working_dir.startswith("/"):
        msg = f"the working directory '{spec.working_dir}' is invalid, it needs to be an absolute path"
        raise InvalidArgument(msg)
    _env(spec, "")
    validate_resources(spec.resources)
    normalize_capabilities(spec.cap_add)
    normalize_capabilities(spec.cap_drop)
    _tmpfs_mounts(spec.tmpfs)
    _check_sysctls(spec)


# --- capabilities -------------------------------------------------------------


def normalize_capabilities(caps: Iterable[str]) -> list[str]:
    """Upper-case and ``CAP_``-prefix names; keep the magic ``ALL``.

    Raises:
        InvalidArgument: 'unknown capability: "CAP_X"'.
    """
    out = []
    for c in caps:
        name = c.upper()
        if name != "ALL" and not name.startswith("CAP_"):
            name = "CAP_" + name
        if name != "ALL" and name not in D.ALL_CAPABILITIES:
            msg = f'unknown capability: "{name}"'
            raise InvalidArgument(msg)
        out.append(name)
    return out


def resolve_capabilities(
    spec: ContainerSpec, available: frozenset[str] | None = None
) -> tuple[list[str], list[str]]:
    """moby's ``TweakCapabilities``, then clamped to what the daemon holds.

    Returns:
        (capabilities, notes about capabilities dropped because the daemon lacks them)
    """
    every = list(D.ALL_CAPABILITIES)
    if spec.privileged:
        caps = every
    elif not spec.cap_add and not spec.cap_drop:
        caps = list(D.DEFAULT_CAPABILITIES)
    else:
        drop = normalize_capabilities(spec.cap_drop)
        add = normalize_capabilities(spec.cap_add)
        if "ALL" in add:
            caps = [c for c in every if c not in drop]
        elif "ALL" in drop:
            caps = [c for c in add if c != "ALL"]
        else:
            caps = [c for c in D.DEFAULT_CAPABILITIES if c not in drop] + add
    unique = list(dict.fromkeys(caps))
    notes: list[str] = []
    if available is not None:
        missing = [c for c in unique if c not in available]
        if missing and not spec.privileged:
            notes.append(f"capabilities not held by the daemon, dropped: {', '.join(missing)}")
        elif missing:
            notes.append(
                f"privileged: capabilities not held by the daemon left out: {', '.join(missing)}"
            )
        unique = [c for c in unique if c in available]
    return unique, notes


# --- rlimits ------------------------------------------------------------------


def _ulimit_type(name: str) -> str:
    try:
        return D.ULIMIT_TYPES[name]
    except KeyError:
        msg = f"invalid ulimit type: {name}"
        raise InvalidArgument(msg) from None


def _rlim(value: int) -> int:
    """Docker's -1 and Python's RLIM_INFINITY (-1) both mean unlimited."""
    return D.RLIM_INFINITY if value < 0 or value > D.RLIM_INFINITY else value


def _fmt(value: int) -> str:
    return "unlimited" if value == D.RLIM_INFINITY else str(value)


def build_rlimits(
    resources: Resources, host: Mapping[str, tuple[int, int]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Docker's default nofile plus the container's ulimits, clamped to the daemon's hard limits.

    Returns:
        (OCI rlimits, notes about clamped values)
    """
    wanted: dict[str, tuple[int, int]] = {"RLIMIT_NOFILE": (D.DEFAULT_NOFILE, D.DEFAULT_NOFILE)}
    for ul in resources.ulimits:
        wanted[_ulimit_type(ul.name)] = (_rlim(ul.soft), _rlim(ul.hard))
    out, notes = [], []
    for kind, (soft, hard) in wanted.items():
        if kind in host:
            ceiling = _rlim(host[kind][1])
            if hard > ceiling or soft > ceiling:
                notes.append(
                    f"{kind} {_fmt(soft)}:{_fmt(hard)} clamped to the daemon's hard limit {_fmt(ceiling)}"
                )
                hard, soft = min(hard, ceiling), min(soft, ceiling)
        out.append({"type": kind, "hard": hard, "soft": soft})
    return out, notes


# --- resources ----------------------------------------------------------------


def build_resources(
    r: Resources, swap_supported: bool = True, privileged: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """linux.resources: Docker's memory/swap, CPU and pids semantics plus device rules.

    Returns:
        (OCI linux.resources, notes about adjusted values)
    """
    notes: list[str] = []
    if privileged:
        devices: list[dict[str, Any]] = [{"allow": True, "access": "rwm"}]
    else:
        devices = [dict(rule) for rule in D.DEVICE_RULES]
    out: dict[str, Any] = {"devices": devices}

    memory: dict[str, Any] = {}
    if r.memory > 0:
        memory["limit"] = r.memory
        swap = r.memory_swap if r.memory_swap != 0 else 2 * r.memory
        if not swap_supported:
            notes.append("kernel does not support swap limit: memory limited without swap")
        else:
            memory["swap"] = swap
    if r.memory_reservation > 0:
        memory["reservation"] = r.memory_reservation
    if memory:
        out["memory"] = memory

    cpu: dict[str, Any] = {}
    if r.cpu_shares:
        shares = min(max(r.cpu_shares, D.MIN_CPU_SHARES), D.MAX_CPU_SHARES)
        if shares != r.cpu_shares:
            notes.append(f"Changing requested CPUShares of {r.cpu_shares} to {shares}")
        cpu["shares"] = shares
    if r.nano_cpus > 0:
        cpu["quota"] = r.nano_cpus * D.NANO_CPUS_PERIOD // 10**9
        cpu["period"] = D.NANO_CPUS_PERIOD
    if r.cpu_quota > 0:
        cpu["quota"] = r.cpu_quota
    if r.cpu_period > 0:
        cpu["period"] = r.cpu_period
    if r.cpuset_cpus:
        cpu["cpus"] = r.cpuset_cpus
    if r.cpuset_mems:
        cpu["mems"] = r.cpuset_mems
    if cpu:
        out["cpu"] = cpu
    if r.pids_limit > 0:
        out["pids"] = {"limit": r.pids_limit}
    return out, notes


# --- process ------------------------------------------------------------------


def _env(spec: ContainerSpec, hostname: str) -> list[str]:
    """Docker's CreateDaemonEnvironment + ReplaceOrAppendEnvValues."""
    env = [f"PATH={DEFAULT_PATH}", f"HOSTNAME={hostname}"]
    if spec.tty:
        env.append("TERM=xterm")
    for entry in spec.env:
        name, eq, _ = entry.partition("=")
        if not name or "\0" in entry:
            msg = f"invalid environment variable: {entry!r}"
            raise InvalidArgument(msg)
        idx = next((i for i, e in enumerate(env) if e.partition("=")[0] == name), None)
        if not eq:  # a bare name unsets a default
            if idx is not None:
                del env[idx]
            continue
        if idx is None:
            env.append(entry)
        else:
            env[idx] = entry
    return env


def _process(spec: ContainerSpec, inputs: SpecInputs, notes: list[str]) -> dict[str, Any]:
    if not spec.argv:
        msg = "No command specified"
        raise InvalidArgument(msg)
    args = list(spec.argv)
    if any("\0" in a for a in args):
        msg = "command arguments must not contain NUL bytes"
        raise InvalidArgument(msg)
    if spec.init:
        args = [D.INIT_PATH_IN_CONTAINER, "--", *args]
    cwd = spec.working_dir or "/"
    if not cwd.startswith("/"):
        msg = f"the working directory '{cwd}' is invalid, it needs to be an absolute path"
        raise InvalidArgument(msg)
    caps, cap_notes = resolve_capabilities(spec, inputs.host_capabilities)
    rlimits, rl_notes = build_rlimits(spec.resources, inputs.host_rlimits)
    notes += cap_notes + rl_notes
    user: dict[str, Any] = {"uid": inputs.user.uid, "gid": inputs.user.gid}
    if inputs.user.additional_gids:
        user["additionalGids"] = list(inputs.user.additional_gids)
    process: dict[str, Any] = {
        "terminal": spec.tty,
        "user": user,
        "args": args,
        "env": _env(spec, inputs.hostname),
        "cwd": cwd,
        "capabilities": {"bounding": caps, "effective": list(caps), "permitted": list(caps)},
        "rlimits": rlimits,
        "noNewPrivileges": False,
        "oomScoreAdj": 0,
    }
    if spec.tty and spec.console_size:
        height, width = spec.console_size
        process["consoleSize"] = {"height": height, "width": width}
    return process


# --- mounts -------------------------------------------------------------------


def _mount(dest: str, kind: str, source: str, options: Iterable[str]) -> dict[str, Any]:
    return {"destination": dest, "type": kind, "source": source, "options": list(options)}


def _mounts(spec: ContainerSpec, inputs: SpecInputs) -> list[dict[str, Any]]:
    # Docker clears "ro" on /sys and /sys/fs/cgroup for privileged containers.
    ro = [] if spec.privileged else ["ro"]
    shm = spec.shm_size if spec.shm_size > 0 else DEFAULT_SHM_SIZE
    mounts = [
        _mount("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
        _mount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        _mount("/dev/pts", "devpts", "devpts",
               ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        _mount("/sys", "sysfs", "sysfs", [*ro, "nosuid", "noexec", "nodev"]),
        _mount("/sys/fs/cgroup", "cgroup", "cgroup", [*ro, "nosuid", "noexec", "nodev"]),
        _mount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
        _mount("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", f"size={shm}"]),
    ]  # fmt: skip
    user = inputs.user_mounts
    taken = {m.destination for m in user or ()}
    if user is not None:  # moby: user mounts replace the defaults at their destination
        mounts = [
            m for m in mounts
            if m["destination"] not in taken
            and not ("/dev" in taken and m["destination"].startswith("/dev/"))
        ]
    for m in inputs.image_mounts:
        mounts.append(_mount(m.destination, m.type, m.source, m.options))
    tmpfs = _tmpfs_mounts(spec.tmpfs)  # validates HostConfig.Tmpfs either way
    if user is None:
        mounts += tmpfs
    else:
        mounts += [_mount(m.destination, m.type, m.source, m.options) for m in user]
    etc_opts = ["rbind", "ro", "rprivate"] if spec.readonly_rootfs else ["rbind", "rprivate"]
    etc = inputs.etc_files
    for dest, src in (
        ("/etc/resolv.conf", etc.resolv_conf),
        ("/etc/hostname", etc.hostname),
        ("/etc/hosts", etc.hosts),
    ):
        if src and dest not in taken:
            mounts.append(_mount(dest, "bind", src, etc_opts))
    if spec.init:
        if not inputs.init_path:
            msg = "--init requested but the daemon has no init binary (tini) configured"
            raise RuntimeFailed(msg)
        mounts.append(_mount(D.INIT_PATH_IN_CONTAINER, "bind", inputs.init_path, ["bind", "ro"]))
    return mounts


# --- linux --------------------------------------------------------------------


def _namespaces(spec: ContainerSpec, inputs: SpecInputs) -> list[dict[str, str]]:
    namespaces: list[dict[str, str]] = [{"type": "mount"}]
    if inputs.netns_path:
        namespaces.append({"type": "network", "path": inputs.netns_path})
    elif spec.network_mode != "host":
        namespaces.append({"type": "network"})
    namespaces += [{"type": "uts"}, {"type": "pid"}, {"type": "ipc"}]
    if inputs.cgroup_version.is_v2:
        namespaces.append({"type": "cgroup"})
    return namespaces


def build_spec_with_notes(spec: ContainerSpec, inputs: SpecInputs) -> BuiltSpec:
    """Build config.json and report what was clamped or adjusted.

    Raises:
        InvalidArgument: the spec is invalid (Docker's messages).
        RuntimeFailed: --init without an init binary configured.
    """
    validate_resources(spec.resources)
    _check_sysctls(spec)
    if not inputs.rootfs:
        msg = "rootfs path is empty"
        raise InvalidArgument(msg)
    if not inputs.cgroups_path.startswith("/"):
        msg = f"cgroups path must be absolute: {inputs.cgroups_path!r}"
        raise InvalidArgument(msg)
    notes: list[str] = []
    process = _process(spec, inputs, notes)
    resources, res_notes = build_resources(
        spec.resources, inputs.swap_limit_supported, spec.privileged
    )
    notes += res_notes
    linux: dict[str, Any] = {
        "namespaces": _namespaces(spec, inputs),
        "resources": resources,
        "cgroupsPath": inputs.cgroups_path,
    }
    if spec.sysctls:
        linux["sysctl"] = dict(spec.sysctls)
    if inputs.rootfs_propagation:
        linux["rootfsPropagation"] = inputs.rootfs_propagation
    if not spec.privileged:
        linux["maskedPaths"] = list(D.MASKED_PATHS)
        linux["readonlyPaths"] = list(D.READONLY_PATHS)
    config: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": inputs.rootfs, "readonly": spec.readonly_rootfs},
        "hostname": inputs.hostname,
        "mounts": _mounts(spec, inputs),
        "linux": linux,
    }
    return BuiltSpec(config=config, notes=tuple(notes))


def build_spec(spec: ContainerSpec, inputs: SpecInputs) -> dict[str, Any]:
    """The OCI config.json dict for ``spec`` (see ``build_spec_with_notes``)."""
    return build_spec_with_notes(spec, inputs).config
