"""The planner: desired project versus actual containers → ordered actions.

Pure: no I/O, no trio. ``reconcile.py`` applies a ``Plan`` through a backend.

Rules of operation (``up``):

1. The scope is the selected services plus everything they depend on
   (compose's default without ``--no-deps``); all services when none are named.
2. Networks and named volumes used by the scope are ensured first.
3. Orphans (containers of the project whose service is no longer in the file)
   are stopped and removed first with ``remove_orphans``; otherwise listed.
4. Services are visited in dependency order (declaration order among equals).
   Per replica number 1..N: no container → CREATE; a different config hash (or
   ``force_recreate``) → RECREATE; not running → START, except a one-shot job
   that exited 0 under ``restart: no``/``on-failure`` (re-running a finished
   migration on every reload would surprise); else up to date.
   Containers beyond N (or duplicates of a number) are removed.
5. A service that is created, recreated or started first WAITs for each of its
   ``depends_on`` conditions; the applier stops that service's chain (and its
   dependents') when a wait fails, and goes on with everything else.

``down`` stops in reverse dependency order, removes the containers, then the
project's networks, and its named volumes only when asked.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from supervisor.compose.labels import container_name
from supervisor.compose.model import Dependency, MountType, Project, Service

RUNNING_STATES = frozenset({"running", "restarting", "paused"})


@dataclass(frozen=True, slots=True)
class Actual:
    """A container of the project as the engine reports it."""

    id: str
    name: str
    service: str
    number: int
    config_hash: str
    state: str  # Docker's State.Status: created, running, exited, ...
    project: str = ""
    exit_code: int | None = None  # when exited and known

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES


class ActionKind(enum.Enum):
    ENSURE_NETWORK = "ensure_network"
    ENSURE_VOLUME = "ensure_volume"
    CREATE = "create"
    RECREATE = "recreate"
    START = "start"
    WAIT = "wait"
    STOP = "stop"
    REMOVE = "remove"
    REMOVE_NETWORK = "remove_network"
    REMOVE_VOLUME = "remove_volume"


@dataclass(frozen=True, slots=True)
class Action:
    """One step. ``service`` is the service acted on (for WAIT: the one waiting);
    ``container`` an existing container's ID; ``name`` the container (network,
    volume) name the step creates or names; ``dependency`` what a WAIT waits for.
    A START right after a CREATE/RECREATE has ``container`` "" and starts ``name``."""

    kind: ActionKind
    service: str = ""
    name: str = ""
    container: str = ""
    number: int = 0
    dependency: Dependency | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class UpOptions:
    services: tuple[str, ...] = ()
    force_recreate: bool = False
    no_recreate: bool = False
    remove_orphans: bool = False
    no_start: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...] = ()
    up_to_date: tuple[str, ...] = ()  # container names left untouched
    orphans: tuple[str, ...] = ()  # orphan container names left in place

    def kinds(self) -> list[tuple[str, str]]:
        """(kind, name or service) pairs: a compact form for tests and logs."""
        return [(a.kind.value, a.name or a.container or a.service) for a in self.actions]


def start_order(project: Project, names: Iterable[str] | None = None) -> list[str]:
    """Services in dependency order (dependencies first), stable in declaration order."""
    wanted = set(project.service_names() if names is None else names)
    by_name = {s.name: s for s in project.services}
    done: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in by_name:
            return
        seen.add(name)
        for dep in by_name[name].depends_on:
            visit(dep.service)
        if name in wanted:
            done.append(name)

    for service in project.services:
        if service.name in wanted:
            visit(service.name)
    return done


def with_dependencies(project: Project, names: Sequence[str]) -> list[str]:
    """``names`` plus everything they depend on, transitively.

    Raises:
        KeyError: a name that is not a service of the project.
    """
    by_name = {s.name: s for s in project.services}
    out: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in out:
            continue
        service = by_name[name]
        out.add(name)
        stack.extend(d.service for d in service.depends_on if d.service in by_name)
    return [s for s in project.service_names() if s in out]


def dependents_of(project: Project, name: str) -> set[str]:
    """Every service that depends on ``name``, directly or not."""
    out: set[str] = set()
    changed = True
    while changed:
        changed = False
        for service in project.services:
            if service.name in out:
                continue
            if any(d.service == name or d.service in out for d in service.depends_on):
                out.add(service.name)
                changed = True
    return out


def _ensure_resources(project: Project, scope: list[str]) -> list[Action]:
    networks: dict[str, None] = {}
    volumes: dict[str, None] = {}
    for name in scope:
        service = project.service(name)
        if not service.network_mode:
            for net in service.networks:
                networks[net.key] = None
        for mount in service.volumes:
            if mount.type is MountType.VOLUME and mount.source:
                volumes[mount.source] = None
    actions = [
        Action(ActionKind.ENSURE_NETWORK, name=project.network(key).name, reason=key) for key in networks
    ]
    actions += [Action(ActionKind.ENSURE_VOLUME, name=project.volume(key).name, reason=key) for key in volumes]
    return actions


def _completed(service: Service, container: Actual) -> bool:
    """Exited 0 under a policy that would not restart it: the job is done, leave it."""
    return (
        container.state == "exited" and container.exit_code == 0
        and service.restart.name in ("no", "on-failure")
    )


def _service_actions(
    project: Project, service: Service, digest: str, containers: list[Actual], options: UpOptions
) -> tuple[list[Action], list[str]]:
    actions: list[Action] = []
    up_to_date: list[str] = []
    by_number: dict[int, Actual] = {}
    extras: list[Actual] = []
    for c in sorted(containers, key=lambda c: (c.number, not c.running, c.id)):
        if 1 <= c.number <= service.replicas and c.number not in by_number:
            by_number[c.number] = c
        else:
            extras.append(c)
    for number in range(1, service.replicas + 1):
        target = service.container_name or container_name(project.name, service.name, number)
        existing = by_number.get(number)
        if existing is None:
            actions.append(Action(ActionKind.CREATE, service.name, target, number=number))
            if not options.no_start:
                actions.append(Action(ActionKind.START, service.name, target, number=number))
            continue
        changed = existing.config_hash != digest
        if (changed or options.force_recreate) and not options.no_recreate:
            reason = "config changed" if changed else "forced"
            actions.append(Action(ActionKind.RECREATE, service.name, target, existing.id, number, reason=reason))
            if not options.no_start:
                actions.append(Action(ActionKind.START, service.name, target, number=number))
        elif _completed(service, existing):
            up_to_date.append(existing.name)  # a one-shot job that finished: not re-run
        elif not existing.running and not options.no_start:
            actions.append(Action(ActionKind.START, service.name, existing.name, existing.id, number))
        else:
            up_to_date.append(existing.name)
    for extra in extras:
        if extra.running:
            actions.append(Action(ActionKind.STOP, service.name, extra.name, extra.id, extra.number, reason="scaled down"))
        actions.append(Action(ActionKind.REMOVE, service.name, extra.name, extra.id, extra.number, reason="scaled down"))
    return actions, up_to_date


def plan_up(
    project: Project, hashes: Mapping[str, str], actual: Sequence[Actual], options: UpOptions = UpOptions()
) -> Plan:
    """What ``up`` must do to make ``actual`` match ``project``.

    Args:
        project: the validated desired state.
        hashes: each service's config hash (spec.config_hash of its body and image).
        actual: the project's containers, as listed by their labels.
        options: ``up``'s flags.

    Raises:
        KeyError: a selected service that the project does not define.
    """
    names = project.service_names()
    scope = with_dependencies(project, options.services) if options.services else list(names)
    actions = _ensure_resources(project, scope)
    orphans = [c for c in actual if c.service not in names]
    if options.remove_orphans:
        for c in orphans:
            if c.running:
                actions.append(Action(ActionKind.STOP, c.service, c.name, c.id, c.number, reason="orphan"))
            actions.append(Action(ActionKind.REMOVE, c.service, c.name, c.id, c.number, reason="orphan"))
    up_to_date: list[str] = []
    for name in start_order(project, scope):
        service = project.service(name)
        mine = [c for c in actual if c.service == name]
        steps, fresh = _service_actions(project, service, hashes[name], mine, options)
        up_to_date += fresh
        starts = any(a.kind in (ActionKind.START, ActionKind.CREATE, ActionKind.RECREATE) for a in steps)
        if starts and not options.no_start:
            actions += [Action(ActionKind.WAIT, name, dependency=d) for d in service.depends_on]
        actions += steps
    return Plan(
        tuple(actions), tuple(up_to_date),
        () if options.remove_orphans else tuple(sorted(c.name for c in orphans)),
    )


@dataclass(frozen=True, slots=True)
class DownOptions:
    remove_orphans: bool = False
    volumes: bool = False
    services: tuple[str, ...] = field(default=())


def plan_down(project: Project | None, project_name: str, actual: Sequence[Actual], options: DownOptions = DownOptions()) -> Plan:
    """What ``down`` does: stop and remove containers, then networks (and volumes with -v).

    ``project`` None means "no file": every container of the project goes,
    and the default network ``<project>_default``.
    """
    known = set(project.service_names()) if project is not None else None
    mine = [c for c in actual if known is None or c.service in known]
    orphans = [c for c in actual if known is not None and c.service not in known]
    if options.remove_orphans:
        mine += orphans
    order = start_order(project) if project is not None else []
    rank = {name: i for i, name in enumerate(order)}
    doomed = sorted(mine, key=lambda c: (-rank.get(c.service, len(rank)), c.service, c.number))
    actions = [
        Action(ActionKind.STOP, c.service, c.name, c.id, c.number) for c in doomed if c.running
    ]
    actions += [Action(ActionKind.REMOVE, c.service, c.name, c.id, c.number) for c in doomed]
    if project is None:
        actions.append(Action(ActionKind.REMOVE_NETWORK, name=f"{project_name}_default", reason="default"))
    else:
        actions += [
            Action(ActionKind.REMOVE_NETWORK, name=n.name, reason=n.key) for n in project.networks if not n.external
        ]
        if options.volumes:
            actions += [
                Action(ActionKind.REMOVE_VOLUME, name=v.name, reason=v.key) for v in project.volumes if not v.external
            ]
    left = () if options.remove_orphans else tuple(sorted(c.name for c in orphans))
    return Plan(tuple(actions), (), left)
