"""``berth compose``: docker compose's verbs over service files, plus ``berth up/down/reload``.

``up`` and ``down`` run the compose core (load → plan → reconcile) inside
``trio.run`` with an async httpx backend on the daemon's socket; the read-only
verbs (``ps``, ``logs``, ``config``) and ``start``/``stop``/``restart`` use the
ordinary synchronous client. Progress lines look like compose v2's
(``Container demo-web-1  Started``). An invalid file exits 1 with every error,
each naming file, line and key, and nothing is touched.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from supervisor.cli.client import ApiError
from supervisor.cli.format import container_row, tabwrite
from supervisor.cli.state import CliState, CommandFailed, get_state
from supervisor.compose import labels as L
from supervisor.compose.errors import ComposeError

if TYPE_CHECKING:
    from supervisor.compose.model import Project

# The compose loader, model and planner (yaml among them) are imported where a
# compose command runs: every other ``berth`` command starts ~60 ms sooner.

_META_KEY = "berth.compose.options"


class ComposeOptions:
    """``-f`` and ``-p`` as given to the group (or to ``berth up``/``down``)."""

    def __init__(self, files: tuple[str, ...], project_name: str | None) -> None:
        self.files = files
        self.project_name = project_name

    def load(self, state: CliState) -> Project:
        try:
            from supervisor.compose.project import load_project

            project = load_project(self.files, project_name=self.project_name, environ=state.environ, cwd=Path.cwd())
        except ComposeError as exc:
            raise CommandFailed(str(exc), 1) from exc
        for warning in project.warnings:
            click.echo(f"WARN {warning}", err=True)
        return project

    def name_only(self, state: CliState) -> tuple[Project | None, str]:
        """The project, or (with ``-p`` and no file) just its name, as ``down`` allows."""
        try:
            return self.load(state), ""
        except CommandFailed:
            name = self.project_name or state.environ.get("COMPOSE_PROJECT_NAME")
            if not name:
                raise
            try:
                from supervisor.compose.project import check_project_name

                return None, check_project_name(name, "-p")
            except ComposeError as exc:
                raise CommandFailed(str(exc), 1) from exc


def _options(ctx: click.Context) -> ComposeOptions:
    """The ``-f``/``-p`` of this invocation (``ctx.meta`` is shared by nested contexts)."""
    return ctx.meta.get(_META_KEY) or ComposeOptions((), None)


def _echo_change(change: Any) -> None:
    click.echo(f" \u2714 {change}" if change.status not in ("Waiting",) else f" \u2026 {change}", err=True)


def _run_async(state: CliState, job: Callable[[Any], Any]) -> Any:
    import trio  # lazy: only up/down need the async core

    from supervisor.compose.backend_http import HttpBackend

    async def main() -> Any:
        async with HttpBackend(state.host) as backend:
            return await job(backend)

    return trio.run(main)


def _finish(result: Any) -> None:
    for warning in result.warnings:
        click.echo(f"WARN {warning}", err=True)
    if result.errors:
        raise CommandFailed("\n".join(f"Error: {e}" for e in result.errors), 1)


def _check_services(project: Project, services: tuple[str, ...]) -> None:
    unknown = [s for s in services if s not in project.service_names()]
    if unknown:
        msg = f"no such service: {', '.join(unknown)}"
        raise CommandFailed(msg, 1)


def _containers(state: CliState, project: str, services: tuple[str, ...] = (), all_: bool = True) -> list[dict[str, Any]]:
    filters = {"label": [f"{k}={v}" for k, v in L.project_filter(project).items()]}
    items = state.client().json("GET", "/containers/json", {"all": "1" if all_ else "0", "filters": json.dumps(filters)})
    items = [c for c in items if not services or (c.get("Labels") or {}).get(L.SERVICE) in services]
    return sorted(items, key=lambda c: ((c.get("Labels") or {}).get(L.SERVICE, ""), L.number_of(c.get("Labels") or {})))


def _name(summary: dict[str, Any]) -> str:
    return str(min(summary.get("Names") or ["/"], key=len)).lstrip("/")


# ---------------------------------------------------------------- shared bodies


def do_up(ctx: click.Context, detach: bool, remove_orphans: bool, force_recreate: bool, no_recreate: bool, no_start: bool, services: tuple[str, ...]) -> None:
    state, opts = get_state(ctx), _options(ctx)
    project = opts.load(state)
    _check_services(project, services)
    from supervisor.compose.plan import UpOptions

    options = UpOptions(services, force_recreate, no_recreate, remove_orphans, no_start)

    async def job(backend: Any) -> Any:
        from supervisor.compose.reconcile import up

        return await up(project, backend, options, on_change=_echo_change)

    result = _run_async(state, job)
    _finish(result)
    if detach or no_start:
        return
    _attach(ctx, state, project, services)


def _attach(ctx: click.Context, state: CliState, project: Project, services: tuple[str, ...]) -> None:
    """Foreground ``up``: follow the logs; Ctrl-C stops the containers, as compose does."""
    from supervisor.cli import logs

    names = [_name(c) for c in _containers(state, project.name, services)]
    if not names:
        return
    params = logs.build_params(follow=True, follow_restarts=False, tail="all", since=None, until=None,
                               timestamps=True, details=False, now=dt.datetime.now().astimezone())
    click.echo(f"Attaching to {', '.join(names)}", err=True)
    try:
        logs._merged_follow(state, names, params, False)
    except KeyboardInterrupt:
        click.echo("Gracefully stopping... (press Ctrl+C again to force)", err=True)
        do_stop(ctx, services)


def do_down(ctx: click.Context, volumes: bool, remove_orphans: bool) -> None:
    state, opts = get_state(ctx), _options(ctx)
    project, name = opts.name_only(state)
    from supervisor.compose.plan import DownOptions

    options = DownOptions(remove_orphans=remove_orphans, volumes=volumes)

    async def job(backend: Any) -> Any:
        from supervisor.compose.reconcile import down

        return await down(project, project.name if project else name, backend, options, on_change=_echo_change)

    _finish(_run_async(state, job))


def do_stop(ctx: click.Context, services: tuple[str, ...], timeout: int | None = None) -> None:
    state, opts = get_state(ctx), _options(ctx)
    project = opts.load(state)
    _check_services(project, services)
    from supervisor.compose.plan import start_order

    rank = {n: i for i, n in enumerate(start_order(project))}
    items = _containers(state, project.name, services, all_=False)
    items.sort(key=lambda c: -rank.get((c.get("Labels") or {}).get(L.SERVICE, ""), -1))
    for item in items:
        params = {"t": str(timeout)} if timeout is not None else None
        state.client().request("POST", f"/containers/{item['Id']}/stop", params)
        click.echo(f" \u2714 Container {_name(item)}  Stopped", err=True)


# ---------------------------------------------------------------- the group


@click.group("compose")
@click.option("-f", "--file", "files", multiple=True, metavar="FILE", help="Compose configuration files (repeatable)")
@click.option("-p", "--project-name", help="Project name")
@click.pass_context
def compose_group(ctx: click.Context, files: tuple[str, ...], project_name: str | None) -> None:
    """Define and run multi-container services from compose files."""
    ctx.meta[_META_KEY] = ComposeOptions(files, project_name)


def _up_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for decorator in reversed((
        click.option("-d", "--detach", is_flag=True, help="Detached mode: run containers in the background"),
        click.option("--remove-orphans", is_flag=True, help="Remove containers for services not defined in the compose file"),
        click.option("--force-recreate", is_flag=True, help="Recreate containers even if their configuration hasn't changed"),
        click.option("--no-recreate", is_flag=True, help="If containers already exist, don't recreate them"),
        click.option("--no-start", is_flag=True, help="Don't start the services after creating them"),
        click.argument("services", nargs=-1),
    )):
        func = decorator(func)
    return func


def _down_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--remove-orphans", is_flag=True, help="Remove containers for services not defined in the compose file")(func)
    return click.option("-v", "--volumes", is_flag=True, help="Remove named volumes declared in the volumes section and anonymous volumes")(func)


@compose_group.command("up")
@_up_options
@click.pass_context
def up_cmd(ctx: click.Context, detach: bool, remove_orphans: bool, force_recreate: bool, no_recreate: bool, no_start: bool, services: tuple[str, ...]) -> None:
    """Create and start containers."""
    do_up(ctx, detach, remove_orphans, force_recreate, no_recreate, no_start, services)


@compose_group.command("down")
@_down_options
@click.pass_context
def down_cmd(ctx: click.Context, volumes: bool, remove_orphans: bool) -> None:
    """Stop and remove containers, networks (and volumes with -v)."""
    do_down(ctx, volumes, remove_orphans)


@compose_group.command("ps")
@click.option("-a", "--all", "all_", is_flag=True, default=True, hidden=True)
@click.option("-q", "--quiet", is_flag=True, help="Only display IDs")
@click.argument("services", nargs=-1)
@click.pass_context
def ps_cmd(ctx: click.Context, all_: bool, quiet: bool, services: tuple[str, ...]) -> None:
    """List the project's containers."""
    state = get_state(ctx)
    project, name = _options(ctx).name_only(state)
    items = _containers(state, project.name if project else name, services, all_)
    if quiet:
        for item in items:
            click.echo(item["Id"])
        return
    lines = ["NAME\tIMAGE\tCOMMAND\tSERVICE\tCREATED\tSTATUS\tPORTS"]
    now = state.clock()
    for item in items:
        row = container_row(item, now)
        service = (item.get("Labels") or {}).get(L.SERVICE, "")
        lines.append("\t".join((_name(item), row["Image"], row["Command"], service, row["RunningFor"], row["Status"], row["Ports"])))
    click.echo(tabwrite(lines), nl=False)


