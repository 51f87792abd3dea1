"""The ``berth`` command: a click group speaking docker's verbs and flags.

Every verb is a client of the daemon's Docker Engine API (see client.py);
``berth daemon`` is the one exception: it runs the daemon itself
(supervisor.daemon.run_daemon, imported only when asked for).
"""

from __future__ import annotations

import click

from supervisor.cli import compose as compose_cli
from supervisor.cli import containers, images, networks, stats, system, volumes
from supervisor.cli.client import DEFAULT_HOST
from supervisor.cli.logs import logs_command
from supervisor.cli.run import create_cmd, run_cmd
from supervisor.cli.state import BerthGroup, get_state
from supervisor.cli.update import update_cmd


@click.group("berth", cls=BerthGroup, context_settings={"help_option_names": ["--help"]})
@click.option(
    "-H",
    "--host",
    envvar="BERTH_HOST",
    default=DEFAULT_HOST,
    show_default=True,
    help="Daemon socket to connect to",
)
@click.option("-D", "--debug", is_flag=True, help="Enable debug mode")
@click.version_option(
    package_name="berth", prog_name="berth", message="%(prog)s version %(version)s"
)
@click.pass_context
def cli(ctx: click.Context, host: str, debug: bool) -> None:
    """A container engine and service supervisor that speaks Docker's API."""
    state = get_state(ctx)
    state.host = host
    state.debug = debug


@cli.command("daemon")
@click.option(
    "--data-root",
    envvar="BERTH_DATA_ROOT",
    default="/var/lib/berth",
    show_default=True,
    help="Root directory of persistent state",
)
@click.option(
    "--exec-root",
    default="/run/berth",
    show_default=True,
    help="Root directory for execution state files",
)
@click.option(
    "-H",
    "--host",
    "daemon_host",
    envvar="BERTH_HOST",
    default=DEFAULT_HOST,
    show_default=True,
    help="Socket to listen on",
)
@click.option(
    "--runtime",
    type=click.Choice(["runc", "crun"]),
    default="runc",
    show_default=True,
    help="OCI runtime",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warn", "warning", "error", "fatal"]),
    default="info",
    show_default=True,
    help="Set the logging level",
)
@click.option(
    "--log-opt",
    "log_opts",
    multiple=True,
    metavar="KEY=VALUE",
    help="Default json-file log option for every container (max-size=20m, max-file=5, compress=true, ...)",
)
@click.option(
    "--metrics-addr",
    metavar="HOST:PORT",
    default=None,
    help="Also serve Prometheus /metrics over TCP here (e.g. 127.0.0.1:9323)",
)
@click.option(
    "--stats-interval",
    type=click.FloatRange(min=0.1),
    default=1.0,
    show_default=True,
    help="Seconds between stats samples of every container",
)
@click.option(
    "-c",
    "--config",
    "service_files",
    multiple=True,
    type=click.Path(),
    help="Service file (compose format) or directory of *.yml/*.yaml the daemon keeps running; repeatable",
)
@click.option(
    "--nat",
    is_flag=True,
    help="Give containers outbound access: enables ip forwarding and an nftables masquerade table while the daemon runs (off by default: berth changes no sysctl or firewall rule)",
)
@click.option("--bridge-name", default="", help="Device of the default bridge network (default berth0)")
@click.option("--bridge-subnet", default="", help="Subnet of the default bridge network (default: a free Docker pool)")
@click.option(
    "--spare-netns",
    type=click.IntRange(0, 64),
    default=2,
    show_default=True,
    help="Network namespaces, each with a veth pair, made ahead of need while the daemon is idle (0: none)",
)
def daemon_cmd(
    data_root: str,
    exec_root: str,
    daemon_host: str,
    runtime: str,
    log_level: str,
    log_opts: tuple[str, ...],
    metrics_addr: str | None,
    stats_interval: float,
    service_files: tuple[str, ...],
    nat: bool,
    bridge_name: str,
    bridge_subnet: str,
    spare_netns: int,
) -> None:
    """Run the berth daemon in the foreground (SIGTERM/SIGINT stop it and its containers)."""
    from supervisor.daemon import run_daemon  # lazy: the client never loads trio

    run_daemon(
        data_root=data_root,
        exec_root=exec_root,
        host=daemon_host,
        runtime=runtime,
        log_level=log_level,
        log_opts=log_opts,
        metrics_addr=metrics_addr,
        stats_interval=stats_interval,
        bridge_name=bridge_name,
        bridge_subnet=bridge_subnet,
        service_files=service_files,
        nat=nat,
        spare_netns=spare_netns,
    )


for _command in (
    *containers.COMMANDS, *images.COMMANDS, *system.COMMANDS, create_cmd, run_cmd, logs_command,
    *stats.COMMANDS, *volumes.COMMANDS,
    *networks.COMMANDS,
    *compose_cli.COMMANDS,
    update_cmd,
):
    cli.add_command(_command)


def berthd() -> None:
    """Entry point of ``berthd``: the same as ``berth daemon``."""
    daemon_cmd(prog_name="berthd")


def main() -> None:
    """Console-script entry point (``berth``, ``python -m supervisor``)."""
    cli(prog_name="berth")
