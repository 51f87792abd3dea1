"""The OCI config builder: Docker's defaults, the container's settings, and the clamps."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from supervisor.engine import defaults as D
from supervisor.engine.cgroups import CgroupVersion
from supervisor.engine.model import DEFAULT_PATH, ContainerSpec, Mount, Resources, Ulimit
from supervisor.engine.spec import (
    OCI_VERSION,
    EtcFiles,
    SpecInputs,
    build_resources,
    build_rlimits,
    build_spec,
    build_spec_with_notes,
    merge_tmpfs_options,
    parse_uint_list,
    resolve_capabilities,
    validate_resources,
    validate_spec,
)
from supervisor.engine.users import ResolvedUser
from supervisor.errors import InvalidArgument, RuntimeFailed

MB = 1024 * 1024
INF = D.RLIM_INFINITY
SPEC = ContainerSpec(image="busybox", cmd=("sh", "-c", "true"))
INPUTS = SpecInputs(
    container_id="c0ffee",
    rootfs="/var/lib/berth/containers/c0ffee/rootfs",
    hostname="c0ffee",
    etc_files=EtcFiles(resolv_conf="/x/resolv.conf", hostname="/x/hostname", hosts="/x/hosts"),
    cgroups_path="/berth/c0ffee",
)


def _build(spec: ContainerSpec = SPEC, **inputs: Any) -> dict[str, Any]:
    return build_spec(spec, replace(INPUTS, **inputs))


# --- OCI schema (the fields runc 1.1.5's specs-go v1.0.2 knows) -------------------

TOP = {
    "ociVersion",
    "process",
    "root",
    "hostname",
    "mounts",
    "linux",
    "hooks",
    "annotations",
    "domainname",
}
PROCESS = {
    "terminal", "consoleSize", "user", "args", "commandLine", "env", "cwd", "capabilities", "rlimits",
    "noNewPrivileges", "apparmorProfile", "oomScoreAdj", "selinuxLabel",
}  # fmt: skip
LINUX = {
    "uidMappings", "gidMappings", "sysctl", "resources", "cgroupsPath", "namespaces", "devices", "seccomp",
    "rootfsPropagation", "maskedPaths", "readonlyPaths", "mountLabel", "intelRdt", "personality",
}  # fmt: skip
RESOURCES = {
    "devices",
    "memory",
    "cpu",
    "pids",
    "blockIO",
    "hugepageLimits",
    "network",
    "rdma",
    "unified",
}
MEMORY = {
    "limit",
    "reservation",
    "swap",
    "kernel",
    "kernelTCP",
    "swappiness",
    "disableOOMKiller",
    "useHierarchy",
}
CPU = {"shares", "quota", "period", "realtimeRuntime", "realtimePeriod", "cpus", "mems", "idle"}
NAMESPACE_TYPES = {"pid", "network", "mount", "ipc", "uts", "user", "cgroup"}
RLIMIT_TYPES = set(D.ULIMIT_TYPES.values()) | {"RLIMIT_AS"}


def _check_schema(config: dict[str, Any]) -> None:
    assert set(config) <= TOP
    assert config["ociVersion"] == OCI_VERSION == "1.0.2-dev"
    p = config["process"]
    assert set(p) <= PROCESS
    assert (
        isinstance(p["terminal"], bool) and isinstance(p["cwd"], str) and p["cwd"].startswith("/")
    )
    assert all(isinstance(a, str) for a in p["args"]) and p["args"]
    assert all("=" in e for e in p["env"])
    assert set(p["user"]) <= {"uid", "gid", "umask", "additionalGids", "username"}
    assert set(p["capabilities"]) <= {
        "bounding",
        "effective",
        "inheritable",
        "permitted",
        "ambient",
    }
    for rl in p["rlimits"]:
        assert set(rl) == {"type", "hard", "soft"} and rl["type"] in RLIMIT_TYPES
        assert 0 <= rl["soft"] <= rl["hard"] <= INF
    assert set(config["root"]) <= {"path", "readonly"}
    for m in config["mounts"]:
        assert set(m) <= {"destination", "type", "source", "options"}
        assert m["destination"].startswith("/") and all(isinstance(o, str) for o in m["options"])
    lx = config["linux"]
    assert set(lx) <= LINUX
    assert all(
        ns["type"] in NAMESPACE_TYPES and set(ns) <= {"type", "path"} for ns in lx["namespaces"]
    )
    assert len({ns["type"] for ns in lx["namespaces"]}) == len(lx["namespaces"])
    r = lx["resources"]
    assert set(r) <= RESOURCES
    assert set(r.get("memory", {})) <= MEMORY and set(r.get("cpu", {})) <= CPU
    assert set(r.get("pids", {"limit": 1})) == {"limit"}
    for dev in r["devices"]:
        assert set(dev) <= {"allow", "type", "major", "minor", "access"} and isinstance(
            dev["allow"], bool
        )
    assert lx["cgroupsPath"].startswith("/")
    json.loads(json.dumps(config))  # plain JSON, nothing exotic


FULL = ContainerSpec(
    image="x", entrypoint=("/entry",), cmd=("a", "b"), env=("A=1",), working_dir="/srv", tty=True,
    console_size=(24, 80), cap_add=("SYS_ADMIN",), cap_drop=("net_raw",), init=True,
    readonly_rootfs=True, tmpfs={"/run": "size=1m"}, sysctls={"net.ipv4.ip_forward": "1"},
    resources=Resources(memory=256 * MB, memory_reservation=128 * MB, nano_cpus=1_500_000_000,
                        cpu_shares=512, cpuset_cpus="0-1", cpuset_mems="0", pids_limit=100,
                        ulimits=(Ulimit("nofile", 100, 200), Ulimit("core", -1, -1))),
)  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "inputs"),
    [
        (SPEC, {}),
        (
            FULL,
            {
                "init_path": "/usr/bin/tini-static",
                "netns_path": "/run/netns/x",
                "cgroup_version": CgroupVersion.V2,
            },
        ),
        (replace(SPEC, privileged=True), {"host_rlimits": {"RLIMIT_NOFILE": (1024, 4096)}}),
    ],
)
def test_structure_matches_oci_schema(spec: ContainerSpec, inputs: dict[str, Any]) -> None:
    """Every key is one runc 1.1.5 knows, with the right shape, for plain and full specs."""
    _check_schema(_build(spec, **inputs))


def test_default_container_is_dockers() -> None:
    """A plain spec gives Docker's process, mounts, namespaces, masks and device rules."""
    c = _build()
    p = c["process"]
    assert p["args"] == ["sh", "-c", "true"]
    assert p["env"] == [f"PATH={DEFAULT_PATH}", "HOSTNAME=c0ffee"]
    assert p["cwd"] == "/" and p["terminal"] is False
    assert p["user"] == {"uid": 0, "gid": 0}
    assert p["capabilities"] == {
        k: list(D.DEFAULT_CAPABILITIES) for k in ("bounding", "effective", "permitted")
    }
    assert p["rlimits"] == [{"type": "RLIMIT_NOFILE", "hard": 1048576, "soft": 1048576}]
    assert p["noNewPrivileges"] is False and p["oomScoreAdj"] == 0
    assert c["root"] == {"path": INPUTS.rootfs, "readonly": False}
    assert c["hostname"] == "c0ffee"
    assert [m["destination"] for m in c["mounts"]] == [
        "/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm",
        "/etc/resolv.conf", "/etc/hostname", "/etc/hosts",
    ]  # fmt: skip
    by_dest = {m["destination"]: m for m in c["mounts"]}
    assert by_dest["/dev"]["options"] == ["nosuid", "strictatime", "mode=755", "size=65536k"]
    assert by_dest["/dev/pts"]["options"] == [
        "nosuid",
        "noexec",
        "newinstance",
        "ptmxmode=0666",
        "mode=0620",
        "gid=5",
    ]
    assert by_dest["/sys"]["options"] == ["ro", "nosuid", "noexec", "nodev"]
    assert (
        by_dest["/sys/fs/cgroup"]["type"] == "cgroup"
        and "ro" in by_dest["/sys/fs/cgroup"]["options"]
    )
    assert by_dest["/dev/shm"]["options"] == [
        "nosuid",
        "noexec",
        "nodev",
        "mode=1777",
        "size=67108864",
    ]
    assert by_dest["/etc/hosts"] == {
        "destination": "/etc/hosts",
        "type": "bind",
        "source": "/x/hosts",
        "options": ["rbind", "rprivate"],
    }
    lx = c["linux"]
    assert [n["type"] for n in lx["namespaces"]] == ["mount", "network", "uts", "pid", "ipc"]
    assert lx["maskedPaths"] == list(D.MASKED_PATHS) and "/proc/kcore" in lx["maskedPaths"]
    assert lx["readonlyPaths"] == [
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
        "/proc/sys",
        "/proc/sysrq-trigger",
    ]
    assert lx["cgroupsPath"] == "/berth/c0ffee"
    assert lx["resources"] == {"devices": [dict(r) for r in D.DEVICE_RULES]}
    assert lx["resources"]["devices"][0] == {"allow": False, "access": "rwm"}
    assert "sysctl" not in lx


