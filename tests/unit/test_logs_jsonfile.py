"""json-file codec: Docker's exact bytes, round trip, decoding of runs."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.logs.jsonfile import (
    LogEntry,
    LogFormatError,
    decode_block,
    decode_line,
    decode_runs,
    encode_attrs,
    encode_batch,
    encode_entry,
    escape,
    format_time,
    format_time_fixed,
    parse_time,
)

T = 1546341071111111111  # 2019-01-01T11:11:11.111111111Z


def go_escape(s: bytes) -> bytes:
    """A direct port of moby's ffjsonWriteJSONBytesAsString (the reference)."""
    out = bytearray()
    i = 0
    while i < len(s):
        b = s[i]
        if b < 0x80:
            if b >= 0x20 and b not in b'\\"<>&':
                out.append(b)
            elif b in b'\\"':
                out += b"\\" + bytes([b])
            elif b == 0x0A:
                out += b"\\n"
            elif b == 0x0D:
                out += b"\\r"
            else:
                out += b"\\u00" + b"%02x" % b
            i += 1
            continue
        size = 0
        for n in (2, 3, 4):  # Go's DecodeRune: the one valid sequence starting here, if any
            try:
                s[i : i + n].decode("utf-8")
            except UnicodeDecodeError:
                continue
            size = n
            break
        if size == 0:
            out += b"\\ufffd"
            i += 1
            continue
        ch = s[i : i + size].decode("utf-8")
        if ch in "\u2028\u2029":
            out += b"\\u%04x" % ord(ch)
        else:
            out += s[i : i + size]
        i += size
    return bytes(out)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        (b"hello", b"hello"),
        (b'a"b\\c', b'a\\"b\\\\c'),
        (b"\n\r\t\x00\x1f\x7f", b"\\n\\r\\u0009\\u0000\\u001f\x7f"),
        (b"<a&b>", b"\\u003ca\\u0026b\\u003e"),
        (b"\xff\xe2\x82", b"\\ufffd\\ufffd\\ufffd"),
        ("é€😀".encode(), "é€😀".encode()),
        ("\u2028\u2029".encode(), b"\\u2028\\u2029"),
        (b"\xed\xa0\x80", b"\\ufffd\\ufffd\\ufffd"),
    ],
)
def test_escape_table(raw: bytes, escaped: bytes) -> None:
    """moby's escaper: short forms for \\n \\r, \\u00XX for other controls, HTML-safe, \\ufffd per bad byte."""
    assert escape(raw) == escaped
    assert go_escape(raw) == escaped


@settings(max_examples=400)
@given(st.binary(max_size=64) | st.text(max_size=32).map(lambda s: s.encode("utf-8", "surrogatepass")))
def test_escape_matches_reference(raw: bytes) -> None:
    """The fast escaper equals a byte-by-byte port of moby's for any bytes."""
    assert escape(raw) == go_escape(raw)


def test_exact_line() -> None:
    """Key order log, stream, time; RFC3339Nano; trailing newline."""
    assert encode_batch(1, T, [b"hi"], True) == (
        b'{"log":"hi\\n","stream":"stdout","time":"2019-01-01T11:11:11.111111111Z"}\n'
    )
    assert encode_batch(2, T, [b"part"], False) == (
        b'{"log":"part","stream":"stderr","time":"2019-01-01T11:11:11.111111111Z"}\n'
    )


def test_attrs_between_stream_and_time() -> None:
    attrs = encode_attrs({"tag": "web", "a<b": "1"})
    line = encode_batch(1, T, [b"x"], True, attrs)
    assert line == (
        b'{"log":"x\\n","stream":"stdout","attrs":{"a\\u003cb":"1","tag":"web"},'
        b'"time":"2019-01-01T11:11:11.111111111Z"}\n'
    )
    assert decode_line(line).attrs == {"a<b": "1", "tag": "web"}


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (T, "2019-01-01T11:11:11.111111111Z"),
        (1546341071_100000000, "2019-01-01T11:11:11.1Z"),
        (1546341071_000000000, "2019-01-01T11:11:11Z"),
        (0, "1970-01-01T00:00:00Z"),
    ],
)
def test_time_format(ns: int, text: str) -> None:
    """Go's RFC3339Nano trims trailing zeros; parse is the inverse."""
    assert format_time(ns) == text
    assert parse_time(text) == ns


def test_time_fixed_and_offsets() -> None:
    assert format_time_fixed(1546341071_100000000) == "2019-01-01T11:11:11.100000000Z"
    assert parse_time("2019-01-01T12:11:11.5+01:00") == 1546341071_500000000
    with pytest.raises(LogFormatError):
        parse_time("yesterday")


def test_decode_foreign_key_order() -> None:
    """Lines written by someone else (other key order, spaces) still decode."""
    raw = b'{"time": "2019-01-01T11:11:11Z", "stream": "stderr", "log": "x\\u0041\\n"}'
    assert decode_line(raw) == LogEntry(1546341071_000000000, 2, b"xA\n", None)


def test_decode_block_skips_garbage() -> None:
    data = encode_batch(1, T, [b"a"], True) + b"not json\n" + encode_batch(1, T + 1, [b"b"], True)
    entries, bad = decode_block(data)
    assert [e.line for e in entries] == [b"a\n", b"b\n"]
    assert bad == 1


def test_runs_group_batches() -> None:
    """A batch written together decodes as one run."""
    data = encode_batch(1, T, [b"1", b"2", b"3"], True) + encode_batch(2, T + 5, [b"4", b"5"], True)
    runs, bad = decode_runs(data)
    assert bad == 0
    assert [(r.time_ns, r.stream, r.stored()) for r in runs] == [
        (T, 1, [b"1\n", b"2\n", b"3\n"]),
        (T + 5, 2, [b"4\n", b"5\n"]),
    ]


line_st = st.binary(max_size=40).filter(lambda b: b"\n" not in b)


@settings(max_examples=300)
@given(
    batches=st.lists(
        st.tuples(st.sampled_from([1, 2]), st.integers(0, 3), st.lists(line_st, min_size=1, max_size=5), st.booleans()),
        max_size=6,
    )
)
def test_round_trip(batches: list[tuple[int, int, list[bytes], bool]]) -> None:
    """decode(encode(x)) gives the entries back (invalid UTF-8 reads back as U+FFFD, as in Docker)."""
    data = b""
    expected = []
    for stream, dt, lines, complete in batches:
        if not complete:
            lines = lines[:1]
        data += encode_batch(stream, T + dt, lines, complete)
        for line in lines:
            want = json.loads(b'"' + go_escape(line) + b'"').encode("utf-8", "surrogatepass")
            expected.append(LogEntry(T + dt, stream, want + (b"\n" if complete else b""), None))
    entries, bad = decode_block(data)
    assert bad == 0
    assert entries == expected
    for e in entries:
        assert decode_line(encode_entry(e)) == e


def test_valid_utf8_round_trips_exactly() -> None:
    line = "naïve <tag> & \"quotes\" \\ \t end".encode()
    assert decode_line(encode_batch(1, T, [line], True)).line == line + b"\n"
