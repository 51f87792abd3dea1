"""cgroup layout detection, per-container paths and cgroup file parsing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.engine.cgroups import (
    UNIFIED,
    CgroupLayout,
    CgroupVersion,
    FreezerState,
    container_cgroup_dirs,
    container_cgroup_files,
    cpu_shares_to_weight,
    detect_layout,
    freeze_value,
    oom_kill_count,
    parse_flat_keyed,
    parse_freezer_state,
    parse_frozen,
    parse_limit,
    parse_mountinfo,
    parse_proc_cgroup,
    swap_limit_probe,
)
from supervisor.errors import InvalidArgument

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "cgroupfs"
CG = Path("/sys/fs/cgroup")


def _layout(kind: str) -> CgroupLayout:
    return detect_layout(
        (FIX / kind / "mountinfo").read_text(), (FIX / kind / "proc_self_cgroup").read_text()
    )


def test_detect_v2() -> None:
    """A cgroup2 mount at /sys/fs/cgroup and no v1 hierarchy is V2."""
    layout = _layout("v2")
    assert layout.version is CgroupVersion.V2
    assert layout.unified == CG
    assert dict(layout.controllers) == {}
    assert layout.own == {UNIFIED: "/system.slice/berth.service"}


def test_detect_hybrid_recorded_on_this_box() -> None:
    """v1 controllers plus an empty cgroup2 at .../unified is HYBRID, driven as v1."""
    layout = _layout("hybrid")
    assert layout.version is CgroupVersion.HYBRID
    assert not layout.version.is_v2
    assert layout.unified == CG / "unified"
    assert layout.controllers["memory"] == CG / "memory"
    assert layout.controllers["name=systemd"] == CG / "systemd"
    assert set(layout.controllers) == {
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "name=systemd",
    }  # fmt: skip
    assert layout.own[UNIFIED] == "/"


def test_detect_pure_v1_and_comounted_controllers() -> None:
    """Without cgroup2 it is V1; cpu,cpuacct share one mountpoint and one container dir."""
    mountinfo = (
        "30 25 0:26 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
        "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:14 - cgroup cgroup rw,cpu,cpuacct\n"
        "34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory\n"
        "35 30 0:31 / /sys/fs/cgroup/net_cls,net_prio rw master:3 - cgroup cgroup rw,net_cls,net_prio\n"
    )
    layout = detect_layout(mountinfo, "4:memory:/\n3:cpu,cpuacct:/user.slice\n")
    assert layout.version is CgroupVersion.V1
    assert layout.own["cpuacct"] == "/user.slice"
    dirs = container_cgroup_dirs(layout, "/berth/abc")
    assert dirs["cpu"] == dirs["cpuacct"] == CG / "cpu,cpuacct" / "berth/abc"
    assert UNIFIED not in dirs
    assert len(set(dirs.values())) == 3


def test_container_dirs_hybrid_and_v2() -> None:
    """Hybrid: every v1 hierarchy plus the unified dir (runc creates both); v2: one dir."""
    hybrid = container_cgroup_dirs(_layout("hybrid"), "/berth/c1")
    assert hybrid["memory"] == CG / "memory/berth/c1"
    assert hybrid["name=systemd"] == CG / "systemd/berth/c1"
    assert hybrid[UNIFIED] == CG / "unified/berth/c1"
    assert container_cgroup_dirs(_layout("v2"), "/berth/c1") == {UNIFIED: CG / "berth/c1"}


@pytest.mark.parametrize("path", ["berth/x", "/", "/berth/../etc", "/berth//x", "/berth/./x", ""])
def test_container_dirs_refuse_bad_paths(path: str) -> None:
    """Relative paths, the root and paths with . or .. components are refused."""
    with pytest.raises(InvalidArgument):
        container_cgroup_dirs(_layout("v2"), path)


def test_files_v1() -> None:
    """v1 files live in their controller's hierarchy."""
    f = container_cgroup_files(_layout("hybrid"), "/berth/c1")
    assert not f.v2
    assert f.freezer_control == f.frozen_probe == CG / "freezer/berth/c1/freezer.state"
    assert f.pids_current == CG / "pids/berth/c1/pids.current"
    assert f.memory_limit == CG / "memory/berth/c1/memory.limit_in_bytes"
    assert f.oom_events == CG / "memory/berth/c1/memory.oom_control"
    assert f.procs == CG / "pids/berth/c1/cgroup.procs"


def test_files_v1_missing_controller_is_none() -> None:
    """A controller that is not mounted gives None, not a made-up path."""
    layout = detect_layout("1 0 0:1 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", "")
    f = container_cgroup_files(layout, "/b/c")
    assert f.freezer_control is None and f.pids_max is None
    assert f.procs == CG / "memory/b/c/cgroup.procs"


def test_files_v2_read_from_fixture() -> None:
    """The v2 paths name the files of the recorded container, and they parse."""
    layout = CgroupLayout(CgroupVersion.V2, unified=FIX / "v2", own={UNIFIED: "/"})
    f = container_cgroup_files(layout, "/container")
    assert f.v2
    assert f.frozen_probe is not None and f.freezer_control is not None
    assert parse_frozen(True, f.frozen_probe.read_text()) is False
    assert f.freezer_control.read_text().strip() == freeze_value(True, False)
    assert f.pids_current is not None and parse_limit(f.pids_current.read_text()) == 3
    assert f.pids_max is not None and parse_limit(f.pids_max.read_text()) == 100
    assert (
        f.memory_limit is not None and parse_limit(f.memory_limit.read_text()) == 64 * 1024 * 1024
    )
    assert f.oom_events is not None and oom_kill_count(f.oom_events.read_text()) == 0
    assert parse_limit((FIX / "v2/container/memory.swap.max").read_text()) is None
    assert parse_limit((FIX / "v2/container/cpu.max").read_text()) == 50000
    assert int((FIX / "v2/container/cpu.weight").read_text()) == cpu_shares_to_weight(1024)
    stat = parse_flat_keyed((FIX / "v2/container/cpu.stat").read_text())
    assert stat["usage_usec"] == stat["user_usec"] + stat["system_usec"]
    assert (FIX / "v2/container/cgroup.controllers").read_text().split()[:4] == [
        "cpuset",
        "cpu",
        "io",
        "memory",
    ]


