"""Watching container init processes without a shim.

The daemon marks itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so
when ``runc create`` exits, the container's init is re-parented to the daemon.
Its exit is awaited through a pidfd (readable once the process has exited)
and collected with ``waitpid``: the daemon itself holds every container's exit
status, so no per-container shim process is needed.

A process we did not start (one that survived a daemon crash) is not our
child; it can still be watched through a pidfd, but its exit status is lost.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
from dataclasses import dataclass

import trio

from supervisor._logging import get_logger

log = get_logger(__name__)

PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)


def become_subreaper() -> None:
    """Make orphaned descendants (container inits) children of this process."""
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(err)}")


def process_start_time(pid: int) -> int:
    """The process's start time in clock ticks since boot (field 22 of /proc/pid/stat).

    Together with the pid it identifies a process across pid reuse.
    Returns 0 if the process does not exist.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    rest = data[data.rindex(b")") + 2 :].split()
    return int(rest[19])


def exit_code_from_status(status: int) -> int:
    """Docker's exit code: the exit status, or 128 + the signal that killed it."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return 255


@dataclass
class WatchedProcess:
    """A pidfd on one process, with the means to signal and await it."""

    pid: int
    pidfd: int
    is_child: bool

    @classmethod
    def open(cls, pid: int, *, is_child: bool = True) -> WatchedProcess:
        """Open a pidfd for ``pid``; raises ProcessLookupError if it is gone."""
        fd = os.pidfd_open(pid)
        return cls(pid=pid, pidfd=fd, is_child=is_child)

    def send_signal(self, sig: int) -> bool:
        """Signal the process through its pidfd (no pid-reuse race).

        Returns False if it has already exited.
        """
        if self.pidfd < 0:
            return False
        try:
            signal.pidfd_send_signal(self.pidfd, sig)
        except ProcessLookupError:
            return False
        return True

    async def wait(self) -> int | None:
        """Wait for the exit and reap it; return Docker's exit code, or None if unknown."""
        await trio.lowlevel.wait_readable(self.pidfd)
        code: int | None = None
        if self.is_child:
            try:
                # The pidfd is readable: the process has exited, waitpid returns at once.
                _, status = os.waitpid(self.pid, 0)  # noqa: ASYNC222
                code = exit_code_from_status(status)
            except ChildProcessError:
                log.warning("exit status lost: not our child", pid=self.pid)
        self.close()
        return code

    def close(self) -> None:
        if self.pidfd >= 0:
            fd, self.pidfd = self.pidfd, -1
            try:
                os.close(fd)
            except OSError as exc:  # pragma: no cover - defensive
                if exc.errno != errno.EBADF:
                    raise