def test_default_capabilities_are_dockers_mask() -> None:
    """The 14 defaults are the set behind Docker's well-known ``CapEff: 00000000a80425fb``."""
    mask = sum(1 << D.ALL_CAPABILITIES.index(c) for c in D.DEFAULT_CAPABILITIES)
    assert mask == 0xA80425FB
    assert D.ALL_CAPABILITIES.index("CAP_CHECKPOINT_RESTORE") == 40
    assert len(set(D.ALL_CAPABILITIES)) == 41


def test_build_is_pure() -> None:
    """Same inputs, same output; the result is independent of earlier calls."""
    a = _build(FULL, init_path="/tini")
    a["process"]["args"].append("mutated")
    assert _build(FULL, init_path="/tini") != a
    assert json.dumps(_build(FULL, init_path="/tini")) == json.dumps(
        _build(FULL, init_path="/tini")
    )


def test_full_spec() -> None:
    """Entrypoint+cmd, init, tty env, cwd, user, mount order, sysctls and v2 cgroup ns."""
    c = build_spec(
        FULL,
        replace(
            INPUTS,
            init_path="/usr/bin/tini-static",
            user=ResolvedUser(1000, 1000, (27, 100)),
            image_mounts=(Mount("/usr", "bind", "/usr", ("rbind", "ro")),),
            netns_path="/run/netns/x",
            cgroup_version=CgroupVersion.V2,
        ),
    )
    p = c["process"]
    assert p["args"] == ["/sbin/docker-init", "--", "/entry", "a", "b"]
    assert p["env"] == [f"PATH={DEFAULT_PATH}", "HOSTNAME=c0ffee", "TERM=xterm", "A=1"]
    assert p["cwd"] == "/srv" and p["terminal"] is True
    assert p["consoleSize"] == {"height": 24, "width": 80}
    assert p["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [27, 100]}
    assert (
        "CAP_SYS_ADMIN" in p["capabilities"]["bounding"]
        and "CAP_NET_RAW" not in p["capabilities"]["bounding"]
    )
    dests = [m["destination"] for m in c["mounts"]]
    assert dests[7:] == [
        "/usr",
        "/run",
        "/etc/resolv.conf",
        "/etc/hostname",
        "/etc/hosts",
        "/sbin/docker-init",
    ]
    assert c["mounts"][-1] == {
        "destination": "/sbin/docker-init",
        "type": "bind",
        "source": "/usr/bin/tini-static",
        "options": ["bind", "ro"],
    }
    assert c["mounts"][-2]["options"] == ["rbind", "ro", "rprivate"]  # read-only rootfs
    assert c["mounts"][8]["options"] == ["noexec", "nosuid", "nodev", "rprivate", "size=1m"]
    assert c["root"]["readonly"] is True
    ns = c["linux"]["namespaces"]
    assert {"type": "network", "path": "/run/netns/x"} in ns and {"type": "cgroup"} in ns
    assert c["linux"]["sysctl"] == {"net.ipv4.ip_forward": "1"}


@pytest.mark.parametrize(
    ("env", "tty", "expected"),
    [
        ((), False, [f"PATH={DEFAULT_PATH}", "HOSTNAME=h"]),
        ((), True, [f"PATH={DEFAULT_PATH}", "HOSTNAME=h", "TERM=xterm"]),
        (("PATH=/bin",), False, ["PATH=/bin", "HOSTNAME=h"]),
        (("TERM=dumb", "X=1"), True, [f"PATH={DEFAULT_PATH}", "HOSTNAME=h", "TERM=dumb", "X=1"]),
        (("HOSTNAME",), False, [f"PATH={DEFAULT_PATH}"]),  # bare name unsets
        (("X=1", "X=2", "E="), False, [f"PATH={DEFAULT_PATH}", "HOSTNAME=h", "X=2", "E="]),
        (("A=b=c",), False, [f"PATH={DEFAULT_PATH}", "HOSTNAME=h", "A=b=c"]),
    ],
)
def test_env(env: tuple[str, ...], tty: bool, expected: list[str]) -> None:
    """PATH, HOSTNAME and TERM defaults, replaced in place or unset by the user's env."""
    assert _build(replace(SPEC, env=env, tty=tty), hostname="h")["process"]["env"] == expected


# --- capabilities ----------------------------------------------------------------

DEF = list(D.DEFAULT_CAPABILITIES)


@pytest.mark.parametrize(
    ("add", "drop", "privileged", "expected"),
    [
        ((), (), False, DEF),
        (("NET_ADMIN",), (), False, [*DEF, "CAP_NET_ADMIN"]),
        (
            ("cap_sys_ptrace",),
            ("chown", "KILL"),
            False,
            [c for c in DEF if c not in ("CAP_CHOWN", "CAP_KILL")] + ["CAP_SYS_PTRACE"],
        ),
        (("CHOWN",), (), False, DEF),  # duplicate collapses
        (("ALL",), (), False, list(D.ALL_CAPABILITIES)),
        (("all",), ("SYS_ADMIN",), False, [c for c in D.ALL_CAPABILITIES if c != "CAP_SYS_ADMIN"]),
        ((), ("ALL",), False, []),
        (("NET_BIND_SERVICE",), ("ALL",), False, ["CAP_NET_BIND_SERVICE"]),
        ((), (), True, list(D.ALL_CAPABILITIES)),
        ((), ("ALL",), True, list(D.ALL_CAPABILITIES)),  # privileged wins, as in Docker
    ],
)
def test_capabilities(
    add: tuple[str, ...], drop: tuple[str, ...], privileged: bool, expected: list[str]
) -> None:
    """moby's TweakCapabilities: add/drop with or without CAP_, any case, ALL, privileged."""
    spec = replace(SPEC, cap_add=add, cap_drop=drop, privileged=privileged)
    caps, notes = resolve_capabilities(spec)
    assert caps == expected and notes == []


@pytest.mark.parametrize(("add", "drop"), [(("FOO",), ()), ((), ("CAP_NOPE",))])
def test_unknown_capability(add: tuple[str, ...], drop: tuple[str, ...]) -> None:
    """An unknown name is refused with Docker's quoted message, at validate and build time."""
    spec = replace(SPEC, cap_add=add, cap_drop=drop)
    for fn in (validate_spec, lambda s: build_spec(s, INPUTS)):
        with pytest.raises(InvalidArgument, match=r'^unknown capability: "CAP_(FOO|NOPE)"$'):
            fn(spec)


def test_capabilities_clamped_to_daemon() -> None:
    """Capabilities the daemon lacks are left out (runc could not grant them) and noted."""
    held = frozenset(D.ALL_CAPABILITIES) - {"CAP_SYS_RESOURCE", "CAP_NET_RAW"}
    built = build_spec_with_notes(
        replace(SPEC, privileged=True), replace(INPUTS, host_capabilities=held)
    )
    bounding = built.config["process"]["capabilities"]["bounding"]
    assert set(bounding) == held
    assert any("CAP_SYS_RESOURCE" in n for n in built.notes)
    plain = build_spec_with_notes(SPEC, replace(INPUTS, host_capabilities=held))
    assert "CAP_NET_RAW" not in plain.config["process"]["capabilities"]["effective"]
    assert any("CAP_NET_RAW" in n for n in plain.notes)


def test_privileged_drops_masks_and_device_rules() -> None:
    """Privileged: no masked/readonly paths, rw /sys and cgroup, every device allowed."""
    c = _build(replace(SPEC, privileged=True))
    assert "maskedPaths" not in c["linux"] and "readonlyPaths" not in c["linux"]
    assert c["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    by_dest = {m["destination"]: m for m in c["mounts"]}
    assert (
        "ro" not in by_dest["/sys"]["options"] and "ro" not in by_dest["/sys/fs/cgroup"]["options"]
    )


# --- rlimits ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ulimits", "host", "expected", "clamped"),
    [
        ((), {}, [("RLIMIT_NOFILE", 1048576, 1048576)], False),
        ((), {"RLIMIT_NOFILE": (1024, 20000)}, [("RLIMIT_NOFILE", 20000, 20000)], True),
        ((), {"RLIMIT_NOFILE": (1024, -1)}, [("RLIMIT_NOFILE", 1048576, 1048576)], False),
        (
            (Ulimit("nofile", 1024, 2048),),
            {"RLIMIT_NOFILE": (1024, 20000)},
            [("RLIMIT_NOFILE", 1024, 2048)],
            False,
        ),
        (
            (Ulimit("nofile", 1024, 40000),),
            {"RLIMIT_NOFILE": (1024, 20000)},
            [("RLIMIT_NOFILE", 1024, 20000)],
            True,
        ),
        (
            (Ulimit("nproc", 10, 20),),
            {},
            [("RLIMIT_NOFILE", 1048576, 1048576), ("RLIMIT_NPROC", 10, 20)],
            False,
        ),
        (
            (Ulimit("core", -1, -1),),
            {"RLIMIT_CORE": (0, -1)},
            [("RLIMIT_NOFILE", 1048576, 1048576), ("RLIMIT_CORE", INF, INF)],
            False,
        ),
        (
            (Ulimit("core", -1, -1),),
            {"RLIMIT_CORE": (0, 0)},
            [("RLIMIT_NOFILE", 1048576, 1048576), ("RLIMIT_CORE", 0, 0)],
            True,
        ),
        (
            (Ulimit("stack", 100, 100), Ulimit("stack", 200, 300)),
            {},
            [("RLIMIT_NOFILE", 1048576, 1048576), ("RLIMIT_STACK", 200, 300)],
            False,
        ),
    ],
)
def test_rlimits(
    ulimits: tuple[Ulimit, ...],
    host: dict[str, tuple[int, int]],
    expected: list[tuple[str, int, int]],
    clamped: bool,
) -> None:
    """Docker's nofile default, the user's ulimits, never above the daemon's hard limit."""
    out, notes = build_rlimits(Resources(ulimits=ulimits), host)
    assert [(r["type"], r["soft"], r["hard"]) for r in out] == expected
    assert bool(notes) is clamped


# --- resources -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resources", "swap_ok", "memory", "cpu", "pids"),
    [
        (Resources(), True, None, None, None),
        (Resources(memory=64 * MB), True, {"limit": 64 * MB, "swap": 128 * MB}, None, None),
        (
            Resources(memory=64 * MB, memory_swap=-1),
            True,
            {"limit": 64 * MB, "swap": -1},
            None,
            None,
        ),
        (
            Resources(memory=64 * MB, memory_swap=100 * MB),
            True,
            {"limit": 64 * MB, "swap": 100 * MB},
            None,
            None,
        ),
        (
            Resources(memory=64 * MB, memory_swap=64 * MB),
            True,
            {"limit": 64 * MB, "swap": 64 * MB},
            None,
            None,
        ),
        (Resources(memory=64 * MB), False, {"limit": 64 * MB}, None, None),
        (Resources(memory_swap=-1), True, None, None, None),
        (Resources(memory_reservation=32 * MB), True, {"reservation": 32 * MB}, None, None),
        (Resources(nano_cpus=1_500_000_000), True, None, {"quota": 150000, "period": 100000}, None),
        (Resources(nano_cpus=10_000_000), True, None, {"quota": 1000, "period": 100000}, None),
        (
            Resources(cpu_quota=50000, cpu_period=200000),
            True,
            None,
            {"quota": 50000, "period": 200000},
            None,
        ),
        (Resources(cpu_quota=-1), True, None, None, None),
        (Resources(cpu_shares=512), True, None, {"shares": 512}, None),
        (Resources(cpu_shares=1), True, None, {"shares": 2}, None),
        (Resources(cpu_shares=10**6), True, None, {"shares": 262144}, None),
        (
            Resources(cpuset_cpus="0-1", cpuset_mems="0"),
            True,
            None,
            {"cpus": "0-1", "mems": "0"},
            None,
        ),
        (Resources(pids_limit=100), True, None, None, {"limit": 100}),
        (Resources(pids_limit=0), True, None, None, None),
        (Resources(pids_limit=-1), True, None, None, None),
    ],
)
def test_resources_math(
    resources: Resources, swap_ok: bool, memory: dict | None, cpu: dict | None, pids: dict | None
) -> None:  # type: ignore[type-arg]
    """Docker's units to OCI: swap = 2 x memory by default, --cpus as quota/period, shares clamped."""
    out, _ = build_resources(resources, swap_ok)
    assert out.get("memory") == memory
    assert out.get("cpu") == cpu
    assert out.get("pids") == pids


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        (Resources(memory=1 * MB), "Minimum memory limit allowed is 6MB"),
        (Resources(memory=-5), "Minimum memory limit allowed is 6MB"),
        (
            Resources(memory=64 * MB, memory_swap=32 * MB),
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ),
        (
            Resources(memory_swap=64 * MB),
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ),
        (
            Resources(memory=64 * MB, memory_swap=-2),
            "Invalid memory swap value -2: use -1 for unlimited swap",
        ),
        (Resources(memory_reservation=MB), "Minimum memory reservation allowed is 6MB"),
        (
            Resources(memory=64 * MB, memory_reservation=128 * MB),
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        ),
        (
            Resources(nano_cpus=10**9, cpu_quota=50000),
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        ),
        (
            Resources(nano_cpus=10**9, cpu_period=50000),
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ),
        (Resources(nano_cpus=-1), "Range of CPUs starts at 0.01"),
        (Resources(nano_cpus=1000), "Range of CPUs starts at 0.01"),
        (
            Resources(cpu_period=999),
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ),
        (
            Resources(cpu_period=2_000_000),
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ),
        (Resources(cpu_quota=500), "CPU cfs quota can not be less than 1ms (i.e. 1000)"),
        (Resources(cpuset_cpus="0-"), "Invalid value 0- for cpuset cpus: invalid format: 0-"),
        (Resources(cpuset_cpus="3-1"), "Invalid value 3-1 for cpuset cpus: invalid format: 3-1"),
        (Resources(cpuset_mems="a"), "Invalid value a for cpuset mems: invalid format: a"),
        (Resources(ulimits=(Ulimit("nofiles", 1, 1),)), "invalid ulimit type: nofiles"),
        (
            Resources(ulimits=(Ulimit("nofile", 10, 5),)),
            "ulimit soft limit must be less than or equal to hard limit: 10 > 5",
        ),
    ],
)
def test_invalid_resources(resources: Resources, message: str) -> None:
    """Bad limits are refused with Docker's exact message, by validate and by build."""
    with pytest.raises(InvalidArgument) as info:
        validate_resources(resources)
    assert info.value.message == message
    with pytest.raises(InvalidArgument):
        build_spec(replace(SPEC, resources=resources), INPUTS)


