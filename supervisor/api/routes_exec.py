"""``docker exec``: create, start (hijacked or detached), inspect, resize.

The exec runs through ``runc exec`` with piped stdio; without a TTY the
output is stdcopy-framed like attach. The exit code is stored before the
stream is closed (the CLI and docker-py read it right after the stream ends).
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import trio

from supervisor.api.request import Request, Response
from supervisor.api.stdcopy import frame
from supervisor.engine.execs import ExecInstance, ExecRegistry, parse_exec_config
from supervisor.engine.model import Status
from supervisor.engine.output import STDERR, STDOUT
from supervisor.engine.users import resolve_user
from supervisor.errors import Conflict, InvalidArgument, NotImplementedFeature

if TYPE_CHECKING:
    from supervisor.api.router import Router
    from supervisor.engine.container import Container
    from supervisor.engine.engine import Engine

MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
RAW = "application/vnd.docker.raw-stream"


def _resolved_user(engine: Engine, c: Container, user: str) -> str:
    """A user name is looked up in the container's /etc/passwd, as Docker does."""
    if not user:
        return ""
    etc = engine.paths.rootfs(c.id) / "etc"
    try:
        passwd = (etc / "passwd").read_text(errors="replace")
    except OSError:
        passwd = None
    try:
        group = (etc / "group").read_text(errors="replace")
    except OSError:
        group = None
    resolved = resolve_user(user, passwd, group)
    return f"{resolved.uid}:{resolved.gid}"


class ExecRoutes:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.execs = ExecRegistry()

    def add_to(self, router: Router) -> None:
        router.add("POST", r"/containers/(?P<id>[^/]+)/exec", self.create)
        router.add("POST", r"/exec/(?P<id>[^/]+)/start", self.start)
        router.add("POST", r"/exec/(?P<id>[^/]+)/resize", self.resize)
        router.add("GET", r"/exec/(?P<id>[^/]+)/json", self.inspect)

    def _check_running(self, c: Container) -> None:
        status = c.state.status
        if status is Status.PAUSED:
            msg = f"Container {c.id} is paused, unpause the container before exec"
            raise Conflict(msg)
        if status is not Status.RUNNING or c.process is None:
            msg = f"container {c.id} is not running"
            raise Conflict(msg)

    async def create(self, req: Request) -> Response:
        c = self.engine.get(req.params["id"])
        config = parse_exec_config(await req.json())
        if config.tty:
            msg = "exec with a TTY (-t) is not supported by berth yet; run without -t"
            raise NotImplementedFeature(msg)
        self._check_running(c)
        instance = self.execs.add(c.id, config)
        self.engine.publish_container(c, f"exec_create: {instance.command}", execID=instance.id)
        return Response.json({"Id": instance.id}, status=201)

    async def inspect(self, req: Request) -> Response:
        return Response.json(self.execs.get(req.params["id"]).inspect())

    async def resize(self, req: Request) -> Response:
        self.execs.get(req.params["id"])
        req.query_int("h", 0)
        req.query_int("w", 0)
        return Response.text("", status=200)

    async def start(self, req: Request) -> Response | None:
        instance = self.execs.get(req.params["id"])
        body = await req.json()
        detach = body.get("Detach", False)
        if not isinstance(detach, bool):
            msg = "json: cannot unmarshal into Go struct field ExecStartOptions.Detach of type bool"
            raise InvalidArgument(msg)
        if instance.started:
            msg = f"Error: Exec command {instance.id} has already run"
            raise Conflict(msg)
        c = self.engine.get(instance.container_id)
        self._check_running(c)
        config = instance.config
        user = _resolved_user(self.engine, c, config.user)
        run_config = replace(config, user=user) if user else config
        instance.started = True
        process, pid_file = await self.engine.runtime.open_exec(
            c.id, run_config, stdin=config.attach_stdin and not detach
        )
        instance.running = True
        self.engine.publish_container(c, f"exec_start: {instance.command}", execID=instance.id)
        if detach:
            assert self.engine._nursery is not None
            self.engine._nursery.start_soon(self._wait_detached, c, instance, process, pid_file)
            return Response.text("", status=200, content_type="application/json")
        conn = await req.hijack(MULTIPLEXED if req.api_at_least("1.42") else RAW)
        try:
            async with trio.open_nursery() as nursery:
                if config.attach_stdin and process.stdin is not None:
                    nursery.start_soon(self._copy_stdin, conn, process)
                async with trio.open_nursery() as pumps:
                    for stream, pipe, wanted in (
                        (STDOUT, process.stdout, config.attach_stdout),
                        (STDERR, process.stderr, config.attach_stderr),
                    ):
                        pumps.start_soon(self._pump, conn, stream, pipe, wanted)
                code = await process.wait()
                self._finish(c, instance, code, pid_file)
                nursery.cancel_scope.cancel()
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                await conn.send_eof()
        finally:
            if instance.running:
                _kill(pid_file)
                process.kill()
                with trio.CancelScope(shield=True):
                    code = await process.wait()
                self._finish(c, instance, code, pid_file)
        return None

    async def _pump(self, conn: Any, stream: int, pipe: Any, wanted: bool) -> None:
        async with pipe:
            while data := await pipe.receive_some(65536):
                if not wanted:
                    continue
                try:
                    await conn.send_all(frame(stream, data))
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    wanted = False

    async def _copy_stdin(self, conn: Any, process: trio.Process) -> None:
        assert process.stdin is not None
        async with process.stdin:
            while True:
                try:
                    data = await conn.receive_some(65536)
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    data = b""
                if not data:
                    return  # the client's half-close: stdin EOF
                try:
                    await process.stdin.send_all(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return

    async def _wait_detached(self, c: Container, instance: ExecInstance, process: trio.Process, pid_file: Any) -> None:
        async with trio.open_nursery() as nursery:
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    nursery.start_soon(_drain, pipe)
            code = await process.wait()
        self._finish(c, instance, code, pid_file)

    def _finish(self, c: Container, instance: ExecInstance, code: int, pid_file: Any) -> None:
        if not instance.running:
            return
        instance.running = False
        instance.exit_code = code if code >= 0 else 128 - code
        instance.done.set()
        with contextlib.suppress(FileNotFoundError):
            pid_file.unlink()
        self.engine.publish_container(
            c, "exec_die", execID=instance.id, exitCode=str(instance.exit_code)
        )


def _kill(pid_file: Any) -> None:
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pid_file.read_text()), signal.SIGKILL)


async def _drain(pipe: Any) -> None:
    async with pipe:
        while await pipe.receive_some(65536):
            pass

