"""Per-invocation CLI state and the error conventions every command shares.

``CliState`` is click's ``ctx.obj``: the daemon address, the clock and an
optional httpx transport (tests inject ``httpx.MockTransport`` here instead of
patching anything). ``CommandFailed`` carries a message and docker's exit code;
``BerthGroup`` turns it, ``ApiError`` and ``DaemonUnreachable`` into a line on
stderr and the exit status, and makes flag errors exit 125 as docker does.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import click
import httpx

from supervisor.cli.client import DEFAULT_HOST, ApiError, Client, DaemonUnreachable
from supervisor.errors import InvalidArgument


class CommandFailed(Exception):
    """A command ends with ``message`` on stderr (if any) and exit status ``code``."""

    def __init__(self, message: str = "", code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class CliState:
    """Everything a command needs from outside: where, when, and how to talk."""

    host: str = DEFAULT_HOST
    debug: bool = False
    transport: httpx.BaseTransport | None = None
    clock: Callable[[], float] = time.time
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    _client: Client | None = None

    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.host, self.transport)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def binary_stream(name: str) -> BinaryIO:
    """The binary side of sys.stdin/stdout/stderr (whatever they are right now)."""
    stream = getattr(sys, name)
    return getattr(stream, "buffer", stream)  # type: ignore[no-any-return]


def get_state(ctx: click.Context | None = None) -> CliState:
    ctx = ctx or click.get_current_context()
    return ctx.ensure_object(CliState)


class BerthGroup(click.Group):
    """A click group that reports errors the way the docker CLI does."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            exc.exit_code = 125  # type: ignore[misc]  # docker's status for flag errors
            raise
        except (ApiError, DaemonUnreachable) as exc:
            if ctx.find_object(CliState) and get_state(ctx).debug:
                raise
            click.echo(str(exc), err=True)
            ctx.exit(1)
        except InvalidArgument as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(125)
        except CommandFailed as exc:
            if exc.message:
                click.echo(exc.message, err=True)
            ctx.exit(exc.code)
        finally:
            state = ctx.find_object(CliState)
            if state is not None:
                state.close()


def for_each(
    names: tuple[str, ...], action: Callable[[str], object], echo_name: bool = True
) -> None:
    """Run ``action`` on every name like docker's parallel verbs: report, keep going, exit 1."""
    errors = []
    for name in names:
        try:
            action(name)
        except ApiError as exc:
            errors.append(str(exc))
            continue
        if echo_name:
            click.echo(name)
    if errors:
        raise CommandFailed("\n".join(errors), 1)