def test_swap_probe() -> None:
    """Swap limit support: memsw file on v1, memory.swap.max in our own cgroup on v2."""
    assert swap_limit_probe(_layout("hybrid")) == CG / "memory/memory.memsw.limit_in_bytes"
    assert swap_limit_probe(_layout("v2")) == CG / "system.slice/berth.service/memory.swap.max"
    assert swap_limit_probe(detect_layout("1 0 0:1 / /x rw - cgroup cgroup rw,pids\n", "")) is None


@pytest.mark.parametrize(
    ("v2", "text", "frozen"),
    [
        (False, "FROZEN\n", True),
        (False, "FREEZING\n", False),
        (False, "THAWED\n", False),
        (True, "populated 1\nfrozen 1\n", True),
        (True, "populated 1\nfrozen 0\n", False),
        (True, "populated 0\n", False),
    ],
)
def test_parse_frozen(v2: bool, text: str, frozen: bool) -> None:
    """Frozen means FROZEN on v1 and 'frozen 1' in cgroup.events on v2."""
    assert parse_frozen(v2, text) is frozen


def test_freeze_values_and_states() -> None:
    """What to write to freeze/thaw, per version."""
    assert [freeze_value(False, True), freeze_value(False, False)] == ["FROZEN", "THAWED"]
    assert [freeze_value(True, True), freeze_value(True, False)] == ["1", "0"]
    assert parse_freezer_state(" FREEZING\n") is FreezerState.FREEZING
    with pytest.raises(InvalidArgument):
        parse_freezer_state("frozen")


def test_oom_kill_count_v1() -> None:
    """v1 memory.oom_control carries oom_kill on kernels >= 4.13, absent means 0."""
    assert oom_kill_count("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n") == 2
    assert oom_kill_count("oom_kill_disable 0\nunder_oom 0\n") == 0


@pytest.mark.parametrize("text", ["a\n", "a b c\n", "a x\n"])
def test_flat_keyed_rejects(text: str) -> None:
    """Lines that are not 'key integer' are refused."""
    with pytest.raises(InvalidArgument):
        parse_flat_keyed(text)


@pytest.mark.parametrize(("text", "value"), [("max\n", None), ("42\n", 42), ("max 100000\n", None)])
def test_parse_limit(text: str, value: int | None) -> None:
    """'max' is unlimited (None), otherwise the first integer."""
    assert parse_limit(text) == value


@pytest.mark.parametrize(
    ("shares", "weight"), [(0, 0), (2, 1), (1024, 39), (512, 20), (262144, 10000)]
)
def test_cpu_shares_to_weight(shares: int, weight: int) -> None:
    """runc's formula: 1 + (shares-2)*9999/262142, endpoints 2→1 and 262144→10000."""
    assert cpu_shares_to_weight(shares) == weight


def test_mountinfo_escapes_and_optional_fields() -> None:
    """Octal escapes in paths decode; optional fields before '-' are skipped."""
    (m,) = parse_mountinfo(
        "7 1 0:5 / /mnt/a\\040b rw shared:1 master:2 - cgroup2 none rw,nsdelegate\n"
    )
    assert (
        m.mountpoint == "/mnt/a b"
        and m.fstype == "cgroup2"
        and m.super_options == ("rw", "nsdelegate")
    )


@pytest.mark.parametrize(
    ("mountinfo", "cgroup"),
    [
        ("garbage\n", ""),
        ("1 2 3 4 5 6 7 8\n", ""),
        ("1 0 0:1 / /proc rw - proc proc rw\n", "0::/\n"),  # no cgroup fs at all
        ("1 0 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "nonsense"),
        ("1 0 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "0::relative\n"),
    ],
)
def test_detect_layout_refuses_garbage(mountinfo: str, cgroup: str) -> None:
    """Malformed /proc texts are InvalidArgument naming the line."""
    with pytest.raises(InvalidArgument):
        detect_layout(mountinfo, cgroup)


def test_proc_cgroup_multi_controller_line() -> None:
    """A v1 line with several controllers maps each one."""
    assert parse_proc_cgroup("3:cpu,cpuacct:/a\n0::/b\n") == {
        "cpu": "/a",
        "cpuacct": "/a",
        UNIFIED: "/b",
    }


@given(st.text(), st.text())
def test_detect_layout_only_raises_invalid_argument(mountinfo: str, cgroup: str) -> None:
    """The parser never raises anything but InvalidArgument on arbitrary text."""
    try:
        detect_layout(mountinfo, cgroup)
    except InvalidArgument:
        pass


@given(st.text())
def test_file_parsers_only_raise_invalid_argument(text: str) -> None:
    """cgroup file parsers never raise anything but InvalidArgument."""
    for fn in (parse_flat_keyed, parse_freezer_state, parse_limit, oom_kill_count):
        try:
            fn(text)
        except InvalidArgument:
            pass
    for v2 in (True, False):
        try:
            parse_frozen(v2, text)
        except InvalidArgument:
            pass