def test_host_dependent_validation() -> None:
    """With the host's CPU count and cpusets known, requests beyond them are refused."""
    with pytest.raises(
        InvalidArgument,
        match=r"^Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available$",
    ):
        validate_resources(Resources(nano_cpus=3 * 10**9), ncpu=2)
    validate_resources(Resources(nano_cpus=2 * 10**9), ncpu=2)
    with pytest.raises(
        InvalidArgument, match=r"^Requested CPUs are not available - requested 0-3, available: 0-1$"
    ):
        validate_resources(Resources(cpuset_cpus="0-3"), available_cpus="0-1")
    with pytest.raises(
        InvalidArgument,
        match=r"^Requested memory nodes are not available - requested 1, available: 0$",
    ):
        validate_resources(Resources(cpuset_mems="1"), available_mems="0")
    validate_resources(Resources(cpuset_cpus="1,0"), available_cpus="0-1")


@pytest.mark.parametrize(
    ("text", "values"), [("", set()), ("0", {0}), ("0-2,5", {0, 1, 2, 5}), ("7,7", {7})]
)
def test_parse_uint_list(text: str, values: set[int]) -> None:
    """Docker's cpuset list syntax."""
    assert parse_uint_list(text) == values


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (replace(SPEC, cmd=()), "No command specified"),
        (
            replace(SPEC, working_dir="srv"),
            "the working directory 'srv' is invalid, it needs to be an absolute path",
        ),
        (replace(SPEC, env=("=x",)), "invalid environment variable: '=x'"),
        (replace(SPEC, cmd=("a\0b",)), "command arguments must not contain NUL bytes"),
        (replace(SPEC, tmpfs={"run": ""}), "invalid mount path: 'run' mount path must be absolute"),
        (replace(SPEC, tmpfs={"/": ""}), "destination can't be '/'"),
        (replace(SPEC, tmpfs={"/run": "bogus"}), 'Invalid tmpfs option ["bogus"]'),
        (
            replace(SPEC, sysctls={"kernel.panic": "1"}),
            "sysctl 'kernel.panic' is not allowed: it is not in a separate kernel namespace",
        ),
        (
            replace(SPEC, sysctls={"net.core.somaxconn": "1"}, network_mode="host"),
            "sysctl 'net.core.somaxconn' is not allowed in host network namespace",
        ),
    ],
)
def test_invalid_spec(spec: ContainerSpec, message: str) -> None:
    """Create-time validation and the builder refuse the same inputs with the same words."""
    with pytest.raises(InvalidArgument) as info:
        validate_spec(spec)
    assert info.value.message == message
    with pytest.raises(InvalidArgument) as info2:
        build_spec(spec, INPUTS)
    assert info2.value.message == message


