"""System verbs: version, info, events, inspect."""

from __future__ import annotations

import datetime as dt
import json
import platform
from collections.abc import Mapping
from typing import Any

import click

import supervisor
from supervisor.cli.client import API_VERSION, ApiError
from supervisor.cli.containers import parse_filters
from supervisor.cli.state import CommandFailed, get_state
from supervisor.cli.template import TemplateError, go_json, render_string
from supervisor.cli.units import format_event_time, get_timestamp
from supervisor.errors import InvalidArgument


def echo_inspected(found: list[Any], errors: list[str], fmt: str | None) -> None:
    """Print inspected objects as docker does (indented JSON array, or ``-f`` per object),
    then fail with every lookup error."""
    if fmt:
        for obj in found:
            click.echo(render_inspect(fmt, obj))
    else:
        click.echo(json.dumps(found, indent=4, ensure_ascii=False))
    if errors:
        raise CommandFailed("\n".join(errors), 1)


def render_inspect(fmt: str, data: Any) -> str:
    if fmt == "json":
        return go_json(data)
    try:
        return render_string(fmt.replace("\\t", "\t").replace("\\n", "\n"), data)
    except TemplateError as exc:
        msg = f"template parsing error: {exc}"
        raise CommandFailed(msg, 1) from exc


def format_event(event: Mapping[str, Any], tz: dt.tzinfo | None = None) -> str:
    """docker's default events line: time, type, action, actor, sorted attributes."""
    prefix = ""
    if event.get("timeNano"):
        prefix = format_event_time(int(event["timeNano"]), tz) + " "
    elif event.get("time"):
        prefix = format_event_time(int(event["time"]) * 1_000_000_000, tz) + " "
    actor = event.get("Actor") or {}
    line = f"{prefix}{event.get('Type', '')} {event.get('Action', '')} {actor.get('ID', '')}"
    attrs = actor.get("Attributes") or {}
    if attrs:
        line += " (" + ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs)) + ")"
    return line


@click.command("events")
@click.option("--since", help="Show all events created since timestamp")
@click.option("--until", help="Stream events until this timestamp")
@click.option(
    "-f", "--filter", "filters", multiple=True, help="Filter output based on conditions provided"
)
@click.option(
    "--format", "fmt", help="Format output using a custom template ('json' or a Go template)"
)
@click.pass_context
def events_cmd(
    ctx: click.Context,
    since: str | None,
    until: str | None,
    filters: tuple[str, ...],
    fmt: str | None,
) -> None:
    """Get real time events from the server."""
    state = get_state(ctx)
    now = dt.datetime.fromtimestamp(state.clock()).astimezone()
    params: dict[str, Any] = {"filters": parse_filters(filters)}
    try:
        if since:
            params["since"] = get_timestamp(since, now)
        if until:
            params["until"] = get_timestamp(until, now)
    except InvalidArgument as exc:
        msg = f"Error: {exc}"
        raise CommandFailed(msg, 125) from exc
    try:
        with state.client().stream("GET", "/events", params) as response:
            for line in response.iter_lines():
                if not line.strip():
                    continue
                event = json.loads(line)
                click.echo(render_inspect(fmt, event) if fmt else format_event(event))
    except KeyboardInterrupt:
        msg = ""
        raise CommandFailed(msg, 130) from None


def _inspect_one(client: Any, name: str, kind: str | None, size: bool) -> Any:
    """Try the object kinds docker tries, in its order; None when none has ``name``."""
    routes = {
        "container": (f"/containers/{name}/json", {"size": "1"} if size else None),
        "image": (f"/images/{name}/json", None),
        "network": (f"/networks/{name}", None),
        "volume": (f"/volumes/{name}", None),
    }
    if kind is not None:
        if kind not in routes:
            msg = f'"{kind}" is not a valid value for --type'
            raise CommandFailed(msg, 125)
        path, params = routes[kind]
        return client.json("GET", path, params)
    for path, params in routes.values():
        try:
            return client.json("GET", path, params)
        except ApiError as exc:
            if exc.status_code != 404:
                raise
    return None


