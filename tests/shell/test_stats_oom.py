"""OOM watching through the kernel: v2 inotify on memory.events (a real inotify on a temp file)."""

from __future__ import annotations

from pathlib import Path

import trio

from supervisor.engine.cgroups import CgroupLayout, CgroupVersion
from supervisor.stats.model import Target
from supervisor.stats.oom import OomWatcher
from supervisor.stats.reader import HostFiles, TickReader


async def test_v2_inotify_reports_each_kill_once(tmp_path: Path, nursery: trio.Nursery) -> None:
    """A write to memory.events wakes the watcher; a kill is reported once; a new run starts at 0."""
    cg = tmp_path / "berth" / "c1"
    cg.mkdir(parents=True)
    events = cg / "memory.events"
    events.write_text("oom 0\noom_kill 0\n")
    layout = CgroupLayout(version=CgroupVersion.V2, unified=tmp_path)
    killed: list[str] = []
    got = trio.Event()

    def on_oom(cid: str) -> None:
        killed.append(cid)
        got.set()

    watcher = OomWatcher(TickReader(layout, HostFiles()), on_oom)
    await nursery.start(watcher.run)
    t = Target("c1", "c1", "busybox", "/berth/c1", 10)
    watcher.sync([t])
    events.write_text("oom 1\noom_kill 1\n")
    with trio.fail_after(5):
        await got.wait()
    assert killed == ["c1"]
    events.write_text("oom 1\noom_kill 1\nlow 0\n")  # a modification without a new kill
    watcher.check(t)
    assert killed == ["c1"]
    watcher.sync([])  # the run ended: watch removed, tracker forgets it
    watcher.sync([Target("c1", "c1", "busybox", "/berth/c1", 11)])
    got = trio.Event()
    events.write_text("oom 1\noom_kill 1\n")  # a fresh cgroup would read 0; a stale 1 is a new run's kill
    with trio.fail_after(5):
        await got.wait()
    assert killed == ["c1", "c1"]
