"""``docker exec``: extra processes in a running container (runc exec).

An exec instance is created (``POST /containers/{id}/exec``), started once
(attached over a hijacked connection, or detached), and inspected for its
exit code afterwards. The exit code is recorded before the output stream is
closed, because clients read it right after the stream ends.
"""

from __future__ import annotations

import secrets
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import trio

from supervisor.errors import InvalidArgument, NotFound

MAX_FINISHED = 1024


@dataclass(frozen=True, slots=True)
class ExecConfig:
    """What ``POST /containers/{id}/exec`` asks for."""

    argv: tuple[str, ...]
    user: str = ""
    env: tuple[str, ...] = ()
    working_dir: str = ""
    tty: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = True
    attach_stderr: bool = True
    privileged: bool = False
    detach_keys: str = ""


def _strs(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        msg = f"json: cannot unmarshal {type(value).__name__} into Go struct field ExecOptions.{what} of type []string"
        raise InvalidArgument(msg)
    return tuple(value)


def parse_exec_config(body: Mapping[str, Any]) -> ExecConfig:
    """Docker's exec create body → ExecConfig, refusing wrong types with Go's wording."""
    argv = _strs(body.get("Cmd"), "Cmd")
    if not argv:
        msg = "No exec command specified"
        raise InvalidArgument(msg)

    def flag(key: str, default: bool = False) -> bool:
        value = body.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            msg = f"json: cannot unmarshal {type(value).__name__} into Go struct field ExecOptions.{key} of type bool"
            raise InvalidArgument(msg)
        return value

    def text(key: str) -> str:
        value = body.get(key) or ""
        if not isinstance(value, str):
            msg = f"json: cannot unmarshal {type(value).__name__} into Go struct field ExecOptions.{key} of type string"
            raise InvalidArgument(msg)
        return value

    return ExecConfig(
        argv=argv, user=text("User"), env=_strs(body.get("Env"), "Env"),
        working_dir=text("WorkingDir"), tty=flag("Tty"), attach_stdin=flag("AttachStdin"),
        attach_stdout=flag("AttachStdout", True), attach_stderr=flag("AttachStderr", True),
        privileged=flag("Privileged"), detach_keys=text("DetachKeys"),
    )


@dataclass(eq=False)
class ExecInstance:
    """One exec: its config, and what happened when it ran."""

    id: str
    container_id: str
    config: ExecConfig
    running: bool = False
    started: bool = False
    exit_code: int | None = None
    pid: int = 0
    done: trio.Event = field(default_factory=trio.Event)

    @property
    def command(self) -> str:
        return " ".join(shlex.quote(a) if " " in a else a for a in self.config.argv)

    def inspect(self) -> dict[str, Any]:
        """Docker's GET /exec/{id}/json body."""
        cfg = self.config
        return {
            "ID": self.id,
            "Running": self.running,
            "ExitCode": self.exit_code,
            "ProcessConfig": {
                "tty": cfg.tty,
                "entrypoint": cfg.argv[0],
                "arguments": list(cfg.argv[1:]),
                "privileged": cfg.privileged,
                "user": cfg.user,
            },
            "OpenStdin": cfg.attach_stdin,
            "OpenStderr": cfg.attach_stderr,
            "OpenStdout": cfg.attach_stdout,
            "CanRemove": False,
            "ContainerID": self.container_id,
            "DetachKeys": cfg.detach_keys,
            "Pid": self.pid,
        }


class ExecRegistry:
    """Exec instances by id; finished ones are kept (bounded) for their exit codes."""

    def __init__(self) -> None:
        self._execs: dict[str, ExecInstance] = {}

    def add(self, container_id: str, config: ExecConfig) -> ExecInstance:
        instance = ExecInstance(id=secrets.token_hex(32), container_id=container_id, config=config)
        self._execs[instance.id] = instance
        finished = [e for e in self._execs.values() if e.done.is_set()]
        for old in finished[: max(0, len(finished) - MAX_FINISHED)]:
            del self._execs[old.id]
        return instance

    def get(self, exec_id: str) -> ExecInstance:
        instance = self._execs.get(exec_id)
        if instance is None:
            matches = [e for e in self._execs.values() if e.id.startswith(exec_id)] if exec_id else []
            if len(matches) != 1:
                msg = f"No such exec instance: {exec_id}"
                raise NotFound(msg)
            instance = matches[0]
        return instance

    def of_container(self, container_id: str) -> list[str]:
        return [e.id for e in self._execs.values() if e.container_id == container_id and e.running]

    def forget_container(self, container_id: str) -> None:
        for exec_id in [e.id for e in self._execs.values() if e.container_id == container_id]:
            del self._execs[exec_id]


def runc_exec_argv(prefix: Sequence[str], container_id: str, config: ExecConfig, pid_file: str) -> list[str]:
    """``runc exec`` arguments for an API exec (user, cwd, env override the container's)."""
    argv = [*prefix, "exec", "--pid-file", pid_file]
    if config.user:
        argv += ["--user", config.user]
    if config.working_dir:
        argv += ["--cwd", config.working_dir]
    for item in config.env:
        argv += ["--env", item]
    return [*argv, container_id, *config.argv]


PIPE = subprocess.PIPE
DEVNULL = subprocess.DEVNULL