@compose_group.command("logs")
@click.option("-f", "--follow", is_flag=True, help="Follow log output")
@click.option("-n", "--tail", default="all", show_default=True, help="Number of lines to show from the end of the logs for each container")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps")
@click.argument("services", nargs=-1)
@click.pass_context
def logs_cmd(ctx: click.Context, follow: bool, tail: str, timestamps: bool, services: tuple[str, ...]) -> None:
    """View output from the project's containers, prefixed with their names."""
    from supervisor.cli import logs

    state = get_state(ctx)
    project, name = _options(ctx).name_only(state)
    if project is not None:
        _check_services(project, services)
    names = [_name(c) for c in _containers(state, project.name if project else name, services)]
    if not names:
        return
    params = logs.build_params(follow=follow, follow_restarts=False, tail=tail, since=None, until=None,
                               timestamps=True, details=False, now=dt.datetime.now().astimezone())
    if follow:
        logs._merged_follow(state, names, params, timestamps)
    else:
        logs._merged(state, names, params, timestamps)


@compose_group.command("start")
@click.argument("services", nargs=-1)
@click.pass_context
def start_cmd(ctx: click.Context, services: tuple[str, ...]) -> None:
    """Start the project's existing containers (dependencies first)."""
    state = get_state(ctx)
    project = _options(ctx).load(state)
    _check_services(project, services)
    from supervisor.compose.plan import start_order

    rank = {n: i for i, n in enumerate(start_order(project))}
    items = _containers(state, project.name, services)
    items.sort(key=lambda c: rank.get((c.get("Labels") or {}).get(L.SERVICE, ""), len(rank)))
    if not items:
        msg = "no containers to start (run up first)"
        raise CommandFailed(msg, 1)
    for item in items:
        try:
            state.client().request("POST", f"/containers/{item['Id']}/start")
        except ApiError as exc:
            if exc.status_code != 304:
                raise
        click.echo(f" \u2714 Container {_name(item)}  Started", err=True)


