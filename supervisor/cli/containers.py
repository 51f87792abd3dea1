"""Container verbs: ps, start, stop, restart, kill, pause, unpause, rm, wait, rename.

Each verb sends what docker CLI 28.2.2 sends (docker-api.md §2) and prints
what it prints: the names it was given, one per line, errors collected on
stderr and exit status 1 once every name was tried.
"""

from __future__ import annotations

import json
from typing import Any

import click

from supervisor.cli.client import ApiError
from supervisor.cli.format import CONTAINER_HEADERS, CONTAINER_TABLE, container_row, render_rows
from supervisor.cli.run import start_attached
from supervisor.cli.state import CommandFailed, for_each, get_state
from supervisor.cli.template import TemplateError


def parse_filters(values: tuple[str, ...]) -> str | None:
    """``--filter k=v`` (repeatable) into docker's ``{"k":{"v":true}}`` JSON."""
    filters: dict[str, dict[str, bool]] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep:
            msg = f"bad format of filter (expected name=value): {value}"
            raise click.BadParameter(msg, param_hint="'-f' / '--filter'")
        filters.setdefault(key.strip().lower(), {})[val] = True
    return json.dumps(filters, separators=(",", ":")) if filters else None


@click.command("ps")
@click.option(
    "-a", "--all", "show_all", is_flag=True, help="Show all containers (default shows just running)"
)
@click.option("-q", "--quiet", is_flag=True, help="Only display container IDs")
@click.option(
    "-l", "--latest", is_flag=True, help="Show the latest created container (includes all states)"
)
@click.option(
    "-n",
    "--last",
    type=int,
    default=-1,
    help="Show n last created containers (includes all states)",
)
@click.option(
    "-f", "--filter", "filters", multiple=True, help="Filter output based on conditions provided"
)
@click.option(
    "--format",
    "fmt",
    help="Format output using a custom template ('table', 'json', or a Go template)",
)
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes")
@click.pass_context
def ps_cmd(
    ctx: click.Context,
    show_all: bool,
    quiet: bool,
    latest: bool,
    last: int,
    filters: tuple[str, ...],
    fmt: str | None,
    no_trunc: bool,
    size: bool,
) -> None:
    """List containers."""
    state = get_state(ctx)
    params: dict[str, Any] = {}
    if show_all:
        params["all"] = "1"
    limit = 1 if latest else last
    if limit != -1:
        params["limit"] = str(limit)
    if size or (fmt and ".Size" in fmt):
        params["size"] = "1"
    params["filters"] = parse_filters(filters)
    summaries = state.client().json("GET", "/containers/json", params)
    now = state.clock()
    rows = [container_row(s, now, trunc=not no_trunc) for s in summaries]
    if quiet:
        fmt = "{{.ID}}"
    table = CONTAINER_TABLE + ("\t{{.Size}}" if size else "")
    try:
        click.echo(render_rows(rows, fmt, table, CONTAINER_HEADERS), nl=False)
    except TemplateError as exc:
        msg = f"template parsing error: {exc}"
        raise CommandFailed(msg, 1) from exc


@click.command("start")
@click.option("-a", "--attach", is_flag=True, help="Attach STDOUT/STDERR and forward signals")
@click.option("-i", "--interactive", is_flag=True, help="Attach container's STDIN")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def start_cmd(
    ctx: click.Context, attach: bool, interactive: bool, containers: tuple[str, ...]
) -> None:
    """Start one or more stopped containers."""
    state = get_state(ctx)
    if attach or interactive:
        if len(containers) > 1:
            msg = "Error: you cannot start and attach multiple containers at once"
            raise CommandFailed(msg, 1)
        code = start_attached(state, containers[0], interactive)
        if code:
            msg = ""
            raise CommandFailed(msg, code)
        return
    client = state.client()
    try:
        for_each(containers, lambda c: client.request("POST", f"/containers/{c}/start"))
    except CommandFailed as exc:
        msg = f"{exc.message}\nError: failed to start containers: {', '.join(containers)}"
        raise CommandFailed(msg, 1) from exc


