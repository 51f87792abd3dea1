"""Apply a plan: the trio shell around ``plan.py``, through a small ``Backend``.

``up`` resolves images, lists the project's containers, asks the planner what
to do, then runs the actions in order. Failures are contained per service: a
service whose image is missing, whose create/start fails, or whose dependency
condition fails is reported, and it and its dependents are skipped, while
every other service goes on (so the daemon's services come up as far as they
can). ``depends_on`` conditions are checked like compose v2 does, by reading
the dependency's state every ``poll`` seconds (inspect): ``service_started``
needs it running (or already exited), ``service_healthy`` its health check
"healthy", ``service_completed_successfully`` an exit code of 0.

A recreate follows docker-compose 1.x: stop the old container, rename it
``<id12>_<name>``, create the new one, and only then remove the old; if the
create fails, the old one gets its name back and is restarted if it ran.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import trio

from supervisor.compose import labels as L
from supervisor.compose.model import Condition, Dependency, Project
from supervisor.compose.plan import (
    Action,
    ActionKind,
    Actual,
    DownOptions,
    Plan,
    UpOptions,
    dependents_of,
    plan_down,
    plan_up,
    with_dependencies,
)
from supervisor.compose.spec import config_hash, container_body, labelled_body

DEFAULT_POLL = 0.5


class BackendError(Exception):
    """An engine operation failed; the message is the engine's (Docker's) message."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class ContainerStatus:
    """What a dependency wait reads: Docker's State.Status, ExitCode, Health.Status ("" if none)."""

    status: str
    exit_code: int = 0
    health: str = ""


class Backend(Protocol):
    """The engine as reconcile needs it. Every method raises ``BackendError`` on failure."""

    async def list_containers(self, labels: Mapping[str, str | None]) -> list[Actual]:
        """All containers (running or not) carrying every one of ``labels`` (None: any value)."""

    async def image_id(self, ref: str) -> str | None:
        """The image's ID (``sha256:...``), None when there is no such image."""

    async def create_container(self, name: str, body: Mapping[str, Any]) -> str:
        """Create; return the new container's ID."""

    async def start_container(self, ref: str) -> None: ...

    async def stop_container(self, ref: str, timeout: int | None) -> None: ...

    async def remove_container(self, ref: str, *, volumes: bool = False) -> None:
        """Remove (forcibly: a running container is killed first)."""

    async def rename_container(self, ref: str, new_name: str) -> None: ...

    async def container_status(self, ref: str) -> ContainerStatus: ...

    async def ensure_network(self, name: str, labels: Mapping[str, str], *, driver: str, internal: bool, external: bool) -> bool:
        """Create the network unless it exists (external: only check); True if created."""

    async def remove_network(self, name: str) -> bool:
        """Remove; False when there was no such network."""

    async def ensure_volume(self, name: str, labels: Mapping[str, str], *, driver: str, driver_opts: Mapping[str, str], external: bool) -> bool:
        """Create the volume unless it exists (external: only check); True if created."""

    async def remove_volume(self, name: str) -> bool:
        """Remove; False when there was no such volume."""


@dataclass(frozen=True, slots=True)
class Change:
    """One line of progress: ``Container proj-web-1  Started``."""

    kind: str  # Container, Network, Volume, Service
    name: str
    status: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}  {self.status}"


@dataclass
class Result:
    """What ``up``/``down`` did: the changes in order, and every error (empty = success)."""

    changes: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    plan: Plan | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


OnChange = Callable[[Change], None]


def _ignore(change: Change) -> None:
    del change


class _Applier:
    def __init__(self, project: Project | None, backend: Backend, result: Result, on_change: OnChange) -> None:
        self.project = project
        self.backend = backend
        self.result = result
        self.on_change = on_change
        self.blocked: dict[str, str] = {}  # service -> why
        self.created: dict[str, str] = {}  # container name -> id

    def note(self, kind: str, name: str, status: str) -> None:
        change = Change(kind, name, status)
        self.result.changes.append(change)
        self.on_change(change)

    def fail(self, service: str, message: str) -> None:
        self.result.errors.append(message)
        if service and self.project is not None:
            self.blocked.setdefault(service, message)
            for dependent in dependents_of(self.project, service):
                self.blocked.setdefault(dependent, f"dependency {service!r} failed")

    def stop_timeout(self, service: str) -> int | None:
        if self.project is None or service not in self.project.service_names():
            return None
        grace = self.project.service(service).stop_grace_period
        return None if grace is None else round(grace)


