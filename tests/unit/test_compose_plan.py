"""The planner: desired project vs actual containers, table-driven, no containers."""

from __future__ import annotations

import pytest

from supervisor.compose.loader import parse_text
from supervisor.compose.model import Project
from supervisor.compose.plan import Actual, DownOptions, UpOptions, plan_down, plan_up, start_order
from supervisor.compose.render import render_yaml
from supervisor.compose.spec import config_hash, container_body
from supervisor.compose.validate import ProjectContext, validate_project

FILE = """
services:
  db:
    image: busybox
    healthcheck: {test: "true", interval: 1s}
  web:
    image: busybox
    depends_on: {db: {condition: service_healthy}}
    volumes: ["data:/data"]
  tool:
    image: busybox
    network_mode: none
volumes:
  data:
"""


def project_of(text: str = FILE, name: str = "p") -> Project:
    ctx = ProjectContext(name, "/srv", ("/srv/compose.yml",), {}, lambda path, node: {})
    return validate_project(parse_text(text, "compose.yml"), ctx)


PROJECT = project_of()
HASHES = {"db": "h-db", "web": "h-web", "tool": "h-tool"}


def running(service: str, number: int = 1, digest: str | None = None, state: str = "running") -> Actual:
    return Actual(f"id-{service}-{number}", f"p-{service}-{number}", service, number,
                  HASHES.get(service, "old") if digest is None else digest, state)


ALL_UP = [running("db"), running("web"), running("tool")]

UP_CASES = [
    pytest.param([], UpOptions(), [
        ("ensure_network", "p_default"), ("ensure_volume", "p_data"),
        ("create", "p-db-1"), ("start", "p-db-1"),
        ("wait", "web"), ("create", "p-web-1"), ("start", "p-web-1"),
        ("create", "p-tool-1"), ("start", "p-tool-1"),
    ], id="fresh: everything in dependency order"),
    pytest.param(ALL_UP, UpOptions(), [
        ("ensure_network", "p_default"), ("ensure_volume", "p_data"),
    ], id="unchanged: nothing touched"),
    pytest.param([running("db"), running("web", digest="stale"), running("tool")], UpOptions(), [
        ("ensure_network", "p_default"), ("ensure_volume", "p_data"),
        ("wait", "web"), ("recreate", "p-web-1"), ("start", "p-web-1"),
    ], id="changed: only that service recreated, after waiting for its dependency"),
    pytest.param([running("db", state="exited"), running("web"), running("tool")], UpOptions(), [
        ("ensure_network", "p_default"), ("ensure_volume", "p_data"), ("start", "p-db-1"),
    ], id="stopped container is started"),
    pytest.param(ALL_UP, UpOptions(force_recreate=True), [
        ("ensure_network", "p_default"), ("ensure_volume", "p_data"),
        ("recreate", "p-db-1"), ("start", "p-db-1"),
        ("wait", "web"), ("recreate", "p-web-1"), ("start", "p-web-1"),
        ("recreate", "p-tool-1"), ("start", "p-tool-1"),
    ], id="force-recreate"),
    pytest.param([running("db", digest="stale")], UpOptions(no_recreate=True, services=("db",)), [
        ("ensure_network", "p_default"),
    ], id="no-recreate keeps a stale container"),
    pytest.param([], UpOptions(no_start=True), [
        ("ensure_network", "p_default"), ("ensure_volume", "p_data"),
        ("create", "p-db-1"), ("create", "p-web-1"), ("create", "p-tool-1"),
    ], id="no-start: create only, no waits"),
    pytest.param([], UpOptions(services=("web",)), [
        ("ensure_network", "p_default"), ("ensure_volume", "p_data"),
        ("create", "p-db-1"), ("start", "p-db-1"),
        ("wait", "web"), ("create", "p-web-1"), ("start", "p-web-1"),
    ], id="selected service brings its dependencies"),
    pytest.param([*ALL_UP, running("old")], UpOptions(remove_orphans=True), [
        ("ensure_network", "p_default"), ("ensure_volume", "p_data"),
        ("stop", "p-old-1"), ("remove", "p-old-1"),
    ], id="orphans removed with --remove-orphans"),
    pytest.param([*ALL_UP, running("tool", 2)], UpOptions(), [
        ("ensure_network", "p_default"), ("ensure_volume", "p_data"),
        ("stop", "p-tool-2"), ("remove", "p-tool-2"),
    ], id="extra replica removed"),
]


