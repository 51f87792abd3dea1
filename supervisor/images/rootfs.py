"""Mount and unmount a container's overlay rootfs (trio shell over mount(2)/umount2(2)).

This is on the container start hot path, so it calls the syscalls through
ctypes in a worker thread instead of spawning ``/bin/mount``. Overlayfs takes
its lower dirs topmost first, which is ``RootfsPlan.lowerdirs``' order.

The option string must fit in one page (the kernel copies at most
``PAGE_SIZE`` bytes of mount data); with our layer paths that is about 40
layers. Paths containing ``,`` or ``:`` would need escaping and are refused.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import trio

from supervisor.errors import RuntimeFailed
from supervisor.images.model import RootfsPlan

T = TypeVar("T")

MNT_DETACH = 2
_MAX_DATA = os.sysconf("SC_PAGE_SIZE") - 1


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.mount.argtypes = [
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_char_p,
    ]
    libc.mount.restype = ctypes.c_int
    libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    libc.umount2.restype = ctypes.c_int
    return libc


def overlay_options(plan: RootfsPlan, *, upper: Path, work: Path) -> str:
    """The overlayfs data string for ``plan``.

    Raises:
        RuntimeFailed: no layers, a path overlayfs cannot express, or too long.
    """
    if not plan.lowerdirs:
        msg = "cannot mount rootfs: the image has no layers"
        raise RuntimeFailed(msg)
    paths = [*plan.lowerdirs, str(upper), str(work)]
    for p in paths:
        if any(c in p for c in ",:\\") or not p.startswith("/"):
            msg = f"cannot mount rootfs: unsupported layer path {p!r}"
            raise RuntimeFailed(msg)
    data = f"lowerdir={':'.join(plan.lowerdirs)},upperdir={upper},workdir={work}"
    if len(data.encode()) > _MAX_DATA:
        msg = f"cannot mount rootfs: too many layers ({len(plan.lowerdirs)}) for one overlay mount"
        raise RuntimeFailed(msg)
    return data


def _mount_sync(data: str, upper: Path, work: Path, target: Path) -> None:
    # The directories usually exist (made at create): mount first, make them if it says so.
    rc = _libc().mount(b"overlay", os.fsencode(target), b"overlay", 0, data.encode())
    if rc != 0 and ctypes.get_errno() == errno.ENOENT:
        for d in (upper, work, target):
            d.mkdir(parents=True, exist_ok=True)
        rc = _libc().mount(b"overlay", os.fsencode(target), b"overlay", 0, data.encode())
    if rc != 0:
        err = ctypes.get_errno()
        msg = f"cannot mount rootfs at {target}: {os.strerror(err)}"
        raise RuntimeFailed(msg)


def _unmount_sync(target: Path) -> None:
    path = os.fsencode(target)
    if _libc().umount2(path, 0) == 0:
        return
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOENT):
        return  # not mounted (any more): nothing to do
    if err == errno.EBUSY and _libc().umount2(path, MNT_DETACH) == 0:
        return
    err = ctypes.get_errno() if err == errno.EBUSY else err
    msg = f"cannot unmount rootfs at {target}: {os.strerror(err)}"
    raise RuntimeFailed(msg)


async def mount_rootfs(plan: RootfsPlan, *, upper: Path, work: Path, target: Path) -> None:
    """Mount the overlay of ``plan``'s layers at ``target`` (creating the dirs).

    Args:
        plan: from ``ImageStore.rootfs_plan``; only ``lowerdirs`` matter here,
            ``mounts`` go into the OCI spec.
        upper: the container's writable layer.
        work: overlayfs's work dir, on the same filesystem as ``upper``.
        target: the merged rootfs (the bundle's ``rootfs``).

    Raises:
        RuntimeFailed: the kernel refused, with the errno text.
    """
    data = overlay_options(plan, upper=upper, work=work)
    await trio.to_thread.run_sync(_mount_sync, data, upper, work, target)


async def mount_rootfs_then(
    plan: RootfsPlan, *, upper: Path, work: Path, target: Path, then: Callable[[], T]
) -> T:
    """``mount_rootfs``, then the blocking ``then()`` in the same worker thread; its result.

    One thread hop instead of two on the start path (the bundle is written
    right after the mount). If ``then`` raises, the rootfs stays mounted: the
    caller unmounts it as after any failed start.
    """
    data = overlay_options(plan, upper=upper, work=work)

    def mount_and_then() -> T:
        _mount_sync(data, upper, work, target)
        return then()

    return await trio.to_thread.run_sync(mount_and_then)


async def unmount_rootfs(target: Path) -> None:
    """Unmount ``target``; lazily (MNT_DETACH) if busy; fine if not mounted.

    Raises:
        RuntimeFailed: the kernel refused, with the errno text.
    """
    await trio.to_thread.run_sync(_unmount_sync, target)