async def _wait_condition(
    backend: Backend, project: Project, dependency: Dependency, *, poll: float
) -> str | None:
    """Wait until ``dependency`` holds; None when it does, else why it never will."""
    containers = await backend.list_containers(
        {**L.project_filter(project.name), L.SERVICE: dependency.service}
    )
    if not containers:
        return f"dependency {dependency.service!r} has no container"
    for container in containers:
        while True:
            status = await backend.container_status(container.id)
            if dependency.condition is Condition.STARTED:
                if status.status in ("running", "restarting", "paused", "exited"):
                    break
            elif dependency.condition is Condition.HEALTHY:
                if status.health == "healthy":
                    break
                if not status.health and status.status == "running":
                    return f"dependency failed to start: container {container.name} has no healthcheck configured"
                if status.health == "unhealthy":
                    return f"dependency failed to start: container {container.name} is unhealthy"
                if status.status in ("exited", "dead"):
                    return f"dependency failed to start: container {container.name} exited ({status.exit_code})"
            else:  # COMPLETED
                if status.status in ("exited", "dead"):
                    if status.exit_code == 0:
                        break
                    return f"service {dependency.service!r} didn't complete successfully: exit {status.exit_code}"
            await trio.sleep(poll)
    return None


async def up(
    project: Project,
    backend: Backend,
    options: UpOptions | None = None,
    *,
    on_change: OnChange = _ignore,
    wait_timeout: float | None = None,
    poll: float = DEFAULT_POLL,
    owner: str = "",
) -> Result:
    """Bring the project to its desired state (see the module docstring).

    Args:
        wait_timeout: the longest one ``depends_on`` condition may take (None: no limit).
        owner: a tag for the containers' ``io.berth.service-file`` label (the daemon's files).

    Raises:
        KeyError: ``options.services`` names a service the project lacks.
    """
    options = options or UpOptions()
    result = Result(warnings=list(project.warnings))
    applier = _Applier(project, backend, result, on_change)
    scope = with_dependencies(project, options.services) if options.services else list(project.service_names())
    bodies: dict[str, dict[str, Any]] = {}
    hashes: dict[str, str] = {}
    for name in scope:
        service = project.service(name)
        body = container_body(project, service)
        bodies[name] = body
        image = await backend.image_id(service.image)
        if image is None:
            applier.fail(name, f"service {name!r}: image {service.image!r} not found (No such image: {service.image})")
            hashes[name] = ""
        else:
            hashes[name] = config_hash(body, image)
    actual = await backend.list_containers(L.project_filter(project.name))
    plan = plan_up(project, hashes, actual, options)
    result.plan = plan
    for orphan in plan.orphans:
        result.warnings.append(
            f"found orphan container {orphan} for this project; remove it with --remove-orphans"
        )
    networks = {n.name: n for n in project.networks}
    volumes = {v.name: v for v in project.volumes}
    for action in plan.actions:
        if action.service in applier.blocked:
            continue
        try:
            await _apply_up_action(applier, action, bodies, hashes, networks, volumes, owner, wait_timeout, poll)
        except BackendError as exc:
            what = action.name or action.container
            if action.kind in (ActionKind.ENSURE_NETWORK, ActionKind.ENSURE_VOLUME):
                kind = "Network" if action.kind is ActionKind.ENSURE_NETWORK else "Volume"
                result.errors.append(f"{kind} {what}: {exc.message}")
                for name in scope:
                    if _uses(project, name, action):
                        applier.fail(name, f"service {name!r}: {kind.lower()} {what} is not available")
            else:
                applier.fail(action.service, f"Container {what}: {exc.message}")
    return result


def _uses(project: Project, service_name: str, action: Action) -> bool:
    service = project.service(service_name)
    if action.kind is ActionKind.ENSURE_NETWORK:
        return not service.network_mode and any(n.key == action.reason for n in service.networks)
    return any(m.source == action.reason for m in service.volumes)


