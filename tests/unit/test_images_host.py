"""The built-in host image: a stable id and a read-only plan with private scratch space."""

from __future__ import annotations

from pathlib import Path

from supervisor.engine.model import Mount
from supervisor.images.host import (
    EntryKind,
    HostEntry,
    HostLayout,
    host_image,
    host_rootfs_plan,
    skeleton_entries,
    skeleton_key,
)

LAYOUT = HostLayout(
    entries=(
        HostEntry("bin", EntryKind.SYMLINK, target="usr/bin"),
        HostEntry("boot", EntryKind.DIR),
        HostEntry("data", EntryKind.DIR),
        HostEntry("etc", EntryKind.DIR),
        HostEntry("home", EntryKind.DIR),
        HostEntry("lib", EntryKind.SYMLINK, target="usr/lib"),
        HostEntry("lost+found", EntryKind.DIR, mode=0o700),
        HostEntry("mnt", EntryKind.DIR),
        HostEntry("opt", EntryKind.DIR),
        HostEntry("proc", EntryKind.DIR, mode=0o555),
        HostEntry("root", EntryKind.DIR, mode=0o700),
        HostEntry("run", EntryKind.DIR),
        HostEntry("srv", EntryKind.DIR),
        HostEntry("tmp", EntryKind.DIR, mode=0o1777),
        HostEntry("usr", EntryKind.DIR),
        HostEntry("var", EntryKind.DIR),
    ),
    has_var_tmp=True,
)
HIDE = (Path("/var/lib/berth"), Path("/run/berth"))


def _by_dest(mounts: tuple[Mount, ...]) -> dict[str, Mount]:
    return {m.destination: m for m in mounts}


def test_host_image_is_stable_and_builtin() -> None:
    """The id is a pure function of a fixed document: equal across calls (and restarts)."""
    a, b = host_image(), host_image()
    assert a.id == b.id and a.id.startswith("sha256:") and len(a.id) == 71
    assert a.builtin and a.repo_tags == ("host:latest",)
    assert a.config.cmd == ("/bin/sh",)
    assert any(e.startswith("PATH=") for e in a.config.env)


def test_plan_binds_system_dirs_read_only() -> None:
    """Every real top-level dir except the excluded ones is an rbind with ro and rro."""
    mounts = _by_dest(host_rootfs_plan(Path("/skel"), LAYOUT, hide=HIDE).mounts)
    for name in ("etc", "home", "opt", "root", "srv", "usr", "var", "data"):
        m = mounts[f"/{name}"]
        assert (m.type, m.source) == ("bind", f"/{name}")
        assert {"rbind", "ro", "rro"} <= set(m.options)
    for name in ("boot", "mnt", "lost+found", "proc", "bin", "lib"):
        assert f"/{name}" not in mounts


def test_plan_has_private_scratch_tmpfs() -> None:
    """/tmp, /run and /var/tmp are fresh tmpfs, after the /var bind."""
    plan = host_rootfs_plan(Path("/skel"), LAYOUT, hide=HIDE)
    mounts = _by_dest(plan.mounts)
    for dest in ("/tmp", "/run", "/var/tmp"):
        assert mounts[dest].type == "tmpfs"
        assert "nosuid" in mounts[dest].options and "nodev" in mounts[dest].options
    assert "mode=1777" in mounts["/tmp"].options
    order = [m.destination for m in plan.mounts]
    assert order.index("/var") < order.index("/var/tmp")
    assert plan.lowerdirs == ("/skel",)


def test_plan_masks_berth_data_root_but_not_invisible_dirs() -> None:
    """The data root under /var is covered by an empty ro tmpfs; /run/berth is already private."""
    plan = host_rootfs_plan(Path("/skel"), LAYOUT, hide=HIDE)
    mounts = _by_dest(plan.mounts)
    mask = mounts["/var/lib/berth"]
    assert mask.type == "tmpfs" and "ro" in mask.options
    assert "/run/berth" not in mounts
    order = [m.destination for m in plan.mounts]
    assert order.index("/var/lib/berth") > order.index("/var")


def test_plan_masks_a_data_root_that_is_a_top_level_dir() -> None:
    """A data root that is itself a bound top-level dir is masked too."""
    mounts = _by_dest(host_rootfs_plan(Path("/skel"), LAYOUT, hide=(Path("/data"),)).mounts)
    assert [m.type for m in (mounts["/data"],)] == ["tmpfs"]


def test_no_mask_under_private_scratch() -> None:
    """A data root under /var/tmp is already invisible (fresh tmpfs): no mask mount."""
    plan = host_rootfs_plan(Path("/skel"), LAYOUT, hide=(Path("/var/tmp/berth"), Path("/tmp/x")))
    assert {m.destination for m in plan.mounts} & {"/var/tmp/berth", "/tmp/x"} == set()


def test_no_var_tmp_mount_without_a_host_var_tmp() -> None:
    """A ro-bound /var without /var/tmp cannot take a mount point: skip it."""
    layout = HostLayout(entries=LAYOUT.entries, has_var_tmp=False)
    assert "/var/tmp" not in _by_dest(host_rootfs_plan(Path("/s"), layout, hide=()).mounts)


def test_skeleton_has_mount_points_and_host_symlinks() -> None:
    """The skeleton copies top-level symlinks and always has proc/sys/dev/run/tmp."""
    layout = HostLayout(
        entries=(
            HostEntry("bin", EntryKind.SYMLINK, target="usr/bin"),
            HostEntry("usr", EntryKind.DIR),
        )
    )
    entries = {e.name: e for e in skeleton_entries(layout)}
    assert entries["bin"].target == "usr/bin"
    assert {"proc", "sys", "dev", "run", "tmp", "usr"} <= set(entries)
    assert entries["tmp"].mode == 0o1777
    assert skeleton_key(layout) != skeleton_key(LAYOUT)
    assert skeleton_key(layout) == skeleton_key(HostLayout(entries=tuple(reversed(layout.entries))))