@click.command("inspect")
@click.option("-f", "--format", "fmt", help="Format output using a custom template")
@click.option("--type", "kind", help="Only inspect objects of the given type")
@click.option(
    "-s", "--size", is_flag=True, help="Display total file sizes if the type is container"
)
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def inspect_cmd(
    ctx: click.Context, fmt: str | None, kind: str | None, size: bool, names: tuple[str, ...]
) -> None:
    """Return low-level information on berth objects."""
    client = get_state(ctx).client()
    found, errors = [], []
    for name in names:
        try:
            obj = _inspect_one(client, name, kind, size)
        except ApiError as exc:
            errors.append(str(exc))
            continue
        if obj is None:
            errors.append(f"Error: No such object: {name}")
        else:
            found.append(obj)
    echo_inspected(found, errors, fmt)


@click.command("version")
@click.option("-f", "--format", "fmt", help="Format output using a custom template")
@click.pass_context
def version_cmd(ctx: click.Context, fmt: str | None) -> None:
    """Show the berth version information."""
    client_info = {
        "Version": supervisor.__version__,
        "ApiVersion": API_VERSION,
        "DefaultAPIVersion": API_VERSION,
        "PythonVersion": platform.python_version(),
        "Os": "linux",
        "Arch": {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine()),
    }
    try:
        server: dict[str, Any] | None = get_state(ctx).client().json("GET", "/version")
        failure = None
    except (ApiError, Exception) as exc:  # print the client part even without a daemon
        server, failure = None, exc
    if fmt:
        click.echo(render_inspect(fmt, {"Client": client_info, "Server": server}))
    else:
        click.echo(
            "Client:\n"
            f" Version:           {client_info['Version']}\n"
            f" API version:       {API_VERSION}\n"
            f" Python version:    {client_info['PythonVersion']}\n"
            f" OS/Arch:           linux/{client_info['Arch']}"
        )
        if server is not None:
            click.echo(
                "\nServer:\n Engine:\n"
                f"  Version:          {server.get('Version', '')}\n"
                f"  API version:      {server.get('ApiVersion', '')} (minimum version {server.get('MinAPIVersion', '')})\n"
                f"  Git commit:       {server.get('GitCommit', '')}\n"
                f"  Built:            {server.get('BuildTime', '')}\n"
                f"  OS/Arch:          {server.get('Os', '')}/{server.get('Arch', '')}\n"
                f"  Kernel version:   {server.get('KernelVersion', '')}"
            )
    if failure is not None:
        raise CommandFailed(str(failure), 1)


def bytes_size(size: float) -> str:
    """go-units ``BytesSize``: binary units with 4 significant digits ("1.944GiB")."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    index = 0
    while size >= 1024 and index < len(units) - 1:
        size /= 1024
        index += 1
    return f"{size:.4g}{units[index]}"


@click.command("info")
@click.option("-f", "--format", "fmt", help="Format output using a custom template")
@click.pass_context
def info_cmd(ctx: click.Context, fmt: str | None) -> None:
    """Display system-wide information."""
    info = get_state(ctx).client().json("GET", "/info")
    if fmt:
        click.echo(render_inspect(fmt, info))
        return
    rows = [
        ("Containers", info.get("Containers", 0)),
        (" Running", info.get("ContainersRunning", 0)),
        (" Paused", info.get("ContainersPaused", 0)),
        (" Stopped", info.get("ContainersStopped", 0)),
        ("Images", info.get("Images", 0)),
        ("Server Version", info.get("ServerVersion", "")),
        ("Storage Driver", info.get("Driver", "")),
        ("Logging Driver", info.get("LoggingDriver", "")),
        ("Cgroup Driver", info.get("CgroupDriver", "")),
        ("Cgroup Version", info.get("CgroupVersion", "")),
        ("Default Runtime", info.get("DefaultRuntime", "")),
        ("Kernel Version", info.get("KernelVersion", "")),
        ("Operating System", info.get("OperatingSystem", "")),
        ("OSType", info.get("OSType", "")),
        ("Architecture", info.get("Architecture", "")),
        ("CPUs", info.get("NCPU", 0)),
        ("Total Memory", bytes_size(info.get("MemTotal") or 0)),
        ("Name", info.get("Name", "")),
        ("ID", info.get("ID", "")),
        ("Berth Root Dir", info.get("DockerRootDir", "")),
        ("Debug Mode", str(bool(info.get("Debug"))).lower()),
    ]
    click.echo("Server:")
    for key, value in rows:
        click.echo(f" {key}: {value}")
    for warning in info.get("Warnings") or []:
        click.echo(warning, err=True)


COMMANDS = [events_cmd, inspect_cmd, version_cmd, info_cmd]