async def _apply_up_action(
    applier: _Applier, action: Action, bodies: dict[str, dict[str, Any]], hashes: dict[str, str],
    networks: Mapping[str, Any], volumes: Mapping[str, Any], owner: str, wait_timeout: float | None, poll: float,
) -> None:
    backend, project = applier.backend, applier.project
    assert project is not None
    kind = action.kind
    if kind is ActionKind.ENSURE_NETWORK:
        net = networks[action.name]
        if await backend.ensure_network(
            net.name, {**L.network_labels(project.name, net.key), **dict(net.labels)},
            driver=net.driver, internal=net.internal, external=net.external,
        ):
            applier.note("Network", net.name, "Created")
    elif kind is ActionKind.ENSURE_VOLUME:
        vol = volumes[action.name]
        if await backend.ensure_volume(
            vol.name, {**L.volume_labels(project.name, vol.key), **dict(vol.labels)},
            driver=vol.driver, driver_opts=dict(vol.driver_opts), external=vol.external,
        ):
            applier.note("Volume", vol.name, "Created")
    elif kind is ActionKind.CREATE:
        service = project.service(action.service)
        body = labelled_body(project, service, bodies[service.name], number=action.number, digest=hashes[service.name], owner=owner)
        applier.created[action.name] = await backend.create_container(action.name, body)
        applier.note("Container", action.name, "Created")
    elif kind is ActionKind.RECREATE:
        await _recreate(applier, action, bodies, hashes, owner)
    elif kind is ActionKind.START:
        await backend.start_container(action.container or applier.created[action.name])
        applier.note("Container", action.name, "Started")
    elif kind is ActionKind.WAIT:
        await _apply_wait(applier, action, wait_timeout, poll)
    elif kind is ActionKind.STOP:
        await backend.stop_container(action.container, applier.stop_timeout(action.service))
        applier.note("Container", action.name, "Stopped")
    elif kind is ActionKind.REMOVE:
        await backend.remove_container(action.container)
        applier.note("Container", action.name, "Removed")


async def _recreate(applier: _Applier, action: Action, bodies: dict[str, dict[str, Any]], hashes: dict[str, str], owner: str) -> None:
    backend, project = applier.backend, applier.project
    assert project is not None
    service = project.service(action.service)
    old = action.container
    was_running = (await backend.container_status(old)).status in ("running", "restarting", "paused")
    await backend.stop_container(old, applier.stop_timeout(service.name))
    await backend.rename_container(old, f"{old[:12]}_{action.name}")
    body = labelled_body(project, service, bodies[service.name], number=action.number, digest=hashes[service.name], owner=owner)
    try:
        applier.created[action.name] = await backend.create_container(action.name, body)
    except BackendError:
        with trio.CancelScope(shield=True):  # put the old one back as it was
            try:
                await backend.rename_container(old, action.name)
                if was_running:
                    await backend.start_container(old)
            except BackendError:
                pass
        raise
    await backend.remove_container(old)
    applier.note("Container", action.name, "Recreated")


async def _apply_wait(applier: _Applier, action: Action, wait_timeout: float | None, poll: float) -> None:
    project = applier.project
    assert project is not None and action.dependency is not None
    dep = action.dependency
    if dep.service in applier.blocked:
        applier.fail(action.service, f"service {action.service!r}: dependency {dep.service!r} failed: {applier.blocked[dep.service]}")
        return
    if dep.condition is not Condition.STARTED:
        applier.note("Container", dep.service, f"Waiting ({dep.condition.value})")
    reason: str | None = None
    with trio.move_on_after(wait_timeout if wait_timeout is not None else float("inf")) as scope:
        reason = await _wait_condition(applier.backend, project, dep, poll=poll)
    if scope.cancelled_caught:
        reason = f"dependency {dep.service!r} not {dep.condition.value} after {wait_timeout:g}s"
    if reason is None:
        if dep.condition is Condition.HEALTHY:
            applier.note("Container", dep.service, "Healthy")
        elif dep.condition is Condition.COMPLETED:
            applier.note("Container", dep.service, "Exited")
        return
    if not dep.required:
        applier.result.warnings.append(f"service {action.service!r}: optional {reason}")
        return
    applier.fail(action.service, reason)


async def down(
    project: Project | None,
    project_name: str,
    backend: Backend,
    options: DownOptions | None = None,
    *,
    on_change: OnChange = _ignore,
) -> Result:
    """Stop and remove the project's containers, then its networks (and volumes with ``-v``)."""
    options = options or DownOptions()
    result = Result()
    applier = _Applier(project, backend, result, on_change)
    actual = await backend.list_containers(L.project_filter(project_name))
    plan = plan_down(project, project_name, actual, options)
    result.plan = plan
    for orphan in plan.orphans:
        result.warnings.append(f"found orphan container {orphan} for this project; remove it with --remove-orphans")
    for action in plan.actions:
        try:
            if action.kind is ActionKind.STOP:
                await backend.stop_container(action.container, applier.stop_timeout(action.service))
                applier.note("Container", action.name, "Stopped")
            elif action.kind is ActionKind.REMOVE:
                await backend.remove_container(action.container, volumes=options.volumes)
                applier.note("Container", action.name, "Removed")
            elif action.kind is ActionKind.REMOVE_NETWORK:
                if await backend.remove_network(action.name):
                    applier.note("Network", action.name, "Removed")
            elif action.kind is ActionKind.REMOVE_VOLUME:
                if await backend.remove_volume(action.name):
                    applier.note("Volume", action.name, "Removed")
        except BackendError as exc:
            result.errors.append(f"{action.name or action.container}: {exc.message}")
    return result
