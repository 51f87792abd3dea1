"""Docker's defaults for a Linux container, as data.

These are the values moby puts into every container's OCI spec before the
container's own settings are applied (moby ``oci/defaults.go``,
``oci/caps/defaults.go``, ``daemon/oci_linux.go``, Docker 28 / API 1.50).
They live here, apart from the spec builder, so that the builder reads as
"Docker's default, then the user's changes" and so tests can compare against
the lists by name.

Deliberately not reproduced: Docker 28 also masks each host CPU's
``/sys/devices/system/cpu/cpuN/thermal_throttle``; that list depends on the
host, so the builder would need I/O to know it.
"""

from __future__ import annotations

import resource
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

#: The 14 capabilities every unprivileged Docker container gets.
DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)

#: Every capability Linux knows, in number order (index == capability number).
ALL_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)

#: Paths hidden from unprivileged containers (a file gets /dev/null, a dir an empty tmpfs).
MASKED_PATHS: tuple[str, ...] = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
)

#: Paths remounted read-only in unprivileged containers.
READONLY_PATHS: tuple[str, ...] = (
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)


def _dev(allow: bool, kind: str | None, major: int | None, minor: int | None) -> dict[str, Any]:
    rule: dict[str, Any] = {"allow": allow}
    if kind is not None:
        rule["type"] = kind
    if major is not None:
        rule["major"] = major
    if minor is not None:
        rule["minor"] = minor
    rule["access"] = "rwm"
    return rule


#: The device cgroup rules: deny everything, then allow the few safe char devices.
#: runc 1.1 appends its own allow list (pts, ptmx, tun, ``c *:* m``...) after these.
DEVICE_RULES: tuple[Mapping[str, Any], ...] = tuple(
    MappingProxyType(r)
    for r in (
        _dev(False, None, None, None),
        _dev(True, "c", 1, 5),  # /dev/zero
        _dev(True, "c", 1, 3),  # /dev/null
        _dev(True, "c", 1, 9),  # /dev/urandom
        _dev(True, "c", 1, 8),  # /dev/random
        _dev(True, "c", 5, 0),  # /dev/tty
        _dev(True, "c", 5, 1),  # /dev/console
        _dev(False, "c", 10, 229),  # /dev/fuse
    )
)

#: Docker's default RLIMIT_NOFILE (what dockerd's systemd unit makes containers inherit).
DEFAULT_NOFILE = 1048576

#: RLIM_INFINITY as the OCI spec writes it (uint64 max).
RLIM_INFINITY = 2**64 - 1

#: Docker's ulimit names (go-units ``ulimit.go``) → OCI rlimit type.
ULIMIT_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "core": "RLIMIT_CORE",
        "cpu": "RLIMIT_CPU",
        "data": "RLIMIT_DATA",
        "fsize": "RLIMIT_FSIZE",
        "locks": "RLIMIT_LOCKS",
        "memlock": "RLIMIT_MEMLOCK",
        "msgqueue": "RLIMIT_MSGQUEUE",
        "nice": "RLIMIT_NICE",
        "nofile": "RLIMIT_NOFILE",
        "nproc": "RLIMIT_NPROC",
        "rss": "RLIMIT_RSS",
        "rtprio": "RLIMIT_RTPRIO",
        "rttime": "RLIMIT_RTTIME",
        "sigpending": "RLIMIT_SIGPENDING",
        "stack": "RLIMIT_STACK",
    }
)

#: OCI rlimit type → the ``resource`` module's number, so the shell can collect
#: the daemon's own limits: ``{t: resource.getrlimit(n) for t, n in RLIMIT_NUMBERS.items()}``.
RLIMIT_NUMBERS: Mapping[str, int] = MappingProxyType(
    {oci: getattr(resource, oci) for oci in ULIMIT_TYPES.values() if hasattr(resource, oci)}
)

#: Where Docker binds the --init binary, and how it calls it.
INIT_PATH_IN_CONTAINER = "/sbin/docker-init"

#: Minimum memory / reservation Docker accepts (daemon_unix.go ``linuxMinMemory``).
MIN_MEMORY = 6 * 1024 * 1024

#: cpu.shares bounds the kernel accepts on v1; Docker clamps into them.
MIN_CPU_SHARES = 2
MAX_CPU_SHARES = 262144

#: CFS period Docker uses to express --cpus (100 ms in microseconds).
NANO_CPUS_PERIOD = 100_000

#: Sysctls that are namespaced and so allowed in a container (runc's validator, Docker's docs).
NAMESPACED_SYSCTLS: tuple[str, ...] = (
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
)
NAMESPACED_SYSCTL_PREFIXES: tuple[str, ...] = ("fs.mqueue.", "net.")