def _stop_params(timeout: int | None, sig: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if timeout is not None:
        params["t"] = str(timeout)
    if sig:
        params["signal"] = sig
    return params


def _timeout_options(func: Any) -> Any:
    func = click.option("-s", "--signal", "sig", help="Signal to send to the container")(func)
    return click.option(
        "-t",
        "--time",
        "--timeout",
        "timeout",
        type=int,
        help="Seconds to wait before killing the container",
    )(func)


@click.command("stop")
@_timeout_options
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def stop_cmd(
    ctx: click.Context, timeout: int | None, sig: str | None, containers: tuple[str, ...]
) -> None:
    """Stop one or more running containers."""
    client = get_state(ctx).client()
    params = _stop_params(timeout, sig)
    for_each(containers, lambda c: client.request("POST", f"/containers/{c}/stop", params))


@click.command("restart")
@_timeout_options
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def restart_cmd(
    ctx: click.Context, timeout: int | None, sig: str | None, containers: tuple[str, ...]
) -> None:
    """Restart one or more containers."""
    client = get_state(ctx).client()
    params = _stop_params(timeout, sig)
    for_each(containers, lambda c: client.request("POST", f"/containers/{c}/restart", params))


@click.command("kill")
@click.option("-s", "--signal", "sig", help="Signal to send to the container")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def kill_cmd(ctx: click.Context, sig: str | None, containers: tuple[str, ...]) -> None:
    """Kill one or more running containers."""
    client = get_state(ctx).client()
    params = {"signal": sig} if sig else None
    for_each(containers, lambda c: client.request("POST", f"/containers/{c}/kill", params))


@click.command("pause")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def pause_cmd(ctx: click.Context, containers: tuple[str, ...]) -> None:
    """Pause all processes within one or more containers."""
    client = get_state(ctx).client()
    for_each(containers, lambda c: client.request("POST", f"/containers/{c}/pause"))


@click.command("unpause")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def unpause_cmd(ctx: click.Context, containers: tuple[str, ...]) -> None:
    """Unpause all processes within one or more containers."""
    client = get_state(ctx).client()
    for_each(containers, lambda c: client.request("POST", f"/containers/{c}/unpause"))


@click.command("rm")
@click.option(
    "-f", "--force", is_flag=True, help="Force the removal of a running container (uses SIGKILL)"
)
@click.option(
    "-v", "--volumes", is_flag=True, help="Remove anonymous volumes associated with the container"
)
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def rm_cmd(ctx: click.Context, force: bool, volumes: bool, containers: tuple[str, ...]) -> None:
    """Remove one or more containers."""
    client = get_state(ctx).client()
    params = {"force": "1" if force else None, "v": "1" if volumes else None}
    errors = []
    for name in containers:
        try:
            client.request("DELETE", f"/containers/{name}", params)
        except ApiError as exc:
            if force and exc.status_code == 404:
                click.echo(str(exc), err=True)
            else:
                errors.append(str(exc))
            continue
        click.echo(name)
    if errors:
        raise CommandFailed("\n".join(errors), 1)


@click.command("wait")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def wait_cmd(ctx: click.Context, containers: tuple[str, ...]) -> None:
    """Block until one or more containers stop, then print their exit codes."""
    client = get_state(ctx).client()

    def wait(name: str) -> None:
        result = client.json("POST", f"/containers/{name}/wait")
        error = (result.get("Error") or {}).get("Message")
        if error:
            raise ApiError(500, error)
        click.echo(str(result.get("StatusCode", 0)))

    for_each(containers, wait, echo_name=False)


@click.command("rename")
@click.argument("container")
@click.argument("new_name")
@click.pass_context
def rename_cmd(ctx: click.Context, container: str, new_name: str) -> None:
    """Rename a container."""
    if not new_name.strip():
        msg = "Error: new name cannot be blank"
        raise CommandFailed(msg, 1)
    get_state(ctx).client().request("POST", f"/containers/{container}/rename", {"name": new_name})


COMMANDS = [
    ps_cmd,
    start_cmd,
    stop_cmd,
    restart_cmd,
    kill_cmd,
    pause_cmd,
    unpause_cmd,
    rm_cmd,
    wait_cmd,
    rename_cmd,
]
