"""``berth update``: change a container's restart policy and resources (docker update)."""

from __future__ import annotations

from typing import Any

import click

from supervisor.cli.state import CommandFailed, for_each, get_state
from supervisor.cli.units import parse_mem_swap, parse_nano_cpus, parse_ram_in_bytes


def update_body(
    *,
    restart: str | None,
    memory: str | None,
    memory_swap: str | None,
    memory_reservation: str | None,
    cpus: str | None,
    cpu_shares: int | None,
    cpu_period: int | None,
    cpu_quota: int | None,
    cpuset_cpus: str | None,
    cpuset_mems: str | None,
    pids_limit: int | None,
) -> dict[str, Any]:
    """The ``POST /containers/{id}/update`` body for the flags given (docker's wire format)."""
    body: dict[str, Any] = {}
    try:
        if memory is not None:
            body["Memory"] = parse_ram_in_bytes(memory)
        if memory_swap is not None:
            body["MemorySwap"] = parse_mem_swap(memory_swap)
        if memory_reservation is not None:
            body["MemoryReservation"] = parse_ram_in_bytes(memory_reservation)
        if cpus is not None:
            body["NanoCpus"] = parse_nano_cpus(cpus)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    for key, value in (
        ("CpuShares", cpu_shares), ("CpuPeriod", cpu_period), ("CpuQuota", cpu_quota),
        ("CpusetCpus", cpuset_cpus), ("CpusetMems", cpuset_mems), ("PidsLimit", pids_limit),
    ):
        if value is not None:
            body[key] = value
    if restart is not None:
        name, _, count = restart.partition(":")
        if count and not count.isdigit():
            msg = f"invalid restart policy format: maximum retry count must be an integer: {count!r}"
            raise click.BadParameter(msg)
        body["RestartPolicy"] = {"Name": name, "MaximumRetryCount": int(count or 0)}
    return body


@click.command("update")
@click.option("--restart", help="Restart policy to apply when a container exits")
@click.option("-m", "--memory", help="Memory limit")
@click.option("--memory-swap", help="Swap limit equal to memory plus swap: -1 to enable unlimited swap")
@click.option("--memory-reservation", help="Memory soft limit")
@click.option("--cpus", help="Number of CPUs")
@click.option("-c", "--cpu-shares", type=int, help="CPU shares (relative weight)")
@click.option("--cpu-period", type=int, help="Limit CPU CFS (Completely Fair Scheduler) period")
@click.option("--cpu-quota", type=int, help="Limit CPU CFS (Completely Fair Scheduler) quota")
@click.option("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)")
@click.option("--cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)")
@click.option("--pids-limit", type=int, help="Tune container pids limit (set -1 for unlimited)")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def update_cmd(ctx: click.Context, /, containers: tuple[str, ...], **flags: Any) -> None:
    """Update configuration of one or more containers."""
    body = update_body(**flags)
    if not body:
        msg = "you must provide one or more flags when using this command"
        raise CommandFailed(msg, 1)
    client = get_state(ctx).client()
    for_each(containers, lambda name: client.json("POST", f"/containers/{name}/update", json=body))
