"""Container directories made ahead of need (``engine.skeletons``), on real directories with trio's autojump clock."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing

from supervisor.activity import QUIET
from supervisor.engine.paths import RUN_SUBDIRS
from supervisor.engine.skeletons import PREFIX, SkeletonPool
from supervisor.engine.store import ContainerStore
from tests.shell.test_engine import Rig, rig, spec  # noqa: F401  (rig is a fixture)


async def _filled(pool: SkeletonPool, n: int) -> None:
    """Wait (real time, at most 10 s) until ``n`` skeletons are ready: they are made in worker threads."""
    with trio.fail_after(10):
        while len(pool) < n:  # noqa: ASYNC110  (made in worker threads: no event to wait on)
            await trio.sleep(QUIET)


def _dirs(tmp_path: Path) -> tuple[Path, Path]:
    containers, bundles = tmp_path / "containers", tmp_path / "bundles"
    containers.mkdir()
    bundles.mkdir()
    return containers, bundles


async def test_the_pool_fills_and_refills_in_lulls_and_deletes_leftovers(nursery: trio.Nursery, tmp_path: Path) -> None:
    containers, bundles = _dirs(tmp_path)
    (containers / f"{PREFIX}old" / "diff").mkdir(parents=True)  # a previous daemon's
    (bundles / f"{PREFIX}old").mkdir()
    pool = SkeletonPool(containers, bundles, size=2)
    await nursery.start(pool.run)
    assert not (containers / f"{PREFIX}old").exists() and not (bundles / f"{PREFIX}old").exists()
    await _filled(pool, 2)
    skeleton = pool.take_nowait()
    assert skeleton is not None
    for name in RUN_SUBDIRS:
        assert (skeleton.container_dir / name).is_dir()
    assert skeleton.install(containers / "c1", bundles / "c1")
    assert {p.name for p in (containers / "c1").iterdir()} == set(RUN_SUBDIRS)
    assert (bundles / "c1").is_dir() and not skeleton.container_dir.exists()
    await _filled(pool, 2)  # made again in a lull
    with pool.activity.busy():
        pool.take_nowait()
        await trio.sleep(QUIET * 4)
        assert len(pool) == 1  # not while a start or an exit is in progress
    await _filled(pool, 2)


async def test_a_pool_that_cannot_make_skeletons_leaves_creates_to_make_their_own(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    containers, _ = _dirs(tmp_path)
    pool = SkeletonPool(containers, tmp_path / "missing", size=2)
    await nursery.start(pool.run)
    await trio.sleep(QUIET * 10)
    assert len(pool) == 0 and pool.take_nowait() is None
    assert [p.name for p in containers.iterdir()] == []  # the half-made one was deleted


def test_skeletons_are_neither_records_nor_orphans(tmp_path: Path) -> None:
    containers, _ = _dirs(tmp_path)
    (containers / f"{PREFIX}abc" / "diff").mkdir(parents=True)
    store = ContainerStore(containers)
    assert store.orphan_ids() == []
    assert store.load_all() == []


async def test_create_installs_a_skeleton(rig: Rig) -> None:  # noqa: F811
    pool = rig.engine.skeletons
    await _filled(pool, pool.size)
    ready = {p.name for p in rig.engine.paths.containers.iterdir() if p.name.startswith(PREFIX)}
    c = await rig.engine.create(spec())
    left = {p.name for p in rig.engine.paths.containers.iterdir() if p.name.startswith(PREFIX)}
    assert len(ready - left) == 1  # one renamed into place
    for d in (rig.engine.paths.upper(c.id), rig.engine.paths.work(c.id), rig.engine.paths.bundle(c.id)):
        assert d.is_dir()
    await rig.engine.remove(c.id)