def test_valid_spec_passes_validation() -> None:
    """The full example is valid."""
    validate_spec(FULL)


def test_init_without_binary() -> None:
    """--init with no tini configured is a daemon problem, not a bad request."""
    with pytest.raises(RuntimeFailed):
        build_spec(replace(SPEC, init=True), INPUTS)


@pytest.mark.parametrize(
    ("inputs", "types", "net"),
    [
        ({}, ["mount", "network", "uts", "pid", "ipc"], {"type": "network"}),
        (
            {"cgroup_version": CgroupVersion.HYBRID},
            ["mount", "network", "uts", "pid", "ipc"],
            {"type": "network"},
        ),
        (
            {"cgroup_version": CgroupVersion.V2},
            ["mount", "network", "uts", "pid", "ipc", "cgroup"],
            {"type": "network"},
        ),
        (
            {"netns_path": "/proc/42/ns/net"},
            ["mount", "network", "uts", "pid", "ipc"],
            {"type": "network", "path": "/proc/42/ns/net"},
        ),
    ],
)
def test_namespaces(inputs: dict[str, Any], types: list[str], net: dict[str, str]) -> None:
    """Docker's namespaces; cgroup only on v2; a joined netns carries its path."""
    ns = _build(**inputs)["linux"]["namespaces"]
    assert [n["type"] for n in ns] == types
    assert net in ns


