"""Image verbs: images, import, tag, rmi.

No registry pulls yet: images come in through ``berth import`` (a rootfs tar
streamed to ``POST /images/create?fromSrc=-``), as with ``docker import``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

import click

from supervisor.cli.client import ApiError
from supervisor.cli.containers import parse_filters
from supervisor.cli.format import IMAGE_HEADERS, IMAGE_TABLE, image_rows, render_rows
from supervisor.cli.state import CommandFailed, binary_stream, get_state
from supervisor.cli.template import TemplateError


def split_reference(ref: str, default: str = "latest") -> tuple[str, str]:
    """``repo[:tag]`` → (repo, tag), tag defaulting to ``default``; ports in hosts are not tags."""
    repo, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        return ref, default
    return repo, tag


@click.command("images")
@click.option(
    "-a",
    "--all",
    "show_all",
    is_flag=True,
    help="Show all images (default hides intermediate images)",
)
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs")
@click.option(
    "-f", "--filter", "filters", multiple=True, help="Filter output based on conditions provided"
)
@click.option(
    "--format",
    "fmt",
    help="Format output using a custom template ('table', 'json', or a Go template)",
)
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.argument("repository", required=False)
@click.pass_context
def images_cmd(
    ctx: click.Context,
    show_all: bool,
    quiet: bool,
    filters: tuple[str, ...],
    fmt: str | None,
    no_trunc: bool,
    repository: str | None,
) -> None:
    """List images."""
    state = get_state(ctx)
    if repository:
        filters = (*filters, f"reference={repository}")
    params = {"all": "1" if show_all else None, "filters": parse_filters(filters)}
    summaries = state.client().json("GET", "/images/json", params)
    now = state.clock()
    rows = [row for s in summaries for row in image_rows(s, now, trunc=not no_trunc)]
    if quiet:
        fmt = "{{.ID}}"
    try:
        click.echo(render_rows(rows, fmt, IMAGE_TABLE, IMAGE_HEADERS), nl=False)
    except TemplateError as exc:
        msg = f"template parsing error: {exc}"
        raise CommandFailed(msg, 1) from exc


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    while True:
        data = stream.read(65536)
        if not data:
            return
        yield data


def print_json_messages(lines: Iterator[str]) -> None:
    """Print a jsonmessage stream (``{"status"}``/``{"error"}``) like the docker CLI."""
    for line in lines:
        if not line.strip():
            continue
        message: dict[str, Any] = json.loads(line)
        if message.get("error") or message.get("errorDetail"):
            detail = (message.get("errorDetail") or {}).get("message") or message.get("error")
            raise CommandFailed(str(detail), 1)
        status = message.get("status") or message.get("stream") or ""
        prefix = f"{message['id']}: " if message.get("id") else ""
        if status:
            click.echo(prefix + status.rstrip("\n"))


@click.command("import")
@click.option(
    "-c",
    "--change",
    "changes",
    multiple=True,
    help="Apply Dockerfile instruction to the created image",
)
@click.option("-m", "--message", help="Set commit message for imported image")
@click.option("--platform", help="Set platform if server is multi-platform capable")
@click.argument("source")
@click.argument("reference", required=False)
@click.pass_context
def import_cmd(
    ctx: click.Context,
    changes: tuple[str, ...],
    message: str | None,
    platform: str | None,
    source: str,
    reference: str | None,
) -> None:
    """Import the contents from a tarball to create a filesystem image."""
    client = get_state(ctx).client()
    repo, tag = split_reference(reference, "") if reference else ("", "")
    params: list[tuple[str, str]] = [("fromSrc", "-"), ("repo", repo), ("tag", tag)]
    params += [("changes", c) for c in changes]
    if message:
        params.append(("message", message))
    if platform:
        params.append(("platform", platform))
    if source == "-":
        body: Any = _chunks(binary_stream("stdin"))
        opened = None
    else:
        try:
            opened = open(source, "rb")
        except OSError as exc:
            msg = f"open {source}: {exc.strerror}"
            raise CommandFailed(msg, 1) from exc
        body = opened
    try:
        with client.stream(
            "POST",
            "/images/create",
            params,
            content=body,
            headers={"Content-Type": "application/x-tar"},
        ) as response:
            print_json_messages(response.iter_lines())
    finally:
        if opened is not None:
            opened.close()


@click.command("tag")
@click.argument("source")
@click.argument("target")
@click.pass_context
def tag_cmd(ctx: click.Context, source: str, target: str) -> None:
    """Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE."""
    repo, tag = split_reference(target)
    get_state(ctx).client().request("POST", f"/images/{source}/tag", {"repo": repo, "tag": tag})


@click.command("rmi")
@click.option("-f", "--force", is_flag=True, help="Force removal of the image")
@click.option("--no-prune", is_flag=True, help="Do not delete untagged parents")
@click.argument("images", nargs=-1, required=True)
@click.pass_context
def rmi_cmd(ctx: click.Context, force: bool, no_prune: bool, images: tuple[str, ...]) -> None:
    """Remove one or more images."""
    client = get_state(ctx).client()
    params = {"force": "1" if force else None, "noprune": "1" if no_prune else None}
    errors = []
    for image in images:
        try:
            deleted = client.json("DELETE", f"/images/{image}", params)
        except ApiError as exc:
            errors.append(str(exc))
            continue
        for item in deleted or []:
            if item.get("Untagged"):
                click.echo(f"Untagged: {item['Untagged']}")
            if item.get("Deleted"):
                click.echo(f"Deleted: {item['Deleted']}")
    if errors:
        raise CommandFailed("\n".join(errors), 1)


COMMANDS = [images_cmd, import_cmd, tag_cmd, rmi_cmd]
