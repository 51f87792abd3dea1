"""Turning what a probe did into a ``ProbeResult``, the way dockerd words it.

Rules (moby daemon/health.go):

1. stdout and stderr go into ONE buffer of at most 4096 bytes; whatever does
   not fit is dropped and ``...`` is appended (``limitedBuffer``). The bytes
   are decoded as UTF-8 with invalid sequences replaced, which is what Go's
   JSON encoder does to the same bytes on the wire.
2. A probe that outlives its timeout is killed; its result has exit code -1
   and the output ``Health check exceeded timeout (<timeout>)``, the timeout
   written as Go prints a duration (``30s``, ``1m0s``, ``500ms``). Newer
   daemons append ``: <output>`` when the probe printed something; so do we,
   since it is the only clue to why the probe hung.
3. A probe that could not run at all (exec failed, or took more than 30 s to
   start: ``timed out starting health check for container <id>``) has exit
   code -1 and the error text as output.

The timeout counts from when the probe process started, not from when the
exec was requested: starting an exec can be slow, and that is not the
container's fault.
"""

from __future__ import annotations

from supervisor.restart.health import ProbeResult
from supervisor.restart.labels import format_seconds

MAX_OUTPUT = 4096
TRUNCATION_MARK = "..."
EXEC_START_TIMEOUT = 30.0  # seconds allowed for the exec to start, outside the probe's timeout
FAILED_EXIT = -1


class OutputBuffer:
    """Keeps the first ``MAX_OUTPUT`` bytes written and remembers whether more came."""

    __slots__ = ("_buf", "truncated")

    def __init__(self) -> None:
        self._buf = bytearray()
        self.truncated = False

    def write(self, data: bytes) -> None:
        """Append ``data`` while there is room; the rest is dropped."""
        room = MAX_OUTPUT - len(self._buf)
        keep = max(0, min(room, len(data)))
        self._buf += data[:keep]
        if keep < len(data):
            self.truncated = True

    def text(self) -> str:
        """The kept bytes as text, with ``...`` appended if anything was dropped."""
        out = self._buf.decode("utf-8", errors="replace")
        return out + TRUNCATION_MARK if self.truncated else out


def cap_output(data: bytes) -> str:
    """``data`` as it is stored in a result: at most 4096 bytes, then ``...``."""
    buf = OutputBuffer()
    buf.write(data)
    return buf.text()


def timeout_output(timeout: float, output: str = "") -> str:
    """``Health check exceeded timeout (<timeout>)[: <output>]``; ``timeout`` in seconds."""
    msg = f"Health check exceeded timeout ({format_seconds(timeout)})"
    return f"{msg}: {output}" if output else msg


def exec_start_timeout_output(container_id: str) -> str:
    """The error text when the probe's exec did not start within ``EXEC_START_TIMEOUT``."""
    return f"timed out starting health check for container {container_id}"


def exited_result(start_ns: int, end_ns: int, exit_code: int, output: bytes) -> ProbeResult:
    """A probe that ran to its end."""
    return ProbeResult(
        start_ns=start_ns, end_ns=end_ns, exit_code=exit_code, output=cap_output(output)
    )


def timeout_result(start_ns: int, end_ns: int, timeout: float, output: bytes = b"") -> ProbeResult:
    """A probe killed after ``timeout`` seconds; ``output`` is what it printed until then."""
    text = cap_output(output) if output else ""
    return ProbeResult(
        start_ns=start_ns,
        end_ns=end_ns,
        exit_code=FAILED_EXIT,
        output=timeout_output(timeout, text),
    )


def error_result(start_ns: int, end_ns: int, error: str) -> ProbeResult:
    """A probe that could not be run; ``error`` says why."""
    return ProbeResult(start_ns=start_ns, end_ns=end_ns, exit_code=FAILED_EXIT, output=error)
