"""Starting a container that ``runc create`` made, without a second runc process.

``runc create`` leaves the container's init blocked in opening ``exec.fifo``
(in the container's state directory) for writing. ``runc start`` does no
more than open that fifo for reading, read the byte the unblocked init
writes, wait for end-of-file and remove the fifo: runc tells a created
container from a running one by whether the fifo still exists. Doing the
same here spares a whole runc start-up (5-8 ms of Go runtime) on the path
from ``POST /start`` to the user's process.

End-of-file is the start: the init's end of the fifo is close-on-exec, so
it comes when the init has exec'd the user's process. An init that dies
first never writes its byte (runc's own check, every 100 ms, is the same).
"""

from __future__ import annotations

import contextlib
import os
import select
from pathlib import Path

import trio

from supervisor.errors import RuntimeFailed

FIFO_NAME = "exec.fifo"
POLL_INTERVAL = 0.1  # seconds between looks at whether the init is still alive


def _has_exited(pidfd: int) -> bool:
    """Whether the process behind ``pidfd`` has exited (its pidfd polls readable)."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(0))


async def start_through_fifo(state_dir: Path, pidfd: int, *, timeout: float) -> None:
    """Let the created container's init exec its process; return once it has.

    Raises:
        FileNotFoundError: no fifo: the container is not in the created state.
        RuntimeFailed: the init died before it wrote (runc's "container process
            is already dead"), or did not exec within ``timeout`` seconds.
    """
    path = state_dir / FIFO_NAME
    # Non-blocking: a reader's open never waits for the writer (the init is
    # blocked in its own open until this one), and reads below never block.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    received = b""
    try:
        with trio.move_on_after(timeout) as deadline:
            while True:
                # Linux reports no hang-up on a fifo whose writer has not come yet,
                # so this waits for the init's byte, then for its close at exec.
                with trio.move_on_after(POLL_INTERVAL) as tick:
                    await trio.lowlevel.wait_readable(fd)
                if tick.cancelled_caught:
                    if _has_exited(pidfd):
                        # Gone before (or right after) writing: one last look at what it left.
                        with contextlib.suppress(BlockingIOError):
                            received += os.read(fd, 64)
                        break
                    continue
                try:
                    chunk = os.read(fd, 64)
                except BlockingIOError:
                    continue
                if not chunk:
                    break
                received += chunk
    finally:
        os.close(fd)
    if deadline.cancelled_caught:
        msg = f"container process did not start within {timeout:.0f} s"
        raise RuntimeFailed(msg)
    if not received:
        msg = "container process is already dead"
        raise RuntimeFailed(msg)
    os.unlink(path)
