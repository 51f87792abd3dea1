"""A minimal DNS wire codec for the embedded resolver. Pure.

Only what a resolver answering container names needs: read the header and
the first question of a query, and build a response carrying A records (or
none, with NOERROR / NXDOMAIN / REFUSED / SERVFAIL). Everything else is
forwarded as raw bytes by the shell, so no other record type is decoded.
Name compression is never emitted except the one pointer from each answer to
the question name (offset 12), which every resolver understands.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Sequence
from dataclasses import dataclass

TYPE_A = 1
TYPE_AAAA = 28
TYPE_ANY = 255
CLASS_IN = 1

NOERROR = 0
SERVFAIL = 2
NXDOMAIN = 3
REFUSED = 5

_HEADER = struct.Struct("!HHHHHH")


class DnsError(ValueError):
    """The packet is not a DNS query we can read."""


@dataclass(frozen=True, slots=True)
class Query:
    """The parts of a query a response needs."""

    id: int
    flags: int
    name: str  # lowercased, without the trailing dot
    qtype: int
    qclass: int
    question: bytes  # the raw question section (name + type + class)

    @property
    def recursion_desired(self) -> bool:
        return bool(self.flags & 0x0100)


def parse_query(packet: bytes) -> Query:
    """Read the header and the first question.

    Raises:
        DnsError: too short, a response rather than a query, no question,
            or a malformed name.
    """
    if len(packet) < _HEADER.size:
        raise DnsError("short packet")
    qid, flags, qdcount, _an, _ns, _ar = _HEADER.unpack_from(packet)
    if flags & 0x8000:
        raise DnsError("not a query")
    if (flags >> 11) & 0xF != 0:
        raise DnsError("not a standard query")
    if qdcount < 1:
        raise DnsError("no question")
    labels: list[str] = []
    pos = _HEADER.size
    while True:
        if pos >= len(packet):
            raise DnsError("truncated name")
        length = packet[pos]
        if length & 0xC0:
            raise DnsError("compressed name in question")
        pos += 1
        if length == 0:
            break
        if pos + length > len(packet):
            raise DnsError("truncated label")
        labels.append(packet[pos : pos + length].decode("ascii", "replace").lower())
        pos += length
        if len(labels) > 127:
            raise DnsError("name too long")
    if pos + 4 > len(packet):
        raise DnsError("truncated question")
    qtype, qclass = struct.unpack_from("!HH", packet, pos)
    question = packet[_HEADER.size : pos + 4]
    return Query(qid, flags, ".".join(labels), qtype, qclass, question)


def encode_name(name: str) -> bytes:
    """A name in wire form (labels + zero byte)."""
    out = bytearray()
    for label in name.strip(".").split("."):
        if label:
            raw = label.encode("ascii")
            if len(raw) > 63:
                raise DnsError("label too long")
            out += bytes([len(raw)]) + raw
    return bytes(out) + b"\x00"


def build_query(qid: int, name: str, qtype: int = TYPE_A) -> bytes:
    """A standard recursive query (for tests and health probes)."""
    return _HEADER.pack(qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + struct.pack("!HH", qtype, CLASS_IN)


def build_response(
    query: Query, addresses: Sequence[str] = (), *, rcode: int = NOERROR, ttl: int = 600
) -> bytes:
    """A response to ``query`` with one A record per IPv4 address (authoritative, RA set)."""
    flags = 0x8000 | 0x0400 | 0x0080 | (query.flags & 0x0100) | (rcode & 0xF)
    answers = bytearray()
    count = 0
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if ip.version != 4:
            continue
        answers += struct.pack("!HHHIH", 0xC00C, TYPE_A, CLASS_IN, ttl, 4) + ip.packed
        count += 1
    header = _HEADER.pack(query.id, flags, 1, count, 0, 0)
    return header + query.question + bytes(answers)


def response_rcode(packet: bytes) -> int:
    """The rcode of a response (for tests)."""
    flags: int = _HEADER.unpack_from(packet)[1]
    return flags & 0xF


def response_addresses(packet: bytes) -> list[str]:
    """The A records of a response this module built (tests and the bench)."""
    _id, _flags, qd, an, _ns, _ar = _HEADER.unpack_from(packet)
    pos = _HEADER.size
    for _ in range(qd):
        while packet[pos] != 0:
            if packet[pos] & 0xC0:
                pos += 1
                break
            pos += packet[pos] + 1
        pos += 1 + 4
    out = []
    for _ in range(an):
        if packet[pos] & 0xC0:
            pos += 2
        else:
            while packet[pos] != 0:
                pos += packet[pos] + 1
            pos += 1
        rtype, _cls, _ttl, rdlen = struct.unpack_from("!HHIH", packet, pos)
        pos += 10
        if rtype == TYPE_A and rdlen == 4:
            out.append(str(ipaddress.IPv4Address(packet[pos : pos + 4])))
        pos += rdlen
    return out