@compose_group.command("stop")
@click.option("-t", "--timeout", type=int, default=None, help="Seconds to wait for the containers to stop before killing them")
@click.argument("services", nargs=-1)
@click.pass_context
def stop_cmd(ctx: click.Context, timeout: int | None, services: tuple[str, ...]) -> None:
    """Stop the project's containers (dependents first) without removing them."""
    do_stop(ctx, services, timeout)


@compose_group.command("restart")
@click.option("-t", "--timeout", type=int, default=None, help="Seconds to wait for each container to stop before killing it")
@click.argument("services", nargs=-1)
@click.pass_context
def restart_cmd(ctx: click.Context, timeout: int | None, services: tuple[str, ...]) -> None:
    """Restart the project's containers (dependencies first)."""
    state = get_state(ctx)
    project = _options(ctx).load(state)
    _check_services(project, services)
    from supervisor.compose.plan import start_order

    rank = {n: i for i, n in enumerate(start_order(project))}
    items = _containers(state, project.name, services)
    items.sort(key=lambda c: rank.get((c.get("Labels") or {}).get(L.SERVICE, ""), len(rank)))
    for item in items:
        params = {"t": str(timeout)} if timeout is not None else None
        state.client().request("POST", f"/containers/{item['Id']}/restart", params)
        click.echo(f" \u2714 Container {_name(item)}  Restarted", err=True)


