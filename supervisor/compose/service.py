"""The daemon's own services: ``berth daemon -c FILE`` (the supervisord/systemd use case).

Each file given with ``-c`` (or each ``*.yml``/``*.yaml`` of a directory given
with ``-c``) is one compose project, named by its ``name:`` or else by the
file's stem (``/etc/berth/web.yml`` → project ``web``). The supervisor brings
them up once the API is up, and again on every reload (SIGHUP, ``berth
reload``, ``POST /berth/reload``):

1. Load and validate *every* file first. If any fails, the reload is refused
   as a whole: nothing is created, changed or removed, and the error goes to
   the daemon log, the caller and the event bus (``daemon reload``).
2. Reconcile each project like ``berth compose up --remove-orphans``:
   unchanged containers are untouched, changed ones recreated, services gone
   from a file removed.
3. Projects that an earlier load brought up and whose file is gone are taken
   down (named volumes are kept). They are found by the ``io.berth.service-file``
   label, so this also works across daemon restarts.

A service whose image is missing is reported and skipped (with its
dependents); the next reload picks it up. Reloads are serialised and run in
the supervisor's own task, so a client that disconnects cannot cut one short.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from supervisor import _logging
from supervisor.compose import labels as L
from supervisor.compose.errors import ComposeError
from supervisor.compose.model import Project
from supervisor.compose.plan import UpOptions
from supervisor.compose.project import load_project
from supervisor.compose.reconcile import Backend, BackendError, Result, down, up
from supervisor.events.model import EventType

log = _logging.get_logger("supervisor.compose")

Publish = Callable[[EventType, str, str, Mapping[str, str]], Any]
SERVICE_FILE_SUFFIXES = (".yml", ".yaml")


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """The answer of ``POST /berth/reload`` and ``berth reload``."""

    ok: bool
    error: str = ""
    changes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    projects: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "error": self.error, "changes": list(self.changes),
            "warnings": list(self.warnings), "projects": list(self.projects),
        }


def expand_paths(paths: Sequence[str | Path]) -> list[Path]:
    """``-c`` values → service files: a directory gives its ``*.yml``/``*.yaml``, sorted.

    Raises:
        ComposeError: a path that does not exist.
    """
    out: list[Path] = []
    for raw in paths:
        path = Path(raw).absolute()
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.suffix in SERVICE_FILE_SUFFIXES and p.is_file()))
        elif path.exists():
            out.append(path)
        else:
            msg = f"{path}: no such service file or directory"
            raise ComposeError(msg)
    return out


def load_service_files(paths: Sequence[str | Path], environ: Mapping[str, str]) -> list[tuple[Path, Project]]:
    """Load every service file; all or nothing.

    Raises:
        ComposeError: every problem of every file, and duplicate project names.
    """
    errors: list[str] = []
    loaded: list[tuple[Path, Project]] = []
    try:
        files = expand_paths(paths)
    except ComposeError as exc:
        raise ComposeError(exc.errors) from exc
    seen: dict[str, Path] = {}
    for path in files:
        try:
            project = load_project([path], environ=environ, cwd=path.parent, default_name=path.stem)
        except ComposeError as exc:
            errors.extend(e if e.startswith(str(path)) or e.startswith(path.name) else f"{path}: {e}" for e in exc.errors)
            continue
        if project.name in seen:
            errors.append(f"{path}: project {project.name!r} is already defined by {seen[project.name]}")
            continue
        seen[project.name] = path
        loaded.append((path, project))
    if errors:
        raise ComposeError(errors)
    return loaded


class ServiceSupervisor:
    """Keeps the daemon's service files running (see the module docstring)."""

    def __init__(
        self,
        files: Sequence[str | Path],
        backend: Backend,
        publish: Publish | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        wait_timeout: float = 300.0,
        poll: float = 0.5,
    ) -> None:
        self.files = tuple(files)
        self.backend = backend
        self.publish = publish
        env = dict(os.environ if environ is None else environ)
        for key in ("COMPOSE_PROJECT_NAME", "COMPOSE_FILE"):  # one project per file, always
            env.pop(key, None)
        self.environ = env
        self.wait_timeout = wait_timeout
        self.poll = poll
        self.projects: dict[str, Path] = {}
        self._lock = trio.Lock()
        self._send, self._receive = trio.open_memory_channel[tuple[trio.Event, list[ReloadResult]] | None](16)
        self._running = False

    async def run(self, *, task_status: trio.TaskStatus[ServiceSupervisor] = trio.TASK_STATUS_IGNORED) -> None:
        """Report ready at once, reconcile the files, then serve reload requests forever."""
        self._running = True
        task_status.started(self)
        try:
            first = await self._reload_now("boot")
            del first
            async for request in self._receive:
                pending = [request]
                while True:  # coalesce a burst of requests into one reload
                    try:
                        pending.append(self._receive.receive_nowait())
                    except trio.WouldBlock:
                        break
                result = await self._reload_now("reload")
                for item in pending:
                    if item is not None:
                        done, box = item
                        box.append(result)
                        done.set()
        finally:
            self._running = False

    def request_reload(self) -> None:
        """Ask for a reload without waiting (the SIGHUP handler); never blocks."""
        try:
            self._send.send_nowait(None)
        except trio.WouldBlock:
            pass  # one is already queued: it will see the same files

    async def reload(self) -> ReloadResult:
        """Reload the files and reconcile; return what happened.

        Runs in ``run``'s task when that is running (so a caller that goes away
        cannot interrupt a reload), else right here.
        """
        if not self._running:
            return await self._reload_now("reload")
        done, box = trio.Event(), list[ReloadResult]()
        await self._send.send((done, box))
        await done.wait()
        return box[0]

    async def _reload_now(self, why: str) -> ReloadResult:
        async with self._lock:
            result = await self._reconcile()
        if result.ok:
            log.info("service files reconciled", trigger=why, projects=list(result.projects), changes=len(result.changes))
        else:
            log.error("service files: " + result.error.replace("\n", "; "), trigger=why)
        for warning in result.warnings:
            log.warning("service files: " + warning)
        if self.publish is not None:
            attributes = {"name": "berth", "ok": "true" if result.ok else "false", "trigger": why,
                          "changes": str(len(result.changes))}
            if result.error:
                attributes["error"] = result.error
            self.publish(EventType.DAEMON, "reload", "berth", attributes)
        return result

    async def _reconcile(self) -> ReloadResult:
        try:
            loaded = await trio.to_thread.run_sync(load_service_files, self.files, self.environ)
        except ComposeError as exc:
            return ReloadResult(False, f"service files not loaded, nothing changed:\n{exc}")
        changes: list[str] = []
        errors: list[str] = []
        warnings: list[str] = []
        names = []
        for path, project in loaded:
            names.append(project.name)
            result = await up(
                project, self.backend, UpOptions(remove_orphans=True),
                wait_timeout=self.wait_timeout, poll=self.poll, owner=str(path),
            )
            self._collect(project.name, result, changes, errors, warnings)
            self.projects[project.name] = path
        try:
            owned = await self.backend.list_containers({L.DAEMON_OWNED: None})
        except BackendError as exc:
            errors.append(f"listing the daemon's containers: {exc.message}")
            owned = []
        stale = sorted({c.project for c in owned if c.project and c.project not in names} | (set(self.projects) - set(names)))
        for name in stale:
            result = await down(None, name, self.backend)
            self._collect(name, result, changes, errors, warnings)
            self.projects.pop(name, None)
        return ReloadResult(not errors, "\n".join(errors), tuple(changes), tuple(warnings), tuple(names))

    @staticmethod
    def _collect(name: str, result: Result, changes: list[str], errors: list[str], warnings: list[str]) -> None:
        changes.extend(f"{name}: {c}" for c in result.changes)
        errors.extend(f"{name}: {e}" for e in result.errors)
        warnings.extend(f"{name}: {w}" for w in result.warnings)
