"""``/proc/<pid>/net/dev``: the container's own interfaces, read through its init's network namespace.

procfs shows ``net/dev`` for the network namespace of the process named in
the path, so reading it through the container's init pid gives what Docker
gets over netlink inside the sandbox. Docker reports the sandbox's
interfaces, never ``lo``; so do we. The format (net/core/net-procfs.c): two
header lines, then ``name: rx_bytes rx_packets rx_errs rx_drop rx_fifo
rx_frame rx_compressed rx_multicast tx_bytes tx_packets tx_errs tx_drop
tx_fifo tx_colls tx_carrier tx_compressed``.
"""

from __future__ import annotations

from supervisor.stats import fields
from supervisor.stats.model import NetCounters

SKIP = frozenset({"lo"})


def parse_net_dev(text: str) -> dict[str, NetCounters]:
    """``net/dev`` → interface name → counters (``lo`` left out).

    Raises:
        InvalidArgument: a data line without a ``:`` or with fewer than 16 numbers.
    """
    out: dict[str, NetCounters] = {}
    for line in text.splitlines():
        if "|" in line or not line.strip():
            continue  # the two header lines
        name, sep, rest = line.partition(":")
        name = name.strip()
        parts = rest.split()
        if not sep or not name or len(parts) < 16:
            msg = "net/dev"
            raise fields.bad(msg, line)
        v = [fields.uint("net/dev", p) for p in parts[:16]]
        if name in SKIP:
            continue
        out[name] = NetCounters(
            # rx/tx_errors stay 0: libnetwork's Interface.Statistics never fills them.
            rx_bytes=v[0], rx_packets=v[1], rx_dropped=v[3],
            tx_bytes=v[8], tx_packets=v[9], tx_dropped=v[11],
        )
    return out
