"""The OCI runtime seam: one narrow interface, a runc/crun implementation, a fake.

The engine only needs five things from a runtime: run a container from a
bundle with the given stdio (the container inherits the fds: pass-through
mode, no shim), or create it ahead and start it later; pause/resume it,
delete it, and a handle on its init process to signal and await.
``RuncRuntime`` drives the runc (or crun) binary;
``supervisor.engine.fake.FakeRuntime`` is the in-memory twin for shell tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol

import trio

from supervisor._logging import get_logger
from supervisor.engine.execfifo import start_through_fifo
from supervisor.engine.execs import ExecConfig, runc_exec_argv
from supervisor.engine.process import WatchedProcess, process_start_time
from supervisor.engine.sealed import SealedBinary, seal_copy
from supervisor.errors import InvalidArgument, NotFound, RuntimeFailed

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Stdio:
    """File descriptors the container's init inherits (closed by the caller afterwards)."""

    stdin: int
    stdout: int
    stderr: int


class RuntimeProcess(Protocol):
    """The container's init process as the engine sees it."""

    pid: int

    def send_signal(self, sig: int) -> bool: ...

    async def wait(self) -> int | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ExecResult:
    """What a process run in a container did: exit code (None after a timeout) and output."""

    exit_code: int | None
    output: bytes
    truncated: bool = False


class Runtime(Protocol):
    """What the engine needs from an OCI runtime."""

    name: str

    async def run(self, container_id: str, bundle: Path, stdio: Stdio) -> RuntimeProcess: ...

    @property
    def can_start_created(self) -> bool:
        """Whether a container can be made ahead of its start (``spawn_create``,
        ``finish_create``) and started by it (``start_created``); else it is only ever ``run``."""
        ...

    async def refresh_binary(self) -> None:
        """Ready the runtime's binary for ``spawn_create`` (which cannot await)."""
        ...

    def spawn_create(self, container_id: str, bundle: Path, stdio: Stdio) -> Any:
        """``create``'s first half, blocking (a worker thread); ``finish_create`` awaits what it returns."""
        ...

    async def finish_create(self, container_id: str, bundle: Path, spawned: Any) -> RuntimeProcess: ...

    async def start_created(self, container_id: str, process: RuntimeProcess) -> None: ...

    async def pause(self, container_id: str) -> None: ...

    async def resume(self, container_id: str) -> None: ...

    async def update(self, container_id: str, resources: Mapping[str, Any]) -> None: ...

    async def delete(self, container_id: str, *, force: bool = False, inline: bool = True) -> None:
        """Remove the container's runtime state and cgroups.

        ``inline=False``: the trio thread has more urgent work (a removal was just
        announced and its waiters answer now), so even quick kernel work goes to a
        worker thread.
        """
        ...

    def adopt(self, pid: int) -> RuntimeProcess: ...

    async def exec(
        self, container_id: str, argv: Sequence[str], *, timeout: float, max_output: int = 4096
    ) -> ExecResult: ...


RUN_TIMEOUT = 60.0  # seconds for `runc run --detach` to return


class StartFailed(RuntimeFailed):
    """The runtime could not start the process; carries Docker's exit code for it."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        if exit_code in (126, 127):
            self.http_status = 400


def start_failure_code(message: str) -> int:
    """Docker's exit code for a start failure (daemon/errors.go)."""
    lowered = message.lower()
    if "executable file not found" in lowered or "no such file or directory" in lowered:
        return 127
    if "permission denied" in lowered or "is a directory" in lowered:
        return 126
    return 128


