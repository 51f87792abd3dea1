"""Docker's stdcopy framing: how stdout and stderr share one byte stream.

A non-TTY attach, exec or logs stream carries frames of an 8-byte header
``[stream, 0, 0, 0, size as uint32 big-endian]`` followed by ``size`` bytes of
payload (moby ``pkg/stdcopy``). Stream 0 is stdin (printed to stdout by the
CLI), 1 stdout, 2 stderr, 3 "systemerr" (an in-band daemon error); anything
else makes the CLI stop with "Unrecognized input header".

Pure: no I/O. The server encodes with :func:`frame`; the berth CLI and the tests
decode with :class:`FrameDecoder`, which accepts the bytes in any chunking.
"""

from __future__ import annotations

import enum
import struct

from supervisor.errors import InvalidArgument

HEADER_SIZE = 8
MAX_PAYLOAD = 0xFFFFFFFF

_HEADER = struct.Struct(">BxxxI")


class StdStream(enum.IntEnum):
    """The stream byte of a frame header."""

    STDIN = 0
    STDOUT = 1
    STDERR = 2
    SYSTEMERR = 3


def frame(stream: int, payload: bytes) -> bytes:
    """Return one frame: the 8-byte header followed by ``payload``.

    Raises:
        ValueError: stream is not 0-3 or the payload does not fit a uint32 size.
    """
    if not 0 <= stream <= 3:
        msg = f"invalid stdcopy stream {stream}"
        raise ValueError(msg)
    if len(payload) > MAX_PAYLOAD:
        msg = f"stdcopy payload of {len(payload)} bytes is too large"
        raise ValueError(msg)
    return _HEADER.pack(stream, len(payload)) + payload


class FrameDecoder:
    """Incremental decoder: feed bytes as they arrive, get whole frames out.

    Frames are returned exactly as sent, zero-length ones included (docker-py
    skips those; callers that print may do the same).
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Add ``data`` and return every frame that is now complete.

        Raises:
            InvalidArgument: a header names a stream other than 0-3 (Docker's
                "Unrecognized input header: N"); the decoder is unusable after.
        """
        buf = self._buf
        buf += data
        frames: list[tuple[int, bytes]] = []
        pos = 0
        end = len(buf)
        while end - pos >= HEADER_SIZE:
            stream, size = _HEADER.unpack_from(buf, pos)
            if stream > 3:
                msg = f"Unrecognized input header: {stream}"
                raise InvalidArgument(msg)
            stop = pos + HEADER_SIZE + size
            if stop > end:
                break
            frames.append((stream, bytes(buf[pos + HEADER_SIZE : stop])))
            pos = stop
        if pos:
            del buf[:pos]
        return frames

    @property
    def pending(self) -> int:
        """How many bytes of an incomplete frame are buffered (0 at a frame boundary)."""
        return len(self._buf)
