"""Line framing: newline splitting, 16 KiB partial entries, chunking independence."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.logs.framing import MAX_LINE, LineSplitter


def entries_of(chunks: list[bytes], max_line: int = MAX_LINE) -> list[tuple[int, bytes]]:
    """Feed chunks (chunk i read at time i) and flush; return (time, stored content) pairs."""
    s = LineSplitter(max_line)
    out = []
    for t, chunk in enumerate(chunks):
        for b in s.feed(chunk, t):
            out += [(b.time_ns, e) for e in b.entries()]
    for b in s.flush():
        out += [(b.time_ns, e) for e in b.entries()]
    return out


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([b"a\nb\n"], [(0, b"a\n"), (0, b"b\n")]),
        ([b"a", b"b\n"], [(0, b"ab\n")]),
        ([b"\n\n"], [(0, b"\n"), (0, b"\n")]),
        ([b"a\r\n"], [(0, b"a\r\n")]),
        ([b"tail"], [(0, b"tail")]),
        ([b"x\n", b"dangling"], [(0, b"x\n"), (1, b"dangling")]),
        ([b""], []),
    ],
)
def test_split_table(chunks: list[bytes], expected: list[tuple[int, bytes]]) -> None:
    """Lines end at newline only; a fragment at EOF is a partial entry; times are the first byte's."""
    assert entries_of(chunks) == expected


def test_long_line_parts_share_first_time() -> None:
    """A 40 KiB line becomes 16 KiB + 16 KiB partial parts and a last part with the newline."""
    line = b"x" * (40 * 1024)
    got = entries_of([line[:100], line[100:], b"\n"])
    assert [len(e) for _, e in got] == [MAX_LINE, MAX_LINE, 8 * 1024 + 1]
    assert {t for t, _ in got} == {0}
    assert got[-1][1].endswith(b"\n") and not got[0][1].endswith(b"\n")


def test_exact_multiple_is_one_last_part() -> None:
    """A line of exactly 16 KiB is one complete entry, whatever the chunking."""
    assert entries_of([b"y" * MAX_LINE + b"\n"]) == [(0, b"y" * MAX_LINE + b"\n")]
    assert entries_of([b"y" * MAX_LINE, b"\n"]) == [(0, b"y" * MAX_LINE + b"\n")]


def test_pending_is_bounded() -> None:
    """The splitter never holds more than max_line bytes of an unfinished line."""
    s = LineSplitter(8)
    s.feed(b"z" * 100, 0)
    assert s.pending <= 8


def test_invalid_max_line() -> None:
    with pytest.raises(ValueError, match="positive"):
        LineSplitter(0)


data_st = st.lists(st.sampled_from([b"a", b"bc", b"\n", b"\r", b"\xff", b"long" * 5]), max_size=60).map(b"".join)


@settings(max_examples=300)
@given(data=data_st, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=10), max_line=st.integers(1, 12))
def test_any_chunking_same_entries(data: bytes, cuts: list[int], max_line: int) -> None:
    """Any chunking of the same bytes gives the same entries; no entry exceeds max_line of content."""
    whole = [e for _, e in entries_of([data], max_line)]
    points = sorted({c for c in cuts if c <= len(data)})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    chunked = [e for _, e in entries_of(chunks, max_line)]
    assert chunked == whole
    assert b"".join(whole) == data
    assert all(len(e.rstrip(b"\n")) <= max_line for e in whole)
    assert all(e.count(b"\n") <= 1 for e in whole)