@pytest.mark.parametrize(("actual", "options", "expected"), UP_CASES)
def test_plan_up(actual: list[Actual], options: UpOptions, expected: list[tuple[str, str]]) -> None:
    """Each situation gives exactly these actions, in this order."""
    assert plan_up(PROJECT, HASHES, actual, options).kinds() == expected


def test_orphans_listed_without_flag() -> None:
    """Without --remove-orphans, orphans are reported, not touched."""
    plan = plan_up(PROJECT, HASHES, [*ALL_UP, running("old")])
    assert plan.orphans == ("p-old-1",)
    assert plan.up_to_date == ("p-db-1", "p-web-1", "p-tool-1")


def test_recreate_keeps_the_old_container_id() -> None:
    """RECREATE carries the old container's id and the number."""
    plan = plan_up(PROJECT, HASHES, [running("db"), running("web", digest="x"), running("tool")])
    recreate = next(a for a in plan.actions if a.kind.value == "recreate")
    assert (recreate.container, recreate.number, recreate.reason) == ("id-web-1", 1, "config changed")


def test_unknown_service() -> None:
    """Selecting a service the project lacks is a KeyError for the caller to report."""
    with pytest.raises(KeyError):
        plan_up(PROJECT, HASHES, [], UpOptions(services=("nope",)))


DOWN_CASES = [
    pytest.param(PROJECT, ALL_UP, DownOptions(), [
        ("stop", "p-tool-1"), ("stop", "p-web-1"), ("stop", "p-db-1"),
        ("remove", "p-tool-1"), ("remove", "p-web-1"), ("remove", "p-db-1"),
        ("remove_network", "p_default"),
    ], id="reverse dependency order, volumes kept"),
    pytest.param(PROJECT, [running("db", state="exited")], DownOptions(volumes=True), [
        ("remove", "p-db-1"), ("remove_network", "p_default"), ("remove_volume", "p_data"),
    ], id="-v removes named volumes; stopped containers only removed"),
    pytest.param(PROJECT, [running("old")], DownOptions(), [
        ("remove_network", "p_default"),
    ], id="orphans kept without --remove-orphans"),
    pytest.param(None, [running("x")], DownOptions(), [
        ("stop", "p-x-1"), ("remove", "p-x-1"), ("remove_network", "p_default"),
    ], id="no file: everything labelled with the project"),
]


@pytest.mark.parametrize(("project", "actual", "options", "expected"), DOWN_CASES)
def test_plan_down(project: Project | None, actual: list[Actual], options: DownOptions, expected: list[tuple[str, str]]) -> None:
    """down stops dependents first, then removes containers, networks, volumes."""
    assert plan_down(project, "p", actual, options).kinds() == expected


def test_start_order_is_stable() -> None:
    """Dependencies first, declaration order otherwise."""
    project = project_of("""
services:
  c: {image: busybox, depends_on: [b]}
  a: {image: busybox}
  b: {image: busybox, depends_on: [a]}
  d: {image: busybox}
""")
    assert start_order(project) == ["a", "b", "c", "d"]


def test_body_is_what_compose_sends() -> None:
    """The create body uses the project network with the service alias and named-volume binds."""
    body = container_body(PROJECT, PROJECT.service("web"))
    assert body["HostConfig"]["NetworkMode"] == "p_default"
    assert body["HostConfig"]["Binds"] == ["p_data:/data:rw"]
    assert body["NetworkingConfig"] == {"EndpointsConfig": {"p_default": {"Aliases": ["web"]}}}
    db = container_body(PROJECT, PROJECT.service("db"))
    assert db["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 1_000_000_000}
    tool = container_body(PROJECT, PROJECT.service("tool"))
    assert tool["HostConfig"]["NetworkMode"] == "none" and "NetworkingConfig" not in tool


def test_config_hash() -> None:
    """The hash changes with the config or the image, and only then."""
    web = container_body(PROJECT, PROJECT.service("web"))
    assert config_hash(web, "sha256:a") == config_hash(container_body(PROJECT, PROJECT.service("web")), "sha256:a")
    assert config_hash(web, "sha256:a") != config_hash(web, "sha256:b")
    changed = project_of(FILE.replace('volumes: ["data:/data"]', 'volumes: ["data:/data:ro"]'))
    assert config_hash(container_body(changed, changed.service("web")), "sha256:a") != config_hash(web, "sha256:a")


def test_config_output_loads_back() -> None:
    """`config` output is a valid file describing the same project."""
    again = project_of(render_yaml(PROJECT))
    assert again.services == PROJECT.services
