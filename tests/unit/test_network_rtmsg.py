"""rtmsg's hand-packed requests are byte for byte what pyroute2 encodes for the same message."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST
from pyroute2.netlink.rtnl import RTM_DELLINK, RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg as pyroute2_rtmsg

from supervisor.network import rtmsg

seqs = st.integers(min_value=1, max_value=2**32 - 1)
indexes = st.integers(min_value=1, max_value=2**31 - 1)
mtus = st.integers(min_value=68, max_value=65535)
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=15)
ipv4s = st.ip_addresses(v=4).map(str)
macs = st.binary(min_size=6, max_size=6).map(lambda b: ":".join(f"{x:02x}" for x in b))


def _encoded(msg: Any, msg_type: int, seq: int, flags: int = 0) -> bytes:
    msg["header"]["type"] = msg_type
    msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_ACK | flags
    msg["header"]["sequence_number"] = seq
    msg["header"]["pid"] = 0
    msg.encode()
    return bytes(msg.data)


@given(seqs, names)
def test_get_link(seq: int, name: str) -> None:
    msg = ifinfmsg()
    msg["attrs"] = [("IFLA_IFNAME", name)]
    assert rtmsg.get_link(seq, name) == _encoded(msg, RTM_GETLINK, seq)


@given(seqs, names)
def test_delete_link(seq: int, name: str) -> None:
    msg = ifinfmsg()
    msg["attrs"] = [("IFLA_IFNAME", name)]
    assert rtmsg.delete_link(seq, name) == _encoded(msg, RTM_DELLINK, seq)


@given(seqs, indexes)
def test_set_up(seq: int, index: int) -> None:
    msg = ifinfmsg()
    msg["index"] = index
    msg["flags"] = 1
    msg["change"] = 1
    assert rtmsg.set_up(seq, index) == _encoded(msg, RTM_NEWLINK, seq)


@given(seqs, indexes, mtus, st.booleans(), st.none() | indexes, st.none() | macs)
def test_set_link(seq: int, index: int, mtu: int, up: bool, master: int | None, mac: str | None) -> None:
    msg = ifinfmsg()
    msg["index"] = index
    if up:
        msg["flags"] = 1
        msg["change"] = 1
    attrs: list[tuple[str, Any]] = [("IFLA_MTU", mtu)]
    if master is not None:
        attrs.append(("IFLA_MASTER", master))
    if mac is not None:
        attrs.append(("IFLA_ADDRESS", mac))
    msg["attrs"] = attrs
    packed = rtmsg.set_link(seq, index, mtu=mtu, up=up, master=master, mac=mac)
    assert packed == _encoded(msg, RTM_NEWLINK, seq)


@given(seqs, indexes, ipv4s, st.integers(min_value=0, max_value=32))
def test_add_address(seq: int, index: int, address: str, prefix_len: int) -> None:
    msg = ifaddrmsg()
    msg["family"] = 2
    msg["prefixlen"] = prefix_len
    msg["index"] = index
    msg["attrs"] = [("IFA_LOCAL", address), ("IFA_ADDRESS", address)]
    packed = rtmsg.add_address(seq, index, address, prefix_len)
    assert packed == _encoded(msg, RTM_NEWADDR, seq, NLM_F_CREATE | NLM_F_EXCL)


@given(seqs, ipv4s)
def test_add_default_route(seq: int, gateway: str) -> None:
    msg = pyroute2_rtmsg()
    msg["family"] = 2
    msg["table"] = 254
    msg["proto"] = 3
    msg["scope"] = 0
    msg["type"] = 1
    msg["attrs"] = [("RTA_TABLE", 254), ("RTA_GATEWAY", gateway)]
    packed = rtmsg.add_default_route(seq, gateway)
    assert packed == _encoded(msg, RTM_NEWROUTE, seq, NLM_F_CREATE | NLM_F_EXCL)


def test_lengths_and_padding() -> None:
    # A 3-character name plus NUL is 4 bytes: an 8-byte attribute, no padding; 4 characters need 3 pad bytes.
    assert len(rtmsg.attr_name(3, "abc")) == 8
    assert len(rtmsg.attr_name(3, "abcd")) == 12
    packed = rtmsg.get_link(7, "eth0")
    assert int.from_bytes(packed[:4], "little") == len(packed)


@pytest.mark.parametrize("bad", ["02:42:0a", "zz:42:0a:00:00:01", "02:42:0a:00:00:01:02"])
def test_a_bad_mac_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="MAC"):
        rtmsg.attr_mac(1, bad)


def test_a_bad_address_is_refused() -> None:
    with pytest.raises(OSError):
        rtmsg.attr_ipv4(1, "10.0.0.256")
    assert ipaddress.IPv4Address("10.0.0.1").packed == rtmsg.attr_ipv4(1, "10.0.0.1")[4:]
