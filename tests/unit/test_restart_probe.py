"""Probe output capping and dockerd's wording of timeouts and errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.restart.health import ProbeResult
from supervisor.restart.probe import (
    MAX_OUTPUT,
    OutputBuffer,
    cap_output,
    error_result,
    exec_start_timeout_output,
    exited_result,
    timeout_output,
    timeout_result,
)


def test_short_output_is_kept_whole() -> None:
    """Output under 4096 bytes is stored as is, without a mark."""
    assert cap_output(b"all good\n") == "all good\n"
    assert cap_output(b"x" * MAX_OUTPUT) == "x" * MAX_OUTPUT


def test_long_output_is_cut_at_4096_bytes_with_dots() -> None:
    """Beyond 4096 bytes the rest is dropped and "..." appended."""
    assert cap_output(b"x" * (MAX_OUTPUT + 1)) == "x" * MAX_OUTPUT + "..."


def test_buffer_across_writes() -> None:
    """stdout and stderr share one budget across many writes."""
    buf = OutputBuffer()
    buf.write(b"a" * 4000)
    buf.write(b"b" * 90)
    assert not buf.truncated
    buf.write(b"c" * 10)
    buf.write(b"d")
    assert buf.truncated
    assert buf.text() == "a" * 4000 + "b" * 90 + "c" * 6 + "..."


def test_invalid_utf8_is_replaced() -> None:
    """Bytes that are not UTF-8 become U+FFFD, like Go's JSON encoding."""
    assert cap_output(b"ok \xff") == "ok \ufffd"


@given(st.lists(st.binary(max_size=3000), max_size=6))
def test_never_more_than_the_cap(chunks: list[bytes]) -> None:
    """Whatever is written, at most 4096 bytes are kept and "..." marks a loss."""
    buf = OutputBuffer()
    for c in chunks:
        buf.write(c)
    total = b"".join(chunks)
    text = buf.text()
    assert buf.truncated == (len(total) > MAX_OUTPUT)
    kept = total[:MAX_OUTPUT].decode("utf-8", errors="replace")
    assert text == (kept + "..." if buf.truncated else kept)


@pytest.mark.parametrize(
    ("timeout", "output", "expected"),
    [
        (30.0, "", "Health check exceeded timeout (30s)"),
        (60.0, "", "Health check exceeded timeout (1m0s)"),
        (0.5, "", "Health check exceeded timeout (500ms)"),
        (1.5, "partial", "Health check exceeded timeout (1.5s): partial"),
    ],
)
def test_timeout_message(timeout: float, output: str, expected: str) -> None:
    """The timeout is printed as Go prints a duration."""
    assert timeout_output(timeout, output) == expected


def test_result_constructors() -> None:
    """Exited, timed-out and failed probes give Docker's result records."""
    assert exited_result(1, 2, 1, b"no") == ProbeResult(1, 2, 1, "no")
    assert timeout_result(1, 2, 30.0) == ProbeResult(
        1, 2, -1, "Health check exceeded timeout (30s)"
    )
    assert timeout_result(1, 2, 2.0, b"x").output == "Health check exceeded timeout (2s): x"
    msg = exec_start_timeout_output("abc")
    assert msg == "timed out starting health check for container abc"
    assert error_result(1, 2, msg) == ProbeResult(1, 2, -1, msg)
