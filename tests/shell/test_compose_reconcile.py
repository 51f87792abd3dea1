"""reconcile and the daemon's ServiceSupervisor against the in-memory FakeBackend."""

from __future__ import annotations

import json
from pathlib import Path

import trio

from supervisor.api.request import Request
from supervisor.api.routes_reload import reload_handler
from supervisor.compose import labels as L
from supervisor.compose.fake import FakeBackend
from supervisor.compose.loader import parse_text
from supervisor.compose.model import Project
from supervisor.compose.plan import DownOptions, UpOptions
from supervisor.compose.reconcile import ContainerStatus, down, up
from supervisor.compose.service import ServiceSupervisor
from supervisor.compose.validate import ProjectContext, validate_project
from supervisor.events.model import EventType

FILE = """
services:
  db:
    image: busybox
    healthcheck: {test: "true", interval: 1s}
  migrate:
    image: busybox
    command: ["true"]
    network_mode: none
  web:
    image: busybox
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
"""


def project_of(text: str = FILE) -> Project:
    ctx = ProjectContext("p", "/srv", ("/srv/compose.yml",), {}, lambda path, node: {})
    return validate_project(parse_text(text, "compose.yml"), ctx)


def script(fake: FakeBackend, *, db_healthy_at: float = 3.0, migrate_exit: int = 0) -> None:
    fake.after_start["db"] = [(db_healthy_at, ContainerStatus("running", 0, "healthy"))]
    fake.after_start["migrate"] = [(1.0, ContainerStatus("exited", migrate_exit))]


async def test_up_waits_for_conditions(autojump_clock: trio.testing.MockClock) -> None:
    """web starts only once db is healthy and migrate exited 0, at exactly that time."""
    fake = FakeBackend()
    script(fake, db_healthy_at=3.0)
    t0 = trio.current_time()
    result = await up(project_of(), fake, poll=0.5)
    assert result.ok, result.errors
    assert fake.names() == ["p-db-1", "p-migrate-1", "p-web-1"]
    assert trio.current_time() - t0 == 3.0
    web = fake.by_name("p-web-1")
    assert web.status.status == "running"
    assert web.labels[L.PROJECT] == "p" and web.labels[L.SERVICE] == "web" and web.labels[L.NUMBER] == "1"
    assert web.labels[L.ONEOFF] == "False" and len(web.labels[L.CONFIG_HASH]) == 64
    assert [str(c) for c in result.changes][-1] == "Container p-web-1  Started"
    assert fake.networks == {"p_default": {L.PROJECT: "p", L.NETWORK: "default", L.VERSION: L.COMPOSE_VERSION}}


async def test_second_up_touches_nothing(autojump_clock: trio.testing.MockClock) -> None:
    """Unchanged services are not touched; a changed one is recreated in place."""
    fake = FakeBackend()
    script(fake)
    await up(project_of(), fake)
    fake.calls.clear()
    result = await up(project_of(), fake)
    assert result.ok and result.changes == []
    assert [c for c in fake.calls if c[0] != "ensure_network"] == []
    old_id = fake.by_name("p-web-1").id
    changed = project_of(FILE.replace("    image: busybox\n    depends_on", "    image: busybox\n    user: nobody\n    depends_on"))
    result = await up(changed, fake)
    assert result.ok, result.errors
    assert [str(c) for c in result.changes] == ["Container db  Waiting (service_healthy)", "Container db  Healthy", "Container migrate  Waiting (service_completed_successfully)", "Container migrate  Exited", "Container p-web-1  Recreated", "Container p-web-1  Started"]
    assert fake.by_name("p-web-1").id != old_id
    assert fake.names() == ["p-db-1", "p-migrate-1", "p-web-1"]


async def test_failed_dependency_stops_the_chain(autojump_clock: trio.testing.MockClock) -> None:
    """migrate exiting 1 stops web with a clear message; db still comes up."""
    fake = FakeBackend()
    script(fake, migrate_exit=1)
    result = await up(project_of(), fake)
    assert result.errors == ["service 'migrate' didn't complete successfully: exit 1"]
    assert fake.names() == ["p-db-1", "p-migrate-1"]


async def test_unhealthy_and_timeout(autojump_clock: trio.testing.MockClock) -> None:
    """An unhealthy dependency fails the wait; one that never gets healthy times out."""
    fake = FakeBackend()
    script(fake)
    fake.after_start["db"] = [(2.0, ContainerStatus("running", 0, "unhealthy"))]
    result = await up(project_of(), fake)
    assert result.errors == ["dependency failed to start: container p-db-1 is unhealthy"]
    fake2 = FakeBackend()
    script(fake2, db_healthy_at=1000)
    t0 = trio.current_time()
    result = await up(project_of(), fake2, wait_timeout=30)
    assert result.errors == ["dependency 'db' not service_healthy after 30s"]
    assert trio.current_time() - t0 == 30


