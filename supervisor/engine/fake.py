"""An in-memory OCI runtime for shell tests (like httpcore's exported mock backend).

Each created container gets a ``FakeProcess`` driven by a ``FakeProgram``: what
it prints, when it exits and with which code, which signals it ignores.
The process holds duplicates of the stdio fds it was given, writes its output
when started and closes them when it exits, so the engine's pipe pumps see
exactly what they would see with runc.
"""

from __future__ import annotations

import itertools
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import trio

from supervisor.engine.runtime import ExecResult, StartFailed, Stdio


@dataclass(frozen=True)
class FakeProgram:
    """What a fake container does once started."""

    stdout: bytes = b""
    stderr: bytes = b""
    exit_after: float | None = None  # seconds after start; None = run until signalled
    exit_code: int = 0
    ignore: frozenset[int] = frozenset()
    fail_start: str | None = None  # runtime start fails with this message


_pids = itertools.count(100_000)


@dataclass(eq=False)
class FakeProcess:
    pid: int
    program: FakeProgram
    fds: list[int]
    signals: list[tuple[int, float]] = field(default_factory=list)  # (signal, trio time)
    exited: trio.Event = field(default_factory=trio.Event)
    code: int | None = None
    started_at: float | None = None
    exited_at: float | None = None

    def _exit(self, code: int) -> None:
        if self.exited.is_set():
            return
        self.code = code
        self.exited_at = trio.current_time()
        for fd in self.fds:
            os.close(fd)
        self.fds = []
        self.exited.set()

    def send_signal(self, sig: int) -> bool:
        if self.exited.is_set():
            return False
        self.signals.append((sig, trio.current_time()))
        # Like a process with default dispositions: every signal ends it unless ignored.
        if sig == signal.SIGKILL or sig not in self.program.ignore:
            self._exit(128 + sig)
        return True

    async def wait(self) -> int | None:
        await self.exited.wait()
        return self.code

    def close(self) -> None:
        pass

    async def run(self) -> None:
        self.started_at = trio.current_time()
        if self.exited.is_set():
            return
        out_fd, err_fd = self.fds[1], self.fds[2]
        if self.program.stdout:
            os.write(out_fd, self.program.stdout)
        if self.program.stderr:
            os.write(err_fd, self.program.stderr)
        if self.program.exit_after is not None:
            async with trio.open_nursery() as nursery:

                async def exit_later() -> None:
                    await trio.sleep(self.program.exit_after or 0)
                    self._exit(self.program.exit_code)

                nursery.start_soon(exit_later)
                await self.exited.wait()
                nursery.cancel_scope.cancel()
        else:
            await self.exited.wait()


class FakeRuntime:
    """Runtime twin: containers are FakeProcesses run in the given nursery."""

    name = "fake"

    def __init__(self, nursery: trio.Nursery, programs: Callable[[str], FakeProgram] | None = None) -> None:
        self._nursery = nursery
        self._programs = programs or (lambda cid: FakeProgram(exit_after=0))
        self.created: dict[str, FakeProcess] = {}
        self.paused: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        # Health probes: (container id, argv) -> (exit code, output, seconds it takes).
        self.probe: Callable[[str, Sequence[str]], tuple[int, bytes, float]] = (
            lambda cid, argv: (0, b"", 0.0)
        )

    can_start_created = True

    async def run(self, container_id: str, bundle: Path, stdio: Stdio) -> FakeProcess:
        self.calls.append(("run", container_id))
        process = await self._make(container_id, stdio)
        self._nursery.start_soon(process.run)
        return process

    async def refresh_binary(self) -> None:
        await trio.lowlevel.checkpoint()

    def spawn_create(self, container_id: str, bundle: Path, stdio: Stdio) -> tuple[str, Stdio]:
        self.calls.append(("create", container_id))
        # The process is made by ``finish_create``: the fds are dup'd now, as a child inherits them.
        return container_id, Stdio(os.dup(stdio.stdin), os.dup(stdio.stdout), os.dup(stdio.stderr))

    async def finish_create(self, container_id: str, bundle: Path, spawned: tuple[str, Stdio]) -> FakeProcess:
        """Made, waiting for ``start_created``; a program that fails to start fails here (as runc's lookup)."""
        _, stdio = spawned
        try:
            return await self._make(container_id, stdio)
        finally:
            for fd in (stdio.stdin, stdio.stdout, stdio.stderr):
                os.close(fd)

    async def start_created(self, container_id: str, process: FakeProcess) -> None:
        self.calls.append(("start", container_id))
        await trio.lowlevel.checkpoint()
        if process.exited.is_set() or self.created.get(container_id) is not process:
            msg = "container process is already dead"
            raise StartFailed(msg, 128)
        self._nursery.start_soon(process.run)

    async def _make(self, container_id: str, stdio: Stdio) -> FakeProcess:
        await trio.lowlevel.checkpoint()
        if container_id in self.created:
            msg = f"container with id exists: {container_id}"
            raise StartFailed(msg, 128)
        process = FakeProcess(pid=next(_pids), program=self._programs(container_id), fds=[])
        if process.program.fail_start:
            raise StartFailed(process.program.fail_start, 127)
        process.fds = [os.dup(stdio.stdin), os.dup(stdio.stdout), os.dup(stdio.stderr)]
        self.created[container_id] = process
        return process

    async def pause(self, container_id: str) -> None:
        self.calls.append(("pause", container_id))
        self.paused.add(container_id)
        await trio.lowlevel.checkpoint()

    async def resume(self, container_id: str) -> None:
        self.calls.append(("resume", container_id))
        self.paused.discard(container_id)
        await trio.lowlevel.checkpoint()

    async def update(self, container_id: str, resources: object) -> None:
        self.calls.append(("update", container_id))
        await trio.lowlevel.checkpoint()

    async def delete(self, container_id: str, *, force: bool = False, inline: bool = True) -> None:
        self.calls.append(("delete", container_id))
        process = self.created.pop(container_id, None)
        if process is not None and force:
            process._exit(137)
        await trio.lowlevel.checkpoint()

    def adopt(self, pid: int) -> FakeProcess:
        raise ProcessLookupError(pid)

    async def exec(
        self, container_id: str, argv: Sequence[str], *, timeout: float, max_output: int = 4096
    ) -> ExecResult:
        """Run a scripted probe: ``probe(container_id, argv)`` gives (exit code, output, seconds)."""
        self.calls.append(("exec", container_id))
        code, output, seconds = self.probe(container_id, argv)
        with trio.move_on_after(timeout) as scope:
            await trio.sleep(seconds)
        if scope.cancelled_caught:
            return ExecResult(None, output[:max_output], len(output) > max_output)
        return ExecResult(code, output[:max_output], len(output) > max_output)
