"""Network verbs (``berth network create|ls|inspect|rm|prune|connect|disconnect``) and ``berth port``.

Each sends what docker CLI 28 sends for the same flags and prints what it
prints: ``create`` the new id, ``rm`` the names, ``ls`` docker's table,
``port`` lines like ``80/tcp -> 0.0.0.0:8080``.
"""

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

NETWORK_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
NETWORK_HEADERS = {
    "ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
    "IPv4": "IPV4", "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT",
}


def parse_kv(values: tuple[str, ...], flag: str) -> dict[str, str]:
    """``--label k=v`` / ``--opt k=v`` (a bare ``k`` means an empty value, as docker does)."""
    out: dict[str, str] = {}
    for value in values:
        key, _, val = value.partition("=")
        if not key:
            msg = f"invalid argument {value!r} for {flag!r}: key must not be empty"
            raise click.BadParameter(msg)
        out[key] = val
    return out


def network_row(n: Mapping[str, Any], trunc: bool = True) -> dict[str, Any]:
    """One ``network ls`` row with docker's field names."""
    nid = str(n.get("Id", ""))
    labels = n.get("Labels") or {}
    return {
        "ID": nid[:12] if trunc else nid,
        "Name": n.get("Name", ""),
        "Driver": n.get("Driver", ""),
        "Scope": n.get("Scope", ""),
        "IPv4": str(n.get("EnableIPv4", True)).lower(),
        "IPv6": str(n.get("EnableIPv6", False)).lower(),
        "Internal": str(n.get("Internal", False)).lower(),
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        "CreatedAt": n.get("Created", ""),
    }


def port_lines(ports: Mapping[str, Any] | None, wanted: str | None = None) -> list[str]:
    """``docker port`` output from inspect's ``NetworkSettings.Ports``.

    Raises:
        CommandFailed: ``wanted`` is given and has no published binding.
    """
    ports = ports or {}
    if wanted is not None:
        number, _, proto = wanted.partition("/")
        key = f"{number}/{proto or 'tcp'}"
        bindings = ports.get(key) or []
        if not bindings:
            raise CommandFailed(f"Error: No public port '{key}' published", 1)
        return [_host_port(b) for b in bindings]
    lines = []

    def order(key: str) -> tuple[int, str]:
        number, _, proto = key.partition("/")
        return (int(number) if number.isdigit() else 0, proto)

    for key in sorted(ports, key=order):
        for b in ports[key] or []:
            lines.append(f"{key} -> {_host_port(b)}")
    return lines


def _host_port(binding: Mapping[str, str]) -> str:
    ip = binding.get("HostIp", "") or "0.0.0.0"
    port = binding.get("HostPort", "")
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


@click.group("network")
def network_group() -> None:
    """Manage networks."""


@network_group.command("create")
@click.option("-d", "--driver", default="bridge", show_default=True, help="Driver to manage the Network")
@click.option("--internal", is_flag=True, help="Restrict external access to the network")
@click.option("--attachable", is_flag=True, help="Enable manual container attachment")
@click.option("--label", "labels", multiple=True, help="Set metadata on a network")
@click.option("-o", "--opt", "opts", multiple=True, help="Set driver specific options")
@click.option("--subnet", help="Subnet in CIDR format that represents a network segment")
@click.option("--gateway", help="IPv4 Gateway for the master subnet")
@click.option("--ipv6", is_flag=True, help="Enable IPv6 networking (not supported)")
@click.argument("name")
@click.pass_context
def create_cmd(
    ctx: click.Context, driver: str, internal: bool, attachable: bool, labels: tuple[str, ...],
    opts: tuple[str, ...], subnet: str | None, gateway: str | None, ipv6: bool, name: str,
) -> None:
    """Create a network."""
    body: dict[str, Any] = {
        "Name": name, "Driver": driver, "Internal": internal, "Attachable": attachable,
        "Labels": parse_kv(labels, "--label"), "Options": parse_kv(opts, "--opt"),
        "CheckDuplicate": True,
    }
    if ipv6:
        body["EnableIPv6"] = True
    if subnet or gateway:
        config = {"Subnet": subnet or ""}
        if gateway:
            config["Gateway"] = gateway
        body["IPAM"] = {"Driver": "default", "Config": [config]}
    reply = get_state(ctx).client().json("POST", "/networks/create", json=body)
    click.echo(reply["Id"])


