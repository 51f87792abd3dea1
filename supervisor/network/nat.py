"""Outbound NAT for containers: an opt-in (``berth daemon --nat``), never a default.

Without it berth changes no sysctl and no firewall rule: containers reach the
host and each other on one network, nothing beyond. With ``--nat`` the
daemon, while it runs:

- sets ``net.ipv4.ip_forward=1`` (and puts back the value it found when it
  stops), and
- owns one nftables table, ``ip berth_<tag>``, holding
  - a masquerade rule per non-internal network for traffic leaving through
    any other interface than its own bridge, and
  - a forward chain that keeps berth's networks apart now that the host
    routes: traffic between two berth bridges is dropped, and an
    ``--internal`` network's bridge forwards nothing at all.

The table is replaced atomically when networks come and go, and deleted at
shutdown. Rendering is pure (``render_ruleset``); ``NatRules`` applies it
with the ``nft`` command (Debian's nftables package).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from supervisor._logging import get_logger
from supervisor.errors import RuntimeFailed

log = get_logger(__name__)

IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


@dataclass(frozen=True, slots=True)
class NatNetwork:
    """What the ruleset needs of one bridge network."""

    bridge: str
    subnet: str
    internal: bool = False


def table_name(tag: str) -> str:
    """The daemon's own table (one per data root, so two daemons never clash)."""
    return f"berth_{tag}"


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def render_ruleset(tag: str, networks: Sequence[NatNetwork]) -> str:
    """The nft script that (re)creates the daemon's table for ``networks``."""
    table = table_name(tag)
    bridges = sorted({n.bridge for n in networks if n.bridge})
    internal = sorted({n.bridge for n in networks if n.bridge and n.internal})
    lines = [
        f"table ip {table}",
        f"delete table ip {table}",
        f"table ip {table} {{",
        "  chain postrouting {",
        "    type nat hook postrouting priority srcnat; policy accept;",
    ]
    for n in sorted(networks, key=lambda n: n.bridge):
        if n.bridge and n.subnet and not n.internal:
            lines.append(f'    ip saddr {n.subnet} oifname != "{n.bridge}" masquerade')
    lines += [
        "  }",
        "  chain forward {",
        "    type filter hook forward priority filter; policy accept;",
    ]
    if internal:
        lines.append(f"    iifname {{ {_quoted(internal)} }} drop")
        lines.append(f"    oifname {{ {_quoted(internal)} }} drop")
    if len(bridges) > 1:
        lines.append(f"    iifname {{ {_quoted(bridges)} }} oifname {{ {_quoted(bridges)} }} drop")
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


class NatRules:
    """Applies and removes the daemon's NAT table and the ip_forward sysctl (blocking calls)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self._nft = shutil.which("nft")
        self._forward_before: str | None = None

    def _run(self, script: str) -> None:
        if self._nft is None:
            msg = "--nat needs the nft command (Debian's nftables package)"
            raise RuntimeFailed(msg)
        result = subprocess.run(
            [self._nft, "-f", "-"], input=script, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            msg = f"nft failed: {result.stderr.strip() or result.stdout.strip()}"
            raise RuntimeFailed(msg)

    def apply(self, networks: Sequence[NatNetwork]) -> None:
        """Install (or replace) the table and turn forwarding on."""
        self._run(render_ruleset(self.tag, networks))
        if self._forward_before is None:
            self._forward_before = IP_FORWARD.read_text().strip()
            if self._forward_before != "1":
                IP_FORWARD.write_text("1\n")
                log.info("ip forwarding enabled for --nat", was=self._forward_before)

    def remove(self) -> None:
        """Delete the table and put ip_forward back as it was."""
        table = table_name(self.tag)
        try:
            self._run(f"table ip {table}\ndelete table ip {table}\n")
        except RuntimeFailed as exc:
            log.warning("nat table not removed", table=table, error=exc.message)
        if self._forward_before is not None:
            IP_FORWARD.write_text(self._forward_before + "\n")
            self._forward_before = None