@compose_group.command("config")
@click.option("-q", "--quiet", is_flag=True, help="Only validate the configuration, don't print anything")
@click.option("--services", "list_services", is_flag=True, help="Print the service names, one per line")
@click.pass_context
def config_cmd(ctx: click.Context, quiet: bool, list_services: bool) -> None:
    """Validate and print the merged, interpolated configuration."""
    from supervisor.compose.render import render_yaml

    project = _options(ctx).load(get_state(ctx))
    if quiet:
        return
    if list_services:
        for name in project.service_names():
            click.echo(name)
        return
    click.echo(render_yaml(project), nl=False)


# ---------------------------------------------------------------- short forms


def _file_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("-p", "--project-name", help="Project name")(func)
    return click.option("-f", "--file", "files", multiple=True, metavar="FILE", help="Compose configuration files (repeatable)")(func)


@click.command("up")
@_file_options
@_up_options
@click.pass_context
def short_up(ctx: click.Context, files: tuple[str, ...], project_name: str | None, detach: bool, remove_orphans: bool, force_recreate: bool, no_recreate: bool, no_start: bool, services: tuple[str, ...]) -> None:
    """Create and start the services of a compose file (berth compose up)."""
    ctx.meta[_META_KEY] = ComposeOptions(files, project_name)
    do_up(ctx, detach, remove_orphans, force_recreate, no_recreate, no_start, services)


@click.command("down")
@_file_options
@_down_options
@click.pass_context
def short_down(ctx: click.Context, files: tuple[str, ...], project_name: str | None, volumes: bool, remove_orphans: bool) -> None:
    """Stop and remove the services of a compose file (berth compose down)."""
    ctx.meta[_META_KEY] = ComposeOptions(files, project_name)
    do_down(ctx, volumes, remove_orphans)


@click.command("reload")
@click.pass_context
def reload_cmd(ctx: click.Context) -> None:
    """Reload the daemon's service files (berth daemon -c), like SIGHUP."""
    answer = get_state(ctx).client().json("POST", "/berth/reload")
    for change in answer.get("changes") or []:
        click.echo(change)
    for warning in answer.get("warnings") or []:
        click.echo(f"WARN {warning}", err=True)
    if not answer.get("ok", False):
        msg = f"reload failed: {answer.get('error') or 'unknown error'}"
        raise CommandFailed(msg, 1)
    if not answer.get("changes"):
        click.echo("service files reloaded: nothing to change")


COMMANDS = [compose_group, short_up, short_down, reload_cmd]
