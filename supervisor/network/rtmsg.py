"""Flat rtnetlink requests encoded with ``struct``: the messages a container start and exit send.

pyroute2 encodes any message, nested or not, through a generic attribute
machinery that costs about 70 µs of Python per message; a start sends about
eight, while another worker thread writes the bundle and wants the GIL. The
few messages on that path have flat attributes of fixed types, laid out by
the kernel's stable rtnetlink ABI (linux/rtnetlink.h, linux/if_link.h,
linux/if_addr.h), so they are packed here directly (under 1 µs each).
``tests/unit/test_network_rtmsg.py`` checks every one byte for byte against
pyroute2's encoding of the same message; nested messages (a veth pair) stay
with pyroute2 (``rtnl.RtnlSocket.add_veth``).

Pure: bytes in, bytes out.
"""

from __future__ import annotations

import socket
import struct

# Message types and flags (linux/netlink.h, linux/rtnetlink.h).
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_GETLINK = 18
RTM_NEWADDR = 20
RTM_NEWROUTE = 24
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400

# Attribute types.
IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_MASTER = 10
IFA_ADDRESS = 1
IFA_LOCAL = 2
RTA_GATEWAY = 5
RTA_TABLE = 15

IFF_UP = 0x1
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE = 0
RTN_UNICAST = 1

_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, seq, pid
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, pad, type, index, flags, change
_IFADDR = struct.Struct("=BBBBI")  # ifaddrmsg: family, prefixlen, flags, scope, index
_RT = struct.Struct("=BBBBBBBBI")  # rtmsg: family, dst/src len, tos, table, protocol, scope, type, flags
_U32 = struct.Struct("=I")
_ATTR = struct.Struct("=HH")  # rtattr: length, type


def attr(kind: int, payload: bytes) -> bytes:
    """One rtattr, padded to four bytes."""
    length = _ATTR.size + len(payload)
    return _ATTR.pack(length, kind) + payload + b"\0" * (-length % 4)


def attr_u32(kind: int, value: int) -> bytes:
    return attr(kind, _U32.pack(value))


def attr_name(kind: int, name: str) -> bytes:
    """A NUL-terminated string attribute (an interface name)."""
    return attr(kind, name.encode() + b"\0")


def attr_mac(kind: int, mac: str) -> bytes:
    """A link-layer address ``aa:bb:cc:dd:ee:ff``.

    Raises:
        ValueError: not six hex bytes.
    """
    msg = f"not a MAC address: {mac!r}"
    try:
        raw = bytes.fromhex(mac.replace(":", ""))
    except ValueError:
        raise ValueError(msg) from None
    if len(raw) != 6:
        raise ValueError(msg)
    return attr(kind, raw)


def attr_ipv4(kind: int, address: str) -> bytes:
    """An IPv4 address (``OSError`` if ``address`` is not one)."""
    return attr(kind, socket.inet_aton(address))


def message(msg_type: int, flags: int, seq: int, body: bytes) -> bytes:
    """The whole request: header (always NLM_F_REQUEST | NLM_F_ACK, plus ``flags``) and body."""
    return _HEADER.pack(_HEADER.size + len(body), msg_type, NLM_F_REQUEST | NLM_F_ACK | flags, seq, 0) + body


def get_link(seq: int, name: str) -> bytes:
    """RTM_GETLINK for the link called ``name``."""
    return message(RTM_GETLINK, 0, seq, _IFINFO.pack(0, 0, 0, 0, 0) + attr_name(IFLA_IFNAME, name))


def set_link(
    seq: int, index: int, *, mtu: int, up: bool, master: int | None = None, mac: str | None = None
) -> bytes:
    """RTM_NEWLINK changing link ``index``: MTU, bridge, MAC, and up (``change`` only names IFF_UP when set)."""
    flags = IFF_UP if up else 0
    body = _IFINFO.pack(0, 0, index, flags, flags) + attr_u32(IFLA_MTU, mtu)
    if master is not None:
        body += attr_u32(IFLA_MASTER, master)
    if mac is not None:
        body += attr_mac(IFLA_ADDRESS, mac)
    return message(RTM_NEWLINK, 0, seq, body)


def set_up(seq: int, index: int) -> bytes:
    return message(RTM_NEWLINK, 0, seq, _IFINFO.pack(0, 0, index, IFF_UP, IFF_UP))


def delete_link(seq: int, name: str) -> bytes:
    return message(RTM_DELLINK, 0, seq, _IFINFO.pack(0, 0, 0, 0, 0) + attr_name(IFLA_IFNAME, name))


def add_address(seq: int, index: int, address: str, prefix_len: int) -> bytes:
    """RTM_NEWADDR: ``address/prefix_len`` on link ``index`` (create, exclusive)."""
    body = _IFADDR.pack(socket.AF_INET, prefix_len, 0, 0, index)
    body += attr_ipv4(IFA_LOCAL, address) + attr_ipv4(IFA_ADDRESS, address)
    return message(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, seq, body)


def add_default_route(seq: int, gateway: str) -> bytes:
    """RTM_NEWROUTE: the default route via ``gateway`` in the main table (create, exclusive)."""
    body = _RT.pack(socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)
    body += attr_u32(RTA_TABLE, RT_TABLE_MAIN) + attr_ipv4(RTA_GATEWAY, gateway)
    return message(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, seq, body)
