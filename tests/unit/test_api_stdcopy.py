"""stdcopy framing: exact header bytes and chunking-independent decoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.api.stdcopy import FrameDecoder, StdStream, frame
from supervisor.errors import InvalidArgument


def test_frame_header_layout():
    """[stream, 0, 0, 0, uint32 BE size] then the payload."""
    assert frame(1, b"hi") == b"\x01\x00\x00\x00\x00\x00\x00\x02hi"
    assert frame(StdStream.STDERR, b"") == b"\x02\x00\x00\x00\x00\x00\x00\x00"
    assert frame(3, b"x" * 258)[:8] == b"\x03\x00\x00\x00\x00\x00\x01\x02"


@pytest.mark.parametrize("stream", [-1, 4, 255])
def test_frame_rejects_unknown_stream(stream):
    with pytest.raises(ValueError, match="invalid stdcopy stream"):
        frame(stream, b"x")


def test_decoder_rejects_unknown_header_like_docker():
    with pytest.raises(InvalidArgument, match="Unrecognized input header: 7"):
        FrameDecoder().feed(b"\x07\x00\x00\x00\x00\x00\x00\x01x")


def test_decoder_keeps_partial_frame():
    decoder = FrameDecoder()
    assert decoder.feed(frame(1, b"abc")[:5]) == []
    assert decoder.pending == 5
    assert decoder.feed(frame(1, b"abc")[5:] + frame(2, b"d")) == [(1, b"abc"), (2, b"d")]
    assert decoder.pending == 0


frames_strategy = st.lists(st.tuples(st.integers(0, 3), st.binary(max_size=300)), max_size=20)


@given(frames=frames_strategy, data=st.data())
def test_decode_any_chunking(frames, data):
    """decode(any chunking of encoded frames) == frames."""
    wire = b"".join(frame(s, p) for s, p in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=30)))
    decoder = FrameDecoder()
    out = []
    prev = 0
    for cut in [*cuts, len(wire)]:
        out += decoder.feed(wire[prev:cut])
        prev = cut
    assert out == frames
    assert decoder.pending == 0
