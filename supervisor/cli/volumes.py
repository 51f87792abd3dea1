"""``berth volume``: create, ls, inspect, rm, prune — docker's flags and output."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from supervisor.cli.client import ApiError
from supervisor.cli.containers import parse_filters
from supervisor.cli.format import render_rows
from supervisor.cli.state import CommandFailed, get_state
from supervisor.cli.system import echo_inspected
from supervisor.cli.template import TemplateError
from supervisor.cli.units import human_size

VOLUME_TABLE = "table {{.Driver}}\t{{.Name}}"
VOLUME_HEADERS = {
    "Driver": "DRIVER",
    "Name": "VOLUME NAME",
    "Scope": "SCOPE",
    "Mountpoint": "MOUNTPOINT",
    "Labels": "LABELS",
    "Links": "LINKS",
    "Size": "SIZE",
}


def _pairs(values: tuple[str, ...], flag: str) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not key or (flag != "--label" and not sep):
            msg = f"invalid argument {value!r} for \"{flag}\" flag: expected key=value"
            raise CommandFailed(msg, 125)
        out[key] = val
    return out


def volume_row(volume: Mapping[str, Any]) -> dict[str, Any]:
    """The fields docker's volume formatter offers to ``--format``."""
    labels = volume.get("Labels") or {}
    usage = volume.get("UsageData") or {}
    return {
        "Name": volume.get("Name", ""),
        "Driver": volume.get("Driver", ""),
        "Scope": volume.get("Scope", ""),
        "Mountpoint": volume.get("Mountpoint", ""),
        "Labels": ",".join(f"{k}={labels[k]}" for k in sorted(labels)),
        "Links": str(usage.get("RefCount")) if usage else "N/A",
        "Size": human_size(usage["Size"]) if usage.get("Size", -1) >= 0 and usage else "N/A",
    }


@click.group("volume")
def volume_group() -> None:
    """Manage volumes."""


@volume_group.command("create")
@click.option("-d", "--driver", default="local", show_default=True, help="Specify volume driver name")
@click.option("--label", "labels", multiple=True, help="Set metadata for a volume")
@click.option("-o", "--opt", "opts", multiple=True, help="Set driver specific options")
@click.option("--name", "name_opt", help="Specify volume name")
@click.argument("name", required=False)
@click.pass_context
def create_cmd(
    ctx: click.Context, driver: str, labels: tuple[str, ...], opts: tuple[str, ...],
    name_opt: str | None, name: str | None,
) -> None:
    """Create a volume."""
    if name and name_opt and name != name_opt:
        msg = "conflicting options: either specify --name or provide positional arg, not both"
        raise CommandFailed(msg, 125)
    body = {
        "Name": name or name_opt or "",
        "Driver": driver,
        "DriverOpts": _pairs(opts, "--opt"),
        "Labels": _pairs(labels, "--label"),
    }
    volume = get_state(ctx).client().json("POST", "/volumes/create", json=body)
    click.echo(volume["Name"])


@volume_group.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only display volume names")
@click.option("-f", "--filter", "filters", multiple=True, help="Provide filter values (e.g. 'dangling=true')")
@click.option("--format", "fmt", help="Format output using a custom template ('table', 'json', or a Go template)")
@click.pass_context
def ls_cmd(ctx: click.Context, quiet: bool, filters: tuple[str, ...], fmt: str | None) -> None:
    """List volumes."""
    reply = get_state(ctx).client().json("GET", "/volumes", {"filters": parse_filters(filters)})
    volumes = sorted(reply.get("Volumes") or [], key=lambda v: v.get("Name", ""))
    rows = [volume_row(v) for v in volumes]
    if quiet:
        fmt = "{{.Name}}"
    try:
        click.echo(render_rows(rows, fmt, VOLUME_TABLE, VOLUME_HEADERS), nl=False)
    except TemplateError as exc:
        msg = f"template parsing error: {exc}"
        raise CommandFailed(msg, 1) from exc
    for warning in reply.get("Warnings") or []:
        click.echo(warning, err=True)


@volume_group.command("inspect")
@click.option("-f", "--format", "fmt", help="Format output using a custom template")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def inspect_cmd(ctx: click.Context, fmt: str | None, names: tuple[str, ...]) -> None:
    """Display detailed information on one or more volumes."""
    client = get_state(ctx).client()
    found, errors = [], []
    for name in names:
        try:
            found.append(client.json("GET", f"/volumes/{name}"))
        except ApiError as exc:
            errors.append(str(exc))
    echo_inspected(found, errors, fmt)


@volume_group.command("rm")
@click.option("-f", "--force", is_flag=True, help="Force the removal of one or more volumes")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def rm_cmd(ctx: click.Context, force: bool, names: tuple[str, ...]) -> None:
    """Remove one or more volumes."""
    client = get_state(ctx).client()
    errors = []
    for name in names:
        try:
            client.request("DELETE", f"/volumes/{name}", {"force": "1" if force else None})
        except ApiError as exc:
            errors.append(str(exc))
            continue
        click.echo(name)
    if errors:
        raise CommandFailed("\n".join(errors), 1)


@volume_group.command("prune")
@click.option("-a", "--all", "prune_all", is_flag=True, help="Remove all unused volumes, not just anonymous ones")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (e.g. 'label=<label>')")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.pass_context
def prune_cmd(ctx: click.Context, prune_all: bool, filters: tuple[str, ...], force: bool) -> None:
    """Remove unused local volumes."""
    if prune_all:
        filters = (*filters, "all=true")
    if not force:
        what = "all local volumes" if prune_all else "anonymous local volumes"
        click.echo(f"WARNING! This will remove {what} not used by at least one container.")
        if not click.confirm("Are you sure you want to continue?", default=False):
            return
    reply = get_state(ctx).client().json("POST", "/volumes/prune", {"filters": parse_filters(filters)})
    deleted = reply.get("VolumesDeleted") or []
    if deleted:
        click.echo("Deleted Volumes:")
        for name in deleted:
            click.echo(name)
        click.echo("")
    click.echo(f"Total reclaimed space: {human_size(reply.get('SpaceReclaimed') or 0)}")


COMMANDS = [volume_group]

__all__ = ["COMMANDS", "VOLUME_HEADERS", "VOLUME_TABLE", "volume_group", "volume_row"]
