"""A container made by the runtime ahead of its start: its init waits to exec.

``docker run`` sends its start 2-5 ms after the create's answer (it attaches
and asks to wait first). With the bundle written early (``early``), the
runtime's own work can begin then too: ``runc create`` makes the
namespaces, cgroups and mounts and leaves the init blocked before exec. The
start then only has to let it go (``Runtime.start_created``: no runtime
process at all), so the client's gap and the start's own spawning come off
the path to the user's process.

Making it is begun in the worker-thread call that writes the bundle
(``spawn``, right after it) and awaited in the background (``finish``).
A ``Primed`` owns that init (our child once ``runc create`` has exited, since
the daemon is a subreaper) and the daemon's ends of its stdio pipes.
Whoever does not start it discards it: the init is killed and reaped, the
runtime's state and cgroups deleted, the pipes closed.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from supervisor.engine.output import open_pipe
from supervisor.engine.runtime import Stdio

if TYPE_CHECKING:
    from supervisor.engine.runtime import Runtime, RuntimeProcess

KILL_WAIT = 10.0  # seconds to wait for a killed init to be reaped


@dataclass(frozen=True, slots=True)
class PipeEnds:
    """The daemon's ends of a made container's stdio pipes."""

    out_r: int
    err_r: int
    in_w: int  # -1: stdin is /dev/null

    def fds(self) -> list[int]:
        return [fd for fd in (self.out_r, self.err_r, self.in_w) if fd >= 0]

    def close(self) -> None:
        for fd in self.fds():
            with contextlib.suppress(OSError):
                os.close(fd)


@dataclass(eq=False)
class Spawning:
    """``runc create`` begun (``spawn``), not yet awaited (``finish``)."""

    spawned: Any  # the runtime's handle
    pipes: PipeEnds


@dataclass(eq=False)
class Primed:
    """A created container's init, waiting to exec, and the daemon's ends of its stdio."""

    process: RuntimeProcess
    pipes: PipeEnds


def spawn(runtime: Runtime, container_id: str, bundle: Path, *, open_stdin: bool) -> Spawning:
    """Begin making the container with fresh stdio pipes (blocking: a worker thread, after ``refresh_binary``)."""
    out_r, out_w = open_pipe()
    err_r, err_w = open_pipe()
    if open_stdin:
        in_r, in_w = open_pipe()
    else:
        in_r, in_w = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC), -1
    child_ends = (in_r, out_w, err_w)
    pipes = PipeEnds(out_r, err_r, in_w)
    try:
        spawned = runtime.spawn_create(container_id, bundle, Stdio(stdin=in_r, stdout=out_w, stderr=err_w))
    except BaseException:
        pipes.close()
        raise
    finally:
        # The runtime holds its copies now; ours must go or the pipes never reach EOF.
        for fd in child_ends:
            os.close(fd)
    return Spawning(spawned, pipes)


async def finish(runtime: Runtime, container_id: str, bundle: Path, spawning: Spawning) -> Primed:
    """Await the making ``spawn`` began; raises what the runtime raised (the pipes then closed)."""
    try:
        process = await runtime.finish_create(container_id, bundle, spawning.spawned)
    except BaseException:
        spawning.pipes.close()
        raise
    return Primed(process, spawning.pipes)


async def discard(runtime: Runtime, container_id: str, primed: Primed) -> None:
    """Kill and reap the waiting init, delete the runtime's container, close the pipes (shielded)."""
    with trio.CancelScope(shield=True):
        primed.pipes.close()
        primed.process.send_signal(signal.SIGKILL)
        with trio.move_on_after(KILL_WAIT):
            await primed.process.wait()
        await runtime.delete(container_id, force=True)
