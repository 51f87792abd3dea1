"""The spec builder's config.json, run for real by runc on a busybox rootfs.

Each test builds a tiny rootfs (static busybox + applet links + passwd/group),
writes ``build_spec``'s output into a bundle, runs it with ``runc create`` /
``runc start`` under a private runc root and cgroupsPath ``/berth-test/<id>``,
and checks from inside what Docker users rely on. Everything (runc state,
cgroup dirs, temp dirs) is removed in ``finally``.
"""

from __future__ import annotations

import json
import os
import resource
import select
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from supervisor.engine import defaults as D
from supervisor.engine.cgroups import container_cgroup_dirs, detect_layout, swap_limit_probe
from supervisor.engine.model import ContainerSpec, Resources, Ulimit
from supervisor.engine.spec import EtcFiles, SpecInputs, build_spec
from supervisor.engine.users import resolve_user
from tests.integration.conftest import BUSYBOX, RUNC, RUNC_BUSYBOX_MARKS

pytestmark = RUNC_BUSYBOX_MARKS

APPLETS = ("sh", "cat", "id", "hostname", "grep", "wc", "echo", "sleep", "env", "tr", "ls", "awk")
PASSWD = "root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000:T:/home/tester:/bin/sh\n"
GROUP = "root:x:0:\ntester:x:1000:\nextra:x:2000:tester\n"
MEMORY = 64 * 1024 * 1024
PIDS = 77


def _layout():  # type: ignore[no-untyped-def]
    return detect_layout(
        Path("/proc/self/mountinfo").read_text(), Path("/proc/self/cgroup").read_text()
    )


def _host_caps() -> frozenset[str]:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            mask = int(line.split()[1], 16)
    return frozenset(c for i, c in enumerate(D.ALL_CAPABILITIES) if mask >> i & 1)


def _cap_mask(caps: tuple[str, ...]) -> int:
    return sum(1 << D.ALL_CAPABILITIES.index(c) for c in caps)


@pytest.fixture
def bundle(tmp_path: Path) -> Iterator[Path]:
    assert BUSYBOX is not None
    rootfs = tmp_path / "bundle" / "rootfs"
    for d in ("bin", "etc", "proc", "sys", "dev", "tmp", "home/tester"):
        (rootfs / d).mkdir(parents=True)
    shutil.copy2(BUSYBOX, rootfs / "bin" / "busybox")
    for applet in APPLETS:
        (rootfs / "bin" / applet).symlink_to("busybox")
    (rootfs / "etc" / "passwd").write_text(PASSWD)
    (rootfs / "etc" / "group").write_text(GROUP)
    for name in ("hosts", "hostname", "resolv.conf"):
        (rootfs / "etc" / name).write_text("")
    try:
        yield rootfs.parent
    finally:
        shutil.rmtree(rootfs.parent, ignore_errors=True)