@network_group.command("ls")
@click.option("-f", "--filter", "filters", multiple=True, help="Provide filter values (e.g. 'driver=bridge')")
@click.option("--format", "fmt", help="Format output using a custom template ('table', 'json', or a Go template)")
@click.option("-q", "--quiet", is_flag=True, help="Only display network IDs")
@click.option("--no-trunc", is_flag=True, help="Do not truncate the output")
@click.pass_context
def ls_cmd(ctx: click.Context, filters: tuple[str, ...], fmt: str | None, quiet: bool, no_trunc: bool) -> None:
    """List networks."""
    nets = get_state(ctx).client().json("GET", "/networks", {"filters": parse_filters(filters)})
    nets = sorted(nets, key=lambda n: n.get("Name", ""))
    rows = [network_row(n, trunc=not no_trunc) for n in nets]
    if quiet:
        fmt = "{{.ID}}"
    try:
        click.echo(render_rows(rows, fmt, NETWORK_TABLE, NETWORK_HEADERS), nl=False)
    except TemplateError as exc:
        raise CommandFailed(f"template parsing error: {exc}", 1) from exc


@network_group.command("inspect")
@click.option("-f", "--format", "fmt", help="Format output using a custom template")
@click.option("-v", "--verbose", is_flag=True, help="Verbose output for diagnostics")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def inspect_cmd(ctx: click.Context, fmt: str | None, verbose: bool, names: tuple[str, ...]) -> None:
    """Display detailed information on one or more networks."""
    del verbose
    client = get_state(ctx).client()
    found, errors = [], []
    for name in names:
        try:
            found.append(client.json("GET", f"/networks/{name}"))
        except ApiError as exc:
            errors.append(str(exc) if exc.status_code != 404 else f"Error: No such network: {name}")
    echo_inspected(found, errors, fmt)


@network_group.command("rm")
@click.option("-f", "--force", is_flag=True, help="Do not error if the network does not exist")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def rm_cmd(ctx: click.Context, force: bool, names: tuple[str, ...]) -> None:
    """Remove one or more networks."""
    client = get_state(ctx).client()
    errors = []
    for name in names:
        try:
            client.request("DELETE", f"/networks/{name}")
        except ApiError as exc:
            if not (force and exc.status_code == 404):
                errors.append(str(exc))
            continue
        click.echo(name)
    if errors:
        raise CommandFailed("\n".join(errors), 1)


@network_group.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (e.g. 'until=<timestamp>')")
@click.pass_context
def prune_cmd(ctx: click.Context, force: bool, filters: tuple[str, ...]) -> None:
    """Remove all unused networks."""
    if not force:
        click.echo("WARNING! This will remove all custom networks not used by at least one container.")
        if not click.confirm("Are you sure you want to continue?", default=False):
            return
    reply = get_state(ctx).client().json("POST", "/networks/prune", {"filters": parse_filters(filters)})
    deleted = reply.get("NetworksDeleted") or []
    if deleted:
        click.echo("Deleted Networks:")
        for name in deleted:
            click.echo(name)


@network_group.command("connect")
@click.option("--alias", "aliases", multiple=True, help="Add network-scoped alias for the container")
@click.option("--ip", help="IPv4 address (e.g., 172.30.100.104)")
@click.argument("network")
@click.argument("container")
@click.pass_context
def connect_cmd(ctx: click.Context, aliases: tuple[str, ...], ip: str | None, network: str, container: str) -> None:
    """Connect a container to a network."""
    endpoint: dict[str, Any] = {"Aliases": list(aliases) or None}
    if ip:
        endpoint["IPAMConfig"] = {"IPv4Address": ip}
    get_state(ctx).client().request(
        "POST", f"/networks/{network}/connect", json={"Container": container, "EndpointConfig": endpoint}
    )


@network_group.command("disconnect")
@click.option("-f", "--force", is_flag=True, help="Force the container to disconnect from a network")
@click.argument("network")
@click.argument("container")
@click.pass_context
def disconnect_cmd(ctx: click.Context, force: bool, network: str, container: str) -> None:
    """Disconnect a container from a network."""
    get_state(ctx).client().request(
        "POST", f"/networks/{network}/disconnect", json={"Container": container, "Force": force}
    )


network_group.add_command(ls_cmd, "list")
network_group.add_command(rm_cmd, "remove")


@click.command("port")
@click.argument("container")
@click.argument("private_port", required=False)
@click.pass_context
def port_cmd(ctx: click.Context, container: str, private_port: str | None) -> None:
    """List port mappings or a specific mapping for the container."""
    info = get_state(ctx).client().json("GET", f"/containers/{container}/json")
    ports = (info.get("NetworkSettings") or {}).get("Ports")
    try:
        lines = port_lines(ports, private_port)
    except CommandFailed as exc:
        raise CommandFailed(f"{exc.message} for {container}", 1) from exc
    for line in lines:
        click.echo(line)


COMMANDS = [network_group, port_cmd]
