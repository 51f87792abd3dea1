"""A blocking rtnetlink socket for the start path: one plain socket carries the requests.

pyroute2 0.9's ``IPRoute`` runs every call through an asyncio core of its
own: about 0.7 ms to open one and 0.4 to 0.7 ms per request, so wiring a
container (about ten requests) cost 10 to 15 ms, most of a start's budget.
The kernel itself answers each request in tens of microseconds. This module
sends requests on a plain ``AF_NETLINK`` socket and reads the kernel's
acknowledgement for each. The flat requests of a start and an exit are
packed by ``rtmsg``; the nested one (a veth pair with its peer) is encoded
by pyroute2's message classes.

Blocking, like the rest of ``netlink``: call it from a worker thread. A socket
belongs to the network namespace of the thread that opened it.
"""

from __future__ import annotations

import os
import socket
import struct
from typing import Any

from pyroute2.netlink import (
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_EXCL,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
)
from pyroute2.netlink.rtnl import RTM_NEWLINK
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

from supervisor.network import rtmsg

IFF_UP = 0x1
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, seq, pid
_ERRNO = struct.Struct("=i")
_IFI_INDEX = struct.Struct("=i")  # after ifinfomsg's family, pad and type


class RtnlError(OSError):
    """The kernel refused a request (``errno`` is its error)."""


class RtnlSocket:
    """One request at a time, each acknowledged (NLM_F_ACK) before the next is sent."""

    def __init__(self) -> None:
        self._sock = socket.socket(
            socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE
        )
        self._sock.bind((0, 0))
        self._seq = 0

    def __enter__(self) -> RtnlSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    def request(self, msg: Any, msg_type: int, flags: int = 0) -> list[bytes]:
        """Send pyroute2 message ``msg`` and return the raw replies before the acknowledgement.

        Raises:
            RtnlError: the kernel answered with an error.
        """
        seq = self._next_seq()
        msg["header"]["type"] = msg_type
        msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_ACK | flags
        msg["header"]["sequence_number"] = seq
        msg["header"]["pid"] = 0
        msg.encode()
        return self._exchange(msg.data, seq)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _exchange(self, data: bytes, seq: int) -> list[bytes]:
        """Send one encoded request; collect the replies until its acknowledgement."""
        self._sock.send(data)
        replies: list[bytes] = []
        while True:
            data = self._sock.recv(65536)
            offset = 0
            while offset + _HEADER.size <= len(data):
                length, kind, _flags, reply_seq, _pid = _HEADER.unpack_from(data, offset)
                if length < _HEADER.size:
                    return replies
                if reply_seq == seq:
                    if kind == NLMSG_ERROR:
                        (code,) = _ERRNO.unpack_from(data, offset + _HEADER.size)
                        if code:
                            raise RtnlError(-code, os.strerror(-code))
                        return replies
                    if kind == NLMSG_DONE:
                        return replies
                    replies.append(data[offset : offset + length])
                offset += (length + 3) & ~3

    def link_index(self, name: str) -> int:
        """The index of link ``name`` in this socket's namespace.

        Raises:
            RtnlError: ENODEV if there is no such link.
        """
        seq = self._next_seq()
        replies = self._exchange(rtmsg.get_link(seq, name), seq)
        if not replies:
            raise RtnlError(19, os.strerror(19))
        # Only ifinfomsg.ifi_index is needed: read it in place (decoding the whole
        # reply, with its dozens of attributes, costs pyroute2 most of a millisecond).
        (index,) = _IFI_INDEX.unpack_from(replies[0], _HEADER.size + 4)
        return int(index)

    def add_veth(
        self, host_ifname: str, *, master: int | None, mtu: int, peer_ifname: str, peer_netns_fd: int,
        peer_mac: str | None,
    ) -> None:
        """A veth pair in one request, the peer in another namespace (pyroute2 encodes the nesting).

        With a ``master`` this end is up on that bridge; without, it stays down
        and unplugged (a spare, see ``set_link``).
        """
        peer_attrs: list[tuple[str, Any]] = [
            ("IFLA_IFNAME", peer_ifname), ("IFLA_NET_NS_FD", peer_netns_fd), ("IFLA_MTU", mtu),
        ]
        if peer_mac is not None:
            peer_attrs.append(("IFLA_ADDRESS", peer_mac))
        peer = {"attrs": peer_attrs}
        msg = ifinfmsg()
        if master is not None:
            msg["flags"] = IFF_UP
            msg["change"] = IFF_UP
        msg["attrs"] = [
            ("IFLA_IFNAME", host_ifname), ("IFLA_MTU", mtu),
            *([("IFLA_MASTER", master)] if master is not None else []),
            ("IFLA_LINKINFO", {"attrs": [
                ("IFLA_INFO_KIND", "veth"),
                ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", peer)]}),
            ]}),
        ]
        self.request(msg, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL)

    def set_up(self, index: int) -> None:
        seq = self._next_seq()
        self._exchange(rtmsg.set_up(seq, index), seq)

    def set_link(
        self, index: int, *, mtu: int, up: bool, master: int | None = None, mac: str | None = None
    ) -> None:
        """Change link ``index`` in one request: its MTU, bridge, MAC (while it is down) and state."""
        seq = self._next_seq()
        self._exchange(rtmsg.set_link(seq, index, mtu=mtu, up=up, master=master, mac=mac), seq)

    def add_address(self, index: int, address: str, prefix_len: int) -> None:
        seq = self._next_seq()
        self._exchange(rtmsg.add_address(seq, index, address, prefix_len), seq)

    def add_default_route(self, gateway: str) -> None:
        seq = self._next_seq()
        self._exchange(rtmsg.add_default_route(seq, gateway), seq)

    def delete_link(self, name: str) -> None:
        """Delete link ``name`` (by name, one request).

        Raises:
            RtnlError: ENODEV if there is no such link.
        """
        seq = self._next_seq()
        self._exchange(rtmsg.delete_link(seq, name), seq)