async def test_missing_image_skips_service_and_dependents(autojump_clock: trio.testing.MockClock) -> None:
    """A missing image is reported; its dependents wait for the next run, others go on."""
    text = FILE.replace("  db:\n    image: busybox", "  db:\n    image: nothere")
    fake = FakeBackend()
    script(fake)
    result = await up(project_of(text), fake)
    assert result.errors == ["service 'db': image 'nothere' not found (No such image: nothere)"]
    assert fake.names() == ["p-migrate-1"]
    fake.images["nothere"] = "sha256:" + "c" * 64
    result = await up(project_of(text), fake)
    assert result.ok, result.errors
    assert fake.names() == ["p-db-1", "p-migrate-1", "p-web-1"]


async def test_failed_create_during_recreate_restores_old(autojump_clock: trio.testing.MockClock) -> None:
    """If the new container cannot be created, the old one gets its name back and runs again."""
    fake = FakeBackend()
    script(fake)
    await up(project_of(), fake)
    old = fake.by_name("p-web-1").id
    fake.fail[("create", "p-web-1")] = "boom"
    result = await up(project_of(), fake, UpOptions(force_recreate=True, services=("web",)))
    assert result.errors == ["Container p-web-1: boom"]
    assert fake.by_name("p-web-1").id == old and fake.by_name("p-web-1").status.status == "running"


async def test_orphans_and_down(autojump_clock: trio.testing.MockClock) -> None:
    """Removed services are orphans; down removes containers and network, keeps volumes unless -v."""
    fake = FakeBackend()
    script(fake)
    await up(project_of(), fake)
    smaller = project_of("services:\n  db: {image: busybox}\nvolumes: {data: {}}\n")
    result = await up(smaller, fake)
    assert result.warnings == [
        "found orphan container p-migrate-1 for this project; remove it with --remove-orphans",
        "found orphan container p-web-1 for this project; remove it with --remove-orphans",
    ]
    result = await up(smaller, fake, UpOptions(remove_orphans=True))
    assert fake.names() == ["p-db-1"]
    fake.volumes["p_data"] = {}
    result = await down(smaller, "p", fake)
    assert result.ok and fake.names() == [] and fake.networks == {} and "p_data" in fake.volumes
    await down(smaller, "p", fake, DownOptions(volumes=True))
    assert fake.volumes == {}


async def test_supervisor_reload(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    """Boot reconcile, a bad edit changes nothing, a good edit applies, a deleted file goes down."""
    events: list[tuple[str, dict[str, str]]] = []
    (tmp_path / "app.yml").write_text("services:\n  web: {image: busybox, network_mode: none}\n")
    (tmp_path / "other.yaml").write_text("services:\n  job: {image: later, network_mode: none}\n")
    fake = FakeBackend()
    sup = ServiceSupervisor([tmp_path], fake, lambda t, a, i, attrs: events.append((a, dict(attrs))), environ={})
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        result = await sup.reload()
        assert fake.names() == ["app-web-1"]
        assert not result.ok and "image 'later' not found" in result.error  # reported...
        fake.images["later"] = "sha256:" + "d" * 64
        result = await sup.reload()  # ...and picked up on the next reload
        assert result.ok and result.changes == ("other: Container other-job-1  Created", "other: Container other-job-1  Started")
        (tmp_path / "app.yml").write_text("services:\n  web: {image: busybox, restart: sometimes}\n")
        result = await sup.reload()
        assert not result.ok and "app.yml:2: services.web.restart" in result.error
        assert fake.names() == ["app-web-1", "other-job-1"] and result.changes == ()
        assert events[-1] == ("reload", {"name": "berth", "ok": "false", "trigger": "reload", "changes": "0", "error": result.error})
        (tmp_path / "app.yml").unlink()
        result = await sup.reload()
        assert result.ok and fake.names() == ["other-job-1"]
        assert "app: Container app-web-1  Removed" in result.changes
        handler = reload_handler(sup.reload)
        response = await handler(Request("POST", "/berth/reload"))
        body = json.loads(response.body)
        assert body == {"ok": True, "error": "", "changes": [], "warnings": [], "projects": ["other"]}
        assert fake.by_name("other-job-1").labels[L.DAEMON_OWNED] == str(tmp_path / "other.yaml")
        nursery.cancel_scope.cancel()
    assert EventType.DAEMON  # events are published with the DAEMON type (checked by the lambda's signature)


async def test_request_reload_coalesces(tmp_path: Path) -> None:
    """SIGHUP-style requests never block and a burst runs few reloads."""
    (tmp_path / "a.yml").write_text("services:\n  w: {image: busybox, network_mode: none}\n")
    fake = FakeBackend()
    count = []
    sup = ServiceSupervisor([tmp_path / "a.yml"], fake, lambda *a: count.append(a), environ={})
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        for _ in range(50):
            sup.request_reload()
        with trio.fail_after(20):
            result = await sup.reload()  # queued behind the burst
        assert result.ok
        assert len(count) in (2, 3)  # boot, the whole burst as one, maybe this one apart
        nursery.cancel_scope.cancel()