def _run(
    bundle: Path, spec: ContainerSpec, user: str, hostname: str, init_path: str | None = None
) -> dict[str, str]:
    """Create, inspect, start and wait for a container; return its KEY=VALUE output."""
    assert RUNC is not None
    layout = _layout()
    cid = f"berth-spec-{uuid.uuid4().hex[:12]}"
    cgroups_path = f"/berth-test/{cid}"
    etc = bundle / "etc-files"
    etc.mkdir()
    (etc / "hostname").write_text(hostname + "\n")
    (etc / "hosts").write_text("127.0.0.1\tlocalhost\n")
    (etc / "resolv.conf").write_text("nameserver 8.8.8.8\n")
    rootfs = bundle / "rootfs"
    probe = swap_limit_probe(layout)
    inputs = SpecInputs(
        container_id=cid,
        rootfs=str(rootfs),
        user=resolve_user(
            user, (rootfs / "etc/passwd").read_text(), (rootfs / "etc/group").read_text()
        ),
        hostname=hostname,
        etc_files=EtcFiles(
            resolv_conf=str(etc / "resolv.conf"),
            hostname=str(etc / "hostname"),
            hosts=str(etc / "hosts"),
        ),
        cgroups_path=cgroups_path,
        host_rlimits={t: resource.getrlimit(n) for t, n in D.RLIMIT_NUMBERS.items()},
        cgroup_version=layout.version,
        init_path=init_path,
        host_capabilities=_host_caps(),
        swap_limit_supported=probe is not None and probe.exists(),
    )
    (bundle / "config.json").write_text(json.dumps(build_spec(spec, inputs)))
    dirs = container_cgroup_dirs(layout, cgroups_path)
    state_root = bundle / "runc-root"
    base = [RUNC, "--root", str(state_root)]
    out_r, out_w = os.pipe()
    err_path = bundle / "stderr"
    try:
        with open(err_path, "wb") as err:
            created = subprocess.run(
                [*base, "create", "--bundle", str(bundle), cid],
                stdin=subprocess.DEVNULL, stdout=out_w, stderr=err, timeout=30, check=False,
            )  # fmt: skip
        os.close(out_w)
        out_w = -1
        assert created.returncode == 0, err_path.read_text()
        # Every directory we predicted exists while the container does.
        missing = [str(d) for d in set(dirs.values()) if not d.is_dir()]
        assert not missing, f"runc did not create {missing}"
        subprocess.run([*base, "start", cid], check=True, timeout=30, capture_output=True)
        chunks = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready, _, _ = select.select([out_r], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            data = os.read(out_r, 65536)
            if not data:
                break
            chunks.append(data)
        text = b"".join(chunks).decode()
    finally:
        if out_w >= 0:
            os.close(out_w)
        os.close(out_r)
        subprocess.run([*base, "delete", "-f", cid], capture_output=True, timeout=30, check=False)
        for d in set(dirs.values()):
            for path in (d, d.parent):
                try:
                    path.rmdir()
                except FileNotFoundError:
                    pass
                except OSError:
                    pass  # parent still used by a concurrent test run
    leftover = [str(d) for d in set(dirs.values()) if d.exists()]
    assert not leftover, f"cgroup dirs left behind: {leftover}"
    result = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            result[key] = value
    assert result, f"no output from the container; stderr: {err_path.read_text()}"
    return result


SCRIPT_ROOT = r"""
echo HOSTNAME_CMD=$(hostname)
echo PATHV=$PATH
echo CAPEFF=$(grep CapEff /proc/self/status | { read a b; echo $b; })
echo MEMLIMIT=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)
echo PIDSMAX=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)
echo KCORE=$( [ -e /proc/kcore ] && wc -c < /proc/kcore || echo absent)
for f in /proc/keys /proc/interrupts /proc/timer_list; do [ -e $f ] && echo "MASKED$f=$(wc -c < $f)"; done
echo ACPI=$(ls -A /proc/acpi 2>/dev/null | wc -l)
echo PROCSYS=$(grep ' /proc/sys ' /proc/self/mountinfo | { read a b c d e f rest; echo $f; })
echo NOFILE_SOFT=$(ulimit -Sn)
echo NOFILE_HARD=$(ulimit -Hn)
echo LOFLAGS=$(cat /sys/class/net/lo/flags)
echo ETCHOSTNAME=$(cat /etc/hostname)
echo ID=$(id -u):$(id -g)
"""

SCRIPT_USER = r"""
echo ID=$(id -u):$(id -g):$(id -G)
echo CAPEFF=$(grep CapEff /proc/self/status | { read a b; echo $b; })
echo CAPBND=$(grep CapBnd /proc/self/status | { read a b; echo $b; })
echo HOMEV=$HOME
"""


def test_default_container_matches_docker(bundle: Path) -> None:
    """A default container: hostname, PATH, Docker's caps, limits, masks, rlimits and lo up."""
    spec = ContainerSpec(
        image="busybox",
        cmd=("/bin/sh", "-c", SCRIPT_ROOT),
        resources=Resources(memory=MEMORY, pids_limit=PIDS, ulimits=(Ulimit("nproc", 500, 600),)),
    )
    out = _run(bundle, spec, "", "berth-spec-host")
    assert out["HOSTNAME_CMD"] == "berth-spec-host"
    assert out["ETCHOSTNAME"] == "berth-spec-host"
    assert out["PATHV"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert int(out["CAPEFF"], 16) == _cap_mask(D.DEFAULT_CAPABILITIES) == 0xA80425FB
    assert int(out["MEMLIMIT"]) == MEMORY
    assert int(out["PIDSMAX"]) == PIDS
    # This kernel may lack /proc/kcore; then the other masked files prove the masking.
    assert out["KCORE"] in ("0", "absent")
    masked = {k: v for k, v in out.items() if k.startswith("MASKED/")}
    host_masked = [
        p for p in ("/proc/keys", "/proc/interrupts", "/proc/timer_list") if os.path.exists(p)
    ]
    assert sorted(masked) == sorted("MASKED" + p for p in host_masked)
    assert all(v == "0" for v in masked.values()), masked
    assert out["ACPI"] == "0"
    assert out["PROCSYS"].split(",")[0] == "ro"
    host_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    expected = D.DEFAULT_NOFILE if host_hard < 0 else min(D.DEFAULT_NOFILE, host_hard)
    assert int(out["NOFILE_HARD"]) == expected
    assert int(out["NOFILE_SOFT"]) == expected
    assert int(out["LOFLAGS"], 16) & 0x1, "lo is not UP in the new network namespace"
    assert out["ID"] == "0:0"


def test_named_user_gets_ids_groups_and_no_effective_caps(bundle: Path) -> None:
    """--user tester: passwd ids, /etc/group membership, Docker's bounding set, CapEff 0."""
    spec = ContainerSpec(image="busybox", cmd=("/bin/sh", "-c", SCRIPT_USER), user="tester")
    out = _run(bundle, spec, "tester", "u")
    assert out["ID"] == "1000:1000:1000 2000"
    assert int(out["CAPEFF"], 16) == 0
    assert int(out["CAPBND"], 16) == _cap_mask(D.DEFAULT_CAPABILITIES)
    assert out["HOMEV"] == "/home/tester"


TINI = shutil.which("tini-static")

SCRIPT_PRIV = r"""
echo PID1=$(cat /proc/1/cmdline | tr '\0' ' ')
echo CAPEFF=$(grep CapEff /proc/self/status | { read a b; echo $b; })
echo MASKS=$(grep -c -E ' /proc/(keys|interrupts|timer_list|acpi) ' /proc/self/mountinfo)
echo ROOTRO=$(awk '$5 == "/" {o=$6} END {print o}' /proc/self/mountinfo)
echo TMPFS=$(grep ' /scratch ' /proc/self/mountinfo | { read a b c d e f rest; echo $f; })
echo QUOTA=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max)
"""


@pytest.mark.skipif(TINI is None, reason="tini-static not installed")
def test_privileged_init_tmpfs_readonly(bundle: Path) -> None:
    """Privileged gets the daemon's whole bounding set and no masks; --init runs tini as PID 1."""
    spec = ContainerSpec(
        image="busybox",
        cmd=("/bin/sh", "-c", SCRIPT_PRIV),
        privileged=True,
        init=True,
        readonly_rootfs=True,
        tmpfs={"/scratch": "size=1m"},
        resources=Resources(nano_cpus=500_000_000),
    )
    (bundle / "rootfs" / "scratch").mkdir()
    (bundle / "rootfs" / "sbin").mkdir()
    (bundle / "rootfs" / "sbin" / "docker-init").touch()
    out = _run(bundle, spec, "", "p", init_path=TINI)
    assert out["PID1"].startswith("/sbin/docker-init -- /bin/sh -c")
    assert int(out["CAPEFF"], 16) == _cap_mask(tuple(_host_caps()))
    assert out["MASKS"] == "0"
    assert out["ROOTRO"].split(",")[0] == "ro"
    assert out["TMPFS"].split(",")[0] == "rw"
    assert out["QUOTA"].split()[0] == "50000"
