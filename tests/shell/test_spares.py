"""Background work waits for the engine's lulls: the activity gauge, spare namespaces, the store's records and trash.

Fakes stand in for the kernel work (making a namespace, deleting a tree) so
virtual time is exact; the real namespaces are tested in
tests/integration/test_network_kernel.py.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from supervisor.activity import QUIET, Activity
from supervisor.engine.model import ContainerRecord, ContainerSpec
from supervisor.engine.store import MAX_WRITE_DELAY, RECORD_FILE, TRASH, ContainerStore
from supervisor.errors import RuntimeFailed
from supervisor.network.spares import MAX_FAILURES, RETRY_DELAY, Spare, SparePool


async def test_quiet_at_once_when_nothing_ever_ran(autojump_clock: trio.abc.Clock) -> None:
    activity = Activity()
    t0 = trio.current_time()
    await activity.wait_quiet()
    assert trio.current_time() == t0


async def test_quiet_comes_a_lull_after_the_last_busy_block(autojump_clock: trio.abc.Clock) -> None:
    activity = Activity()
    quiet_at: list[float] = []

    async def waiter() -> None:
        await activity.wait_quiet()
        quiet_at.append(trio.current_time())

    t0 = trio.current_time()
    async with trio.open_nursery() as nursery:
        with activity.busy():
            nursery.start_soon(waiter)
            await trio.sleep(1)
            assert not quiet_at
        await trio.sleep(QUIET / 2)
        with activity.busy():  # a second start in the lull: the lull starts again after it
            await trio.sleep(0.5)
    assert quiet_at == [pytest.approx(t0 + 1 + QUIET / 2 + 0.5 + QUIET)]


class FakeKernel:
    def __init__(self, fail: bool = False, fail_first: int = 0) -> None:
        self.fail = fail
        self.fail_first = fail_first
        self.made: list[Spare] = []
        self.dropped: list[Spare] = []
        self.made_at: list[float] = []

    def make(self, directory: Path, spare: Spare) -> None:
        if self.fail_first:
            self.fail_first -= 1
            msg = "cannot make a spare network namespace: File exists"
            raise RuntimeFailed(msg)
        if self.fail:
            msg = "cannot create a network namespace: Operation not permitted"
            raise RuntimeFailed(msg)
        assert spare.netns_path.startswith(str(directory))
        self.made.append(spare)

    def drop(self, spare: Spare) -> None:
        self.dropped.append(spare)


async def _filled(pool: SparePool) -> None:
    with trio.fail_after(5):
        while len(pool) < pool.size:
            await trio.sleep(0.001)


async def test_pool_fills_then_refills_after_a_take_in_a_lull(
    tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    kernel = FakeKernel()
    activity = Activity()
    pool = SparePool(tmp_path, 2, make=kernel.make, drop=kernel.drop, threaded=False, activity=activity)
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        await _filled(pool)
        assert len(kernel.made) == 2
        with activity.busy():  # a start takes one: no new spare while it runs
            first = pool.take_nowait()
            assert first == kernel.made[0]
            await trio.sleep(1)
            assert len(kernel.made) == 2 and len(pool) == 1
        await _filled(pool)
        assert len(kernel.made) == 3
        assert pool.take_nowait() == kernel.made[1]
        assert pool.take_nowait() == kernel.made[2]
        assert pool.take_nowait() is None  # a burst emptied it: those starts make their own
        await _filled(pool)
        nursery.cancel_scope.cancel()
    # The unused spares go with the pool; the taken ones belong to their containers.
    assert len(kernel.made) == 5
    assert kernel.dropped == kernel.made[3:]
    assert pool.taken == 3


async def test_a_spare_that_cannot_be_made_disables_the_pool(
    tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    kernel = FakeKernel(fail=True)
    pool = SparePool(tmp_path, 2, make=kernel.make, drop=kernel.drop, threaded=False)
    attempts = 0
    real_make = kernel.make

    def counting(directory: Path, spare: Spare) -> None:
        nonlocal attempts
        attempts += 1
        real_make(directory, spare)

    pool._make = counting
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        await trio.sleep((MAX_FAILURES - 1) * RETRY_DELAY - 0.1)
        assert pool.size == 2  # still trying
        await trio.sleep(0.2)
        assert pool.size == 0
        assert attempts == MAX_FAILURES
        assert pool.take_nowait() is None
        nursery.cancel_scope.cancel()
    assert kernel.dropped == []


async def test_a_passing_failure_is_tried_again_a_second_later(
    tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    kernel = FakeKernel(fail_first=2)
    pool = SparePool(tmp_path, 2, make=kernel.make, drop=kernel.drop, threaded=False)
    t0 = trio.current_time()
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        await _filled(pool)
        assert trio.current_time() - t0 == pytest.approx(2 * RETRY_DELAY, abs=0.01)
        assert pool.size == 2 and len(kernel.made) == 2
        nursery.cancel_scope.cancel()


async def test_size_zero_makes_nothing(tmp_path: Path, autojump_clock: trio.abc.Clock) -> None:
    kernel = FakeKernel()
    pool = SparePool(tmp_path, 0, make=kernel.make, drop=kernel.drop, threaded=False)
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        await trio.sleep(1)
        assert pool.take_nowait() is None
        nursery.cancel_scope.cancel()
    assert kernel.made == []


@contextlib.asynccontextmanager
async def _running_store(root: Path, *, reaper: bool = False) -> AsyncIterator[tuple[Activity, ContainerStore]]:
    """A store with its writer (and its reaper) running, and the activity gauge it waits on."""
    activity = Activity()
    store = ContainerStore(root, activity=activity)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run_writer)
        if reaper:
            await nursery.start(store.run_reaper)
        yield activity, store
        nursery.cancel_scope.cancel()


def _record(cid: str) -> ContainerRecord:
    return ContainerRecord(id=cid, name="n" + cid[:4], created=0, spec=ContainerSpec(image="busybox", cmd=("true",)))


async def test_a_removed_directory_goes_to_the_trash_then_away_in_a_lull(
    tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    cid = "e" * 64
    async with _running_store(tmp_path / "containers", reaper=True) as (activity, store):
        directory = store.create_dir(cid)
        (directory / "upper").mkdir()
        (directory / "upper" / "file").write_text("data")
        store.save_nowait(_record(cid))
        await store.flush()
        assert (directory / RECORD_FILE).exists()
        with activity.busy():  # an exit in progress: the trash waits
            store.forget_nowait(cid)
            await store.flush()
            # The record is gone from the containers at once: a restart would not list it.
            assert not directory.exists()
            assert (tmp_path / "containers" / TRASH / cid / "upper" / "file").exists()
            await trio.sleep(1)
            assert store.trash_pending == 1
        with trio.fail_after(5):
            while store.trash_pending or (tmp_path / "containers" / TRASH / cid).exists():
                await trio.sleep(0.001)


async def test_records_wait_for_a_lull_but_not_longer_than_the_bound(
    tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    cid = "d" * 64
    async with _running_store(tmp_path / "containers") as (activity, store):
        directory = store.create_dir(cid)
        with activity.busy():  # a start or an exit in progress
            store.save_nowait(_record(cid))
            await trio.sleep(MAX_WRITE_DELAY / 2)
            assert not (directory / RECORD_FILE).exists()
            # Still busy (no lull ever comes), but a record waits only so long.
            with trio.fail_after(10):
                while not (directory / RECORD_FILE).exists():
                    await trio.sleep(0.001)  # polling keeps the autojump clock from leaping


async def test_a_short_lived_container_is_forgotten_without_its_records_being_written(
    tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """create, running, exited, removed within one busy spell: one rename, no record write."""
    cid = "c" * 64
    async with _running_store(tmp_path / "containers") as (activity, store):
        store.create_dir(cid)
        with activity.busy():
            for _ in range(3):
                store.save_nowait(_record(cid))
                await trio.sleep(0.001)
            store.forget_nowait(cid)
        await store.flush()
        trashed = tmp_path / "containers" / TRASH / cid
        assert trashed.is_dir() and not (trashed / RECORD_FILE).exists()


def test_a_daemon_start_empties_the_trash(tmp_path: Path) -> None:
    root = tmp_path / "containers"
    left = root / TRASH / ("f" * 64) / "upper"
    left.mkdir(parents=True)
    (left / "file").write_text("x")
    kept = root / ("a" * 64)
    kept.mkdir()
    assert ContainerStore(root).load_all() == []
    assert not (root / TRASH).exists()
    assert kept.is_dir()
    assert sorted(os.listdir(root)) == ["a" * 64]
