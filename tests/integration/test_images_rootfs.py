"""Real overlay mounts of imported images and of the host skeleton (root only)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from supervisor.errors import RuntimeFailed
from supervisor.images.model import RootfsPlan
from supervisor.images.rootfs import mount_rootfs, overlay_options, unmount_rootfs
from supervisor.images.store import ImageStore
from supervisor.images.tarball import build_busybox_tarball

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting needs root"),
]


def host_symlinks() -> dict[str, str]:
    return {n: os.readlink(f"/{n}") for n in os.listdir("/") if os.path.islink(f"/{n}")}


def mounted(target: Path) -> bool:
    with open("/proc/mounts") as f:
        return any(line.split()[1] == str(target) for line in f)


async def upload(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 1 << 16):
        yield data[i : i + (1 << 16)]
        await trio.lowlevel.checkpoint()


@pytest.fixture
async def store(tmp_path: Path) -> ImageStore:
    return await trio.to_thread.run_sync(
        lambda: ImageStore.open(tmp_path / "store", exec_root=tmp_path / "run")
    )


async def test_overlay_of_an_imported_image(store: ImageStore, tmp_path: Path) -> None:
    """The merged dir shows the image; writes land in upper; unmount leaves nothing."""
    build_busybox_tarball(tmp_path / "bb.tar")
    image = await store.import_tarball(
        upload((tmp_path / "bb.tar").read_bytes()), reference="busybox"
    )
    plan = store.rootfs_plan(image)
    c = tmp_path / "container"
    upper, work, target = c / "upper", c / "work", c / "rootfs"
    await mount_rootfs(plan, upper=upper, work=work, target=target)
    try:
        assert mounted(target)
        assert os.readlink(target / "bin/sh") == "/bin/busybox"
        assert "root:x:0:0" in (target / "etc/passwd").read_text()
        (target / "tmp/hello").write_text("from the container")
        (target / "etc/passwd").unlink()
        assert (upper / "tmp/hello").read_text() == "from the container"
        assert (Path(plan.lowerdirs[0]) / "etc/passwd").exists()  # lower untouched
    finally:
        await unmount_rootfs(target)
    assert not mounted(target)
    assert os.listdir(target) == []
    await unmount_rootfs(target)  # idempotent
    await unmount_rootfs(tmp_path / "never-existed")


async def test_two_layers_topmost_first(tmp_path: Path) -> None:
    """The first lowerdir wins over the later ones, as RootfsPlan promises."""
    top, bottom = tmp_path / "top", tmp_path / "bottom"
    for d, text in ((top, "top"), (bottom, "bottom")):
        d.mkdir()
        (d / "f").write_text(text)
    (bottom / "only-bottom").write_text("b")
    target = tmp_path / "m"
    plan = RootfsPlan(lowerdirs=(str(top), str(bottom)))
    await mount_rootfs(plan, upper=tmp_path / "u", work=tmp_path / "w", target=target)
    try:
        assert (target / "f").read_text() == "top"
        assert (target / "only-bottom").exists()
    finally:
        await unmount_rootfs(target)
    assert not mounted(target)


async def test_busy_mount_is_detached(tmp_path: Path) -> None:
    """A rootfs kept busy by an open directory is lazily detached."""
    lower = tmp_path / "l"
    lower.mkdir()
    target = tmp_path / "m"
    await mount_rootfs(
        RootfsPlan(lowerdirs=(str(lower),)),
        upper=tmp_path / "u",
        work=tmp_path / "w",
        target=target,
    )
    fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    try:  # the open fd keeps the mount busy: umount2 says EBUSY, we detach
        await unmount_rootfs(target)
    finally:
        os.close(fd)
    assert not mounted(target)


async def test_mount_errors_are_runtime_failed(tmp_path: Path) -> None:
    """A missing lower dir fails with the kernel's errno text."""
    plan = RootfsPlan(lowerdirs=(str(tmp_path / "missing"),))
    with pytest.raises(RuntimeFailed, match="No such file or directory"):
        await mount_rootfs(plan, upper=tmp_path / "u", work=tmp_path / "w", target=tmp_path / "m")
    assert not mounted(tmp_path / "m")


def test_overlay_options_validation(tmp_path: Path) -> None:
    """No layers, odd characters and over-long option strings are refused up front."""
    with pytest.raises(RuntimeFailed, match="no layers"):
        overlay_options(RootfsPlan(lowerdirs=()), upper=tmp_path, work=tmp_path)
    with pytest.raises(RuntimeFailed, match="unsupported layer path"):
        overlay_options(RootfsPlan(lowerdirs=("/a:b",)), upper=tmp_path, work=tmp_path)
    many = tuple(f"/var/lib/berth/layers/sha256/{i:064x}/fs" for i in range(60))
    with pytest.raises(RuntimeFailed, match="too many layers"):
        overlay_options(RootfsPlan(lowerdirs=many), upper=tmp_path, work=tmp_path)


async def test_host_skeleton_mounts(store: ImageStore, tmp_path: Path) -> None:
    """The host image's overlay has the host's top-level symlinks and mount points."""
    plan = store.rootfs_plan(store.resolve("host"))
    target = tmp_path / "hostroot"
    await mount_rootfs(plan, upper=tmp_path / "u", work=tmp_path / "w", target=target)
    try:
        for name, link in host_symlinks().items():
            assert os.readlink(target / name) == link
        assert (target / "usr").is_dir() and (target / "proc").is_dir()
    finally:
        await unmount_rootfs(target)
    assert not mounted(target)