def test_host_network_has_no_network_namespace() -> None:
    """network_mode=host shares the daemon's network namespace."""
    ns = _build(replace(SPEC, network_mode="host"))["linux"]["namespaces"]
    assert "network" not in [n["type"] for n in ns]


def test_shm_size_and_missing_etc_files() -> None:
    """shm_size sets /dev/shm's size; /etc files not given are not mounted."""
    c = _build(replace(SPEC, shm_size=8 * MB), etc_files=EtcFiles(hosts="/h"))
    by_dest = {m["destination"]: m for m in c["mounts"]}
    assert "size=8388608" in by_dest["/dev/shm"]["options"]
    assert "/etc/resolv.conf" not in by_dest and "/etc/hosts" in by_dest


@pytest.mark.parametrize(
    ("opts", "merged"),
    [
        (["noexec", "nosuid", "exec"], ("nosuid", "exec")),
        (["size=1m", "size=2m", "mode=755"], ("size=2m", "mode=755")),
        (["rprivate", "rshared", "ro", "rw"], ("rshared", "rw")),
        (["defaults", "", "nodev"], ("nodev",)),
    ],
)
def test_merge_tmpfs_options(opts: list[str], merged: tuple[str, ...]) -> None:
    """Later options win over earlier ones of the same kind."""
    assert merge_tmpfs_options(opts) == merged


def test_bad_inputs() -> None:
    """Missing rootfs or a relative cgroups path are refused."""
    with pytest.raises(InvalidArgument):
        build_spec(SPEC, replace(INPUTS, rootfs=""))
    with pytest.raises(InvalidArgument):
        build_spec(SPEC, replace(INPUTS, cgroups_path="berth/x"))
