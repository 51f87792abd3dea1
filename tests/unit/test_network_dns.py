"""The DNS codec of the embedded resolver: queries in, A records out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.network import dns


def test_query_round_trip() -> None:
    """A query we build parses back to the same name and type, lowercased."""
    q = dns.parse_query(dns.build_query(0x1234, "Web.Example", dns.TYPE_A))
    assert (q.id, q.name, q.qtype, q.qclass, q.recursion_desired) == (0x1234, "web.example", 1, 1, True)


def test_response_carries_addresses() -> None:
    q = dns.parse_query(dns.build_query(9, "db"))
    reply = dns.build_response(q, ["172.18.0.2", "172.18.0.3", "fd00::1"])
    assert reply[:2] == b"\x00\x09"
    assert dns.response_rcode(reply) == dns.NOERROR
    assert dns.response_addresses(reply) == ["172.18.0.2", "172.18.0.3"]


@pytest.mark.parametrize("rcode", [dns.NXDOMAIN, dns.REFUSED, dns.SERVFAIL])
def test_error_responses(rcode: int) -> None:
    reply = dns.build_response(dns.parse_query(dns.build_query(1, "x")), rcode=rcode)
    assert dns.response_rcode(reply) == rcode
    assert dns.response_addresses(reply) == []


@pytest.mark.parametrize(
    "packet",
    [
        b"",
        b"\x00" * 11,
        dns.build_response(dns.parse_query(dns.build_query(1, "x"))),  # a response, not a query
        b"\x00\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00",  # no question
        b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05ab",  # truncated label
        b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01",  # pointer
    ],
)
def test_malformed_queries(packet: bytes) -> None:
    with pytest.raises(dns.DnsError):
        dns.parse_query(packet)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_parser_only_raises_dns_error(packet: bytes) -> None:
    """Arbitrary bytes never crash the parser with anything but DnsError."""
    try:
        dns.parse_query(packet)
    except dns.DnsError:
        pass
