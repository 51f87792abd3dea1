"""A container made by the runtime ahead of its start: its init waits to exec.

``docker run`` sends its start 2-5 ms after the create's answer (it attaches
and asks to wait first). With the bundle written early (``early``), the
runtime's own work can begin then too: ``runc create`` makes the
namespaces, cgroups and mounts and leaves the init blocked before exec. The
start then only has to let it go (``Runtime.start_created``: no runtime
process at all), so the client's gap and the start's own spawning come off
the path to the user's process.

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
from typing import TYPE_CHECKING

import trio

from supervisor.engine.output import open_pipe
from supervisor.engine.runtime import Stdio

if TYPE_CHECKING:
    from supervisor.engine.runtime import Runtime, RuntimeProcess

KILL_WAIT = 10.0  # seconds to wait for a killed init to be reaped


@dataclass(eq=False)
class Primed:
    """A created container's init, waiting to exec, and the daemon's ends of its stdio."""

    process: RuntimeProcess
    out_r: int
    err_r: int
    in_w: int  # -1: stdin is /dev/null

    def fds(self) -> list[int]:
        return [fd for fd in (self.out_r, self.err_r, self.in_w) if fd >= 0]


async def prime(runtime: Runtime, container_id: str, bundle: Path, *, open_stdin: bool) -> Primed:
    """``runtime.create`` the container with fresh stdio pipes; raises what the runtime raised."""
    out_r, out_w = open_pipe()
    err_r, err_w = open_pipe()
    if open_stdin:
        in_r, in_w = open_pipe()
    else:
        in_r, in_w = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC), -1
    child_ends = (in_r, out_w, err_w)
    try:
        process = await runtime.create(container_id, bundle, Stdio(stdin=in_r, stdout=out_w, stderr=err_w))
    except BaseException:
        for fd in (*child_ends, out_r, err_r, in_w):
            if fd >= 0:
                os.close(fd)
        raise
    # The init holds its copies now; ours must go or the pipes never reach EOF.
    for fd in child_ends:
        os.close(fd)
    return Primed(process, out_r, err_r, in_w)


async def discard(runtime: Runtime, container_id: str, primed: Primed) -> None:
    """Kill and reap the waiting init, delete the runtime's container, close the pipes (shielded)."""
    with trio.CancelScope(shield=True):
        for fd in primed.fds():
            with contextlib.suppress(OSError):
                os.close(fd)
        primed.process.send_signal(signal.SIGKILL)
        with trio.move_on_after(KILL_WAIT):
            await primed.process.wait()
        await runtime.delete(container_id, force=True)
