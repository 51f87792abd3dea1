"""``berth stats`` and ``berth top``: docker's stats table and process list, plus history sparklines.

``stats`` prints docker's columns with docker's number formatting (the
formulas live in ``supervisor.stats.math``). Live mode polls
``/stats?stream=false`` once a second for every container: berth answers
that at once from its sampler's last two samples, so one request per
container per second gives the same figures as docker's streams without a
connection per container; the table is redrawn with rich's Live.
``--history 10m NAME`` draws CPU % and memory from ``/stats/history`` as
sparklines. ``top`` prints ``/top``'s Titles and Processes the way docker
does (tabwriter, minimum width 20).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import click

from supervisor.api.humanize import bytes_size
from supervisor.cli.client import ApiError, Client
from supervisor.cli.format import render_rows, tabwrite, truncate_id
from supervisor.cli.state import CommandFailed, get_state
from supervisor.cli.template import TemplateError
from supervisor.cli.units import parse_go_duration
from supervisor.stats import math as smath

STATS_TABLE = (
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"
)
STATS_HEADERS = {
    "Container": "CONTAINER",
    "ID": "CONTAINER ID",
    "Name": "NAME",
    "CPUPerc": "CPU %",
    "MemUsage": "MEM USAGE / LIMIT",
    "MemPerc": "MEM %",
    "NetIO": "NET I/O",
    "BlockIO": "BLOCK I/O",
    "PIDs": "PIDS",
}
SPARKS = "▁▂▃▄▅▆▇█"


def stats_row(container: str, js: Mapping[str, Any] | None, trunc: bool = True) -> dict[str, Any]:
    """The docker stats row context for one stats object (None: no answer → ``--``)."""
    if js is None:
        return {
            "Container": container, "ID": truncate_id(container) if trunc else container,
            "Name": "--", "CPUPerc": "--", "MemUsage": "-- / --", "MemPerc": "--",
            "NetIO": "--", "BlockIO": "--", "PIDs": "--",
        }
    cpu = js.get("cpu_stats") or {}
    pre = js.get("precpu_stats") or {}
    usage = cpu.get("cpu_usage") or {}
    pre_usage = pre.get("cpu_usage") or {}
    n = smath.online_cpus(int(cpu.get("online_cpus") or 0), tuple(usage.get("percpu_usage") or ()))
    cpu_pct = smath.cpu_percent(
        int(usage.get("total_usage") or 0), int(pre_usage.get("total_usage") or 0),
        int(cpu.get("system_cpu_usage") or 0), int(pre.get("system_cpu_usage") or 0), n,
    )
    mem = js.get("memory_stats") or {}
    used = smath.memory_used(int(mem.get("usage") or 0), mem.get("stats") or {})
    limit = int(mem.get("limit") or 0)
    rx = tx = 0
    for net in (js.get("networks") or {}).values():
        rx += int(net.get("rx_bytes") or 0)
        tx += int(net.get("tx_bytes") or 0)
    read = write = 0
    for e in (js.get("blkio_stats") or {}).get("io_service_bytes_recursive") or ():
        op = str(e.get("op") or "")[:1]
        if op in ("r", "R"):
            read += int(e.get("value") or 0)
        elif op in ("w", "W"):
            write += int(e.get("value") or 0)
    name = str(js.get("name") or "")
    cid = str(js.get("id") or container)
    return {
        "Container": container,
        "ID": truncate_id(cid) if trunc else cid,
        "Name": name[1:] if len(name) > 1 else "--",
        "CPUPerc": smath.format_percent(cpu_pct),
        "MemUsage": smath.format_mem_usage(used, limit),
        "MemPerc": smath.format_percent(smath.memory_percent(used, limit)),
        "NetIO": smath.format_io(rx, tx),
        "BlockIO": smath.format_io(read, write),
        "PIDs": str(int((js.get("pids_stats") or {}).get("current") or 0)),
    }


def sparkline(values: Sequence[float], width: int = 60, top: float | None = None) -> str:
    """Values (resampled to ``width`` by averaging buckets) as block characters scaled to ``top``."""
    if not values:
        return ""
    if len(values) > width:
        size = len(values) / width
        values = [
            sum(values[int(i * size): max(int((i + 1) * size), int(i * size) + 1)])
            / max(int((i + 1) * size) - int(i * size), 1)
            for i in range(width)
        ]
    peak = top if top else max(values)
    if peak <= 0:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[min(int(v / peak * (len(SPARKS) - 1) + 0.5), len(SPARKS) - 1)] for v in values)


def _targets(client: Client, names: tuple[str, ...], show_all: bool) -> list[str]:
    if names:
        return list(names)
    summaries = client.json("GET", "/containers/json", {"all": "1"} if show_all else None)
    return [s["Id"] for s in summaries]


def _fetch(client: Client, container: str) -> Mapping[str, Any] | None:
    try:
        data = client.json("GET", f"/containers/{container}/stats", {"stream": "0"})
    except ApiError:
        return None
    return data if isinstance(data, dict) else None


def _render(rows: list[dict[str, Any]], fmt: str | None) -> str:
    try:
        return render_rows(rows, fmt, STATS_TABLE, STATS_HEADERS)
    except TemplateError as exc:
        msg = f"template parsing error: {exc}"
        raise CommandFailed(msg, 1) from exc


def _history(client: Client, container: str, window: str, now: float) -> str:
    seconds = parse_go_duration(window) / 1e9
    since = f"{max(now - seconds, 0):.9f}"
    points = client.json("GET", f"/containers/{container}/stats/history", {"since": since})
    if not points:
        return f"no history for {container} in the last {window}\n"
    cpu = [float(p["cpu_percent"]) for p in points]
    mem = [float(p["memory_used"]) for p in points]
    limit = max(int(p["memory_limit"]) for p in points)
    return (
        f"{container}: {len(points)} samples over the last {window}\n"
        f"CPU %  {sparkline(cpu)}  max {max(cpu):.2f}%  last {cpu[-1]:.2f}%\n"
        f"MEM    {sparkline(mem)}  max {bytes_size(max(mem))}  last {bytes_size(mem[-1])}"
        f" / {bytes_size(limit)}\n"
    )


@click.command("stats")
@click.option("-a", "--all", "show_all", is_flag=True, help="Show all containers (default shows just running)")
@click.option("--format", "fmt", help="Format output using a custom template ('table', 'json', or a Go template)")
@click.option("--no-stream", is_flag=True, help="Disable streaming stats and only pull the first result")
@click.option("--no-trunc", is_flag=True, help="Do not truncate output")
@click.option("--history", "history", metavar="DURATION", help="Draw CPU and memory over the last DURATION (e.g. 10m)")
@click.argument("containers", nargs=-1)
@click.pass_context
def stats_command(
    ctx: click.Context,
    show_all: bool,
    fmt: str | None,
    no_stream: bool,
    no_trunc: bool,
    history: str | None,
    containers: tuple[str, ...],
) -> None:
    """Display a live stream of container(s) resource usage statistics."""
    state = get_state(ctx)
    client = state.client()
    if history:
        if not containers:
            msg = "Error: --history needs a container name"
            raise CommandFailed(msg, 1)
        for c in containers:
            click.echo(_history(client, c, history, state.clock()), nl=False)
        return
    if no_stream:
        targets = _targets(client, containers, show_all)
        if containers:
            errors = []
            for c in containers:
                try:
                    client.request("GET", f"/containers/{c}/json")
                except ApiError as exc:
                    errors.append(str(exc))
            if errors:
                msg = "\n"
                raise CommandFailed(msg.join(errors), 1)
        rows = [stats_row(c, _fetch(client, c), not no_trunc) for c in targets]
        click.echo(_render(rows, fmt), nl=False)
        return
    _live(client, containers, show_all, fmt, not no_trunc)


def _live(client: Client, names: tuple[str, ...], show_all: bool, fmt: str | None, trunc: bool) -> None:
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    console = Console()
    with Live(Text(""), console=console, refresh_per_second=4, transient=False) as live:
        try:
            while True:
                started = time.monotonic()
                rows = [stats_row(c, _fetch(client, c), trunc) for c in _targets(client, names, show_all)]
                live.update(Text(_render(rows, fmt).rstrip("\n")))
                time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        except KeyboardInterrupt:
            pass


@click.command("top", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("container")
@click.argument("ps_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def top_command(ctx: click.Context, container: str, ps_args: tuple[str, ...]) -> None:
    """Display the running processes of a container."""
    state = get_state(ctx)
    params = {"ps_args": " ".join(ps_args)} if ps_args else None
    body = state.client().json("GET", f"/containers/{container}/top", params)
    lines = ["\t".join(body.get("Titles") or [])]
    lines += ["\t".join(p) for p in body.get("Processes") or []]
    click.echo(tabwrite(lines, minwidth=20), nl=False)


COMMANDS = [stats_command, top_command]

__all__ = ["COMMANDS", "sparkline", "stats_command", "stats_row", "top_command"]