class RuncRuntime:
    """runc or crun, driven through its command line with its state under ``root``."""

    # Seconds between looks at the binary on disk (a package upgrade replaces it).
    BINARY_CHECK_INTERVAL = 1.0

    def __init__(self, binary: str, root: Path, log_dir: Path) -> None:
        path = shutil.which(binary)
        if path is None:
            msg = f"OCI runtime {binary!r} not found in PATH"
            raise InvalidArgument(msg)
        self.binary = path
        self.name = os.path.basename(binary)
        self.root = root
        self.log_dir = log_dir
        # runc runs from a sealed copy of itself (see ``sealed``); crun has no use for one.
        self._sealed: SealedBinary | None = None
        self._seal = self.name == "runc"
        self._sealed_checked = -1.0
        # Copies replaced after an upgrade: a spawn may still be passing one to its child.
        self._retired: list[SealedBinary] = []

    async def refresh_binary(self) -> None:
        """Make the sealed copy, or make it again when the binary on disk changed (checked once a second)."""
        if not self._seal:
            return
        now = trio.current_time()
        if self._sealed is not None and now - self._sealed_checked < self.BINARY_CHECK_INTERVAL:
            return
        self._sealed_checked = now
        current = self._sealed
        if current is not None and not current.changed():
            return
        try:
            fresh = await trio.to_thread.run_sync(seal_copy, self.binary)
        except OSError as exc:
            # Not fatal: runc then protects itself the slower way.
            log.warning("cannot make a sealed copy of the runtime", binary=self.binary, error=str(exc))
            self._seal = False
            return
        self._sealed = fresh
        if current is not None:
            self._retired.append(current)

    def _exe(self) -> str:
        return self._sealed.exe if self._sealed is not None else self.binary

    def _pass_fds(self) -> tuple[int, ...]:
        """The fds a runtime child must inherit: the sealed copy it is executed from."""
        return (self._sealed.fd,) if self._sealed is not None else ()

    def close(self) -> None:
        """Release the sealed copies (daemon exit)."""
        for sealed in [*self._retired, *([self._sealed] if self._sealed else [])]:
            with contextlib.suppress(OSError):
                sealed.close()
        self._sealed = None
        self._retired = []

    def _argv(self, container_id: str, *args: str, exe: str | None = None) -> list[str]:
        return [
            exe or self._exe(),
            "--root",
            str(self.root),
            "--log",
            str(self.log_dir / f"{container_id}.log"),
            "--log-format",
            "json",
            *args,
        ]

    def _last_error(self, container_id: str, fallback: str) -> str:
        path = self.log_dir / f"{container_id}.log"
        message = ""
        try:
            with open(path, "rb") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if entry.get("level") in ("error", "fatal"):
                        message = str(entry.get("msg", ""))
        except FileNotFoundError:
            pass
        return message or fallback.strip() or "OCI runtime failed"

    async def _run(self, container_id: str, *args: str, stdio: Stdio | None = None) -> None:
        argv = self._argv(container_id, *args)
        if stdio is None:
            result = await trio.run_process(
                argv, stdin=subprocess.DEVNULL, capture_stdout=True, capture_stderr=True,
                check=False, pass_fds=self._pass_fds(),
            )
            output = result.stderr.decode(errors="replace") + result.stdout.decode(errors="replace")
        else:
            result = await trio.run_process(
                argv, stdin=stdio.stdin, stdout=stdio.stdout, stderr=stdio.stderr, check=False,
                pass_fds=self._pass_fds(),
            )
            output = ""
        if result.returncode != 0:
            message = self._last_error(container_id, output)
            if "does not exist" in message or "container not found" in message:
                raise NotFound(message)
            raise RuntimeFailed(message)

    async def run(self, container_id: str, bundle: Path, stdio: Stdio) -> RuntimeProcess:
        """Create and start the container in one runtime call (``runc run --detach``).

        One process instead of ``runc create`` + ``runc start`` saves a whole
        runtime start-up (~8 ms). Nothing has to happen between the two any
        more: the container joins a network namespace the daemon made and
        wired beforehand. The stdio fds pass through to the container's init,
        which becomes our child when runc exits (we are a subreaper); it may
        already have exited then, and waits as a zombie for ``wait``.
        """
        pid_file = bundle / "init.pid"
        await self.refresh_binary()
        args = ["run", "--detach", "--bundle", str(bundle), "--pid-file", str(pid_file), container_id]
        try:
            # Shielded (and bounded): cancelling runc half-way would kill it but could
            # leave its already-forked `runc init` behind, outside any cgroup cleanup.
            # A cancellation is seen at the caller's next checkpoint, which then kills the init.
            with trio.CancelScope(shield=True), trio.fail_after(RUN_TIMEOUT):
                await self._run(container_id, *args, stdio=stdio)
        except trio.TooSlowError as exc:
            await self._failed(container_id, f"runtime start did not finish within {RUN_TIMEOUT:.0f} s", exc)
        except RuntimeFailed as exc:
            await self._failed(container_id, exc.message, exc)
        pid = int(pid_file.read_text())
        return WatchedProcess.open(pid, is_child=True)

    def spawn_create(self, container_id: str, bundle: Path, stdio: Stdio) -> subprocess.Popen[bytes]:
        """Begin ``runc create`` (blocking: in a worker thread, after ``refresh_binary``).

        ``runc create`` makes the container and leaves its init (our child
        once runc exits) waiting to exec until ``start_created``: used ahead
        of a start that is about to come (``engine.primed``). Split from
        ``finish_create`` so that it shares one worker-thread call with the
        work before it (the bundle, at create).
        """
        # Read once: ``refresh_binary`` (on the trio thread) may replace it meanwhile.
        sealed = self._sealed
        argv = self._argv(
            container_id, "create", "--bundle", str(bundle), "--pid-file", str(bundle / "init.pid"), container_id,
            exe=sealed.exe if sealed is not None else self.binary,
        )
        return subprocess.Popen(
            argv, stdin=stdio.stdin, stdout=stdio.stdout, stderr=stdio.stderr,
            pass_fds=(sealed.fd,) if sealed is not None else (),
        )

    async def finish_create(self, container_id: str, bundle: Path, spawned: subprocess.Popen[bytes]) -> RuntimeProcess:
        """Await the ``runc create`` that ``spawn_create`` began; the init it made, or StartFailed."""
        try:
            # Shielded and bounded, as ``run``'s runtime call.
            with trio.CancelScope(shield=True), trio.fail_after(RUN_TIMEOUT):
                pidfd = os.pidfd_open(spawned.pid)
                try:
                    await trio.lowlevel.wait_readable(pidfd)
                finally:
                    os.close(pidfd)
        except trio.TooSlowError as exc:
            spawned.kill()
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(spawned.wait)
            await self._failed(container_id, f"runtime create did not finish within {RUN_TIMEOUT:.0f} s", exc)
        if spawned.wait() != 0:  # exited: at once
            await self._failed(container_id, self._last_error(container_id, ""))
        return WatchedProcess.open(int((bundle / "init.pid").read_text()), is_child=True)

    async def _failed(self, container_id: str, message: str, cause: BaseException | None = None) -> NoReturn:
        """A runtime call that was to start a container failed: what it left goes, StartFailed says why."""
        # runc leaves a half-made container behind on some failures.
        with trio.CancelScope(shield=True):
            await self.delete(container_id, force=True)
        code = 128 if isinstance(cause, trio.TooSlowError) else start_failure_code(message)
        raise StartFailed(message, code) from cause

    @property
    def can_start_created(self) -> bool:
        """Whether ``start_created`` works here: runc's exec fifo is known, crun's is not relied on."""
        return self.name == "runc"

    async def start_created(self, container_id: str, process: RuntimeProcess) -> None:
        """Let a container made by ``create`` exec its process (what ``runc start`` does, without runc).

        Raises:
            StartFailed: its init died before exec'ing, or took too long.
        """
        assert isinstance(process, WatchedProcess)
        try:
            await start_through_fifo(self.root / container_id, process.pidfd, timeout=RUN_TIMEOUT)
        except FileNotFoundError as exc:
            msg = f"container {container_id} is not waiting to start"
            raise StartFailed(msg, 128) from exc
        except RuntimeFailed as exc:
            raise StartFailed(exc.message, 128) from exc

    async def pause(self, container_id: str) -> None:
        await self._run(container_id, "pause", container_id)

    async def update(self, container_id: str, resources: Mapping[str, Any]) -> None:
        """Apply new cgroup limits to a running container (``runc update -r``)."""
        path = self.log_dir / f"{container_id}.resources.json"
        path.write_text(json.dumps(resources))
        try:
            await self._run(container_id, "update", "--resources", str(path), container_id)
        finally:
            path.unlink(missing_ok=True)

    async def resume(self, container_id: str) -> None:
        await self._run(container_id, "resume", container_id)

    def _delete_stopped_fast(self, container_id: str) -> bool:
        """Do what ``runc delete`` does for a container whose init has exited, without a fork.

        runc's delete of a stopped container removes its cgroups and its state
        directory; spawning the Go binary for that costs ~12 ms on the restart
        path. Returns False (the caller then runs ``runc delete --force``) if
        anything is unexpected: a live init, a busy cgroup, an unreadable state.

        Called inline in the trio thread: everything it touches lives in kernel
        memory (cgroupfs, procfs, runc's state under the exec root, a tmpfs),
        so it takes tens of microseconds, less than a worker-thread hop.
        """
        if self.name != "runc":
            return False
        state_dir = self.root / container_id
        try:
            state = json.loads((state_dir / "state.json").read_text())
            pid = int(state["init_process_pid"])
            start = int(state["init_process_start"])
            if pid and process_start_time(pid) == start:
                return False
            for path in sorted(set(state.get("cgroup_paths", {}).values()), reverse=True):
                try:
                    os.rmdir(path)
                except FileNotFoundError:
                    continue
        except (OSError, ValueError, KeyError, TypeError):
            return False
        try:
            # runc keeps only files here (state.json); shutil.rmtree's general walk costs more.
            for name in os.listdir(state_dir):
                os.unlink(state_dir / name)
            os.rmdir(state_dir)
        except OSError:
            shutil.rmtree(state_dir, ignore_errors=True)
        return True

    async def delete(self, container_id: str, *, force: bool = False, inline: bool = True) -> None:
        if inline:
            deleted = self._delete_stopped_fast(container_id)
        else:
            deleted = await trio.to_thread.run_sync(self._delete_stopped_fast, container_id)
        if deleted:
            with contextlib.suppress(FileNotFoundError):
                (self.log_dir / f"{container_id}.log").unlink()
            return
        args = ["delete", *(["--force"] if force else []), container_id]
        try:
            await self._run(container_id, *args)
        except NotFound:
            pass
        except RuntimeFailed as exc:
            log.warning("runtime delete failed", container_id=container_id, error=exc.message)
        finally:
            try:
                (self.log_dir / f"{container_id}.log").unlink()
            except FileNotFoundError:
                pass

    def adopt(self, pid: int) -> RuntimeProcess:
        """Watch a process that outlived a previous daemon (not our child)."""
        return WatchedProcess.open(pid, is_child=False)

    async def open_exec(
        self, container_id: str, config: ExecConfig, *, stdin: bool
    ) -> tuple[trio.Process, Path]:
        """Start an API exec (``runc exec``) with piped stdio; returns the process and its pid file."""
        pid_file = self.log_dir / f"{container_id}.exec.{secrets.token_hex(4)}.pid"
        await self.refresh_binary()
        argv = runc_exec_argv(self._argv(container_id), container_id, config, str(pid_file))
        process = await trio.lowlevel.open_process(
            argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=self._pass_fds(),
        )
        return process, pid_file

    async def exec(
        self, container_id: str, argv: Sequence[str], *, timeout: float, max_output: int = 4096
    ) -> ExecResult:
        """Run ``argv`` in the container as its process user, cwd and env (``runc exec``).

        stdout and stderr are captured together; only the first ``max_output``
        bytes are kept. After ``timeout`` seconds the process is killed and the
        result has no exit code.
        """
        pid_file = self.log_dir / f"{container_id}.exec.{secrets.token_hex(4)}.pid"
        await self.refresh_binary()
        argv_full = [
            *self._argv(container_id, "exec", "--pid-file", str(pid_file), container_id),
            *argv,
        ]
        kept = bytearray()
        truncated = False
        process = await trio.lowlevel.open_process(
            argv_full, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            pass_fds=self._pass_fds(),
        )
        try:
            with trio.move_on_after(timeout) as scope:
                assert process.stdout is not None
                async with process.stdout:
                    while chunk := await process.stdout.receive_some(65536):
                        room = max_output - len(kept)
                        kept += chunk[:room]
                        truncated = truncated or len(chunk) > room
                code = await process.wait()
            if scope.cancelled_caught:
                with contextlib.suppress(OSError, ValueError):
                    os.kill(int(pid_file.read_text()), signal.SIGKILL)
                process.kill()
                with trio.CancelScope(shield=True):
                    await process.wait()
                return ExecResult(None, bytes(kept), truncated)
        except BaseException:
            process.kill()
            raise
        finally:
            with contextlib.suppress(FileNotFoundError):
                pid_file.unlink()
        return ExecResult(code, bytes(kept), truncated)
