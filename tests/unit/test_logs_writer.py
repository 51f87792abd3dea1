"""The bounded log queue: never blocks, drops and counts, reports drops with a marker."""

from __future__ import annotations

import pytest

from supervisor.logs.writer import LogQueue


def marker(n: int) -> bytes:
    return b"M%d\n" % n


def test_put_and_take() -> None:
    q = LogQueue(100)
    assert q.put(b"a\n", 1, marker) == 0
    assert q.put(b"b\n", 1, marker) == 0
    taken = q.take()
    assert (taken.data, taken.lines, taken.seq) == (b"a\nb\n", 2, 2)
    assert q.size == 0


def test_full_queue_drops_and_marks() -> None:
    """A batch that does not fit is dropped and counted; the next one that fits follows a marker."""
    q = LogQueue(10)
    assert q.put(b"12345678\n", 1, marker) == 0
    assert q.put(b"xxxx\n", 3, marker) == -1
    assert q.put(b"yy\n", 2, marker) == -1
    assert q.dropped == 5 and q.unreported == 5
    assert q.take().data == b"12345678\n"
    assert q.put(b"ok\n", 1, marker) == 5
    assert q.take().data == b"M5\nok\n"
    assert q.unreported == 0 and q.dropped == 5


def test_write_failures_count_too() -> None:
    q = LogQueue(10)
    q.count_dropped(4)
    assert q.put_marker(marker) == 4
    assert q.put_marker(marker) == 0
    assert q.take().data == b"M4\n"


def test_invalid_limit() -> None:
    with pytest.raises(ValueError, match="positive"):
        LogQueue(0)
