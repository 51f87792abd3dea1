"""The three files Docker generates for every container: hosts, hostname, resolv.conf.

Pure renderers: the engine writes the results under the container's directory
and the spec builder bind-mounts them at /etc/hosts, /etc/hostname and
/etc/resolv.conf (Docker keeps them outside the rootfs for the same reason:
they change while the container runs, and an image must not ship them).

Rules copied from libnetwork (``etchosts``, ``resolvconf``, Docker ≤24 "legacy"
resolv.conf handling, which is what a container on the default bridge sees):

* /etc/hosts: the fixed localhost/IPv6 block, then ``--add-host`` entries,
  then the container's own address(es), all tab-separated.
* /etc/resolv.conf: the host's file minus loopback nameservers (127.0.0.0/8,
  ::1 — unreachable from a new network namespace); if no nameserver is left,
  Google's public resolvers. ``--dns``, ``--dns-search`` and ``--dns-option``
  each replace the corresponding part (``--dns-search .`` means "no search").
* ``--network host``: the host's own /etc/hosts (then ``--add-host``
  entries) and resolv.conf, nameservers unfiltered: the container shares
  the host's network, so every one of them works there.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from supervisor.errors import InvalidArgument

DEFAULT_HOSTS_V4 = (("127.0.0.1", "localhost"),)
DEFAULT_HOSTS_V6 = (
    ("::1", "localhost ip6-localhost ip6-loopback"),
    ("fe00::0", "ip6-localnet"),
    ("ff00::0", "ip6-mcastprefix"),
    ("ff02::1", "ip6-allnodes"),
    ("ff02::2", "ip6-allrouters"),
)

DEFAULT_NAMESERVERS_V4 = ("8.8.8.8", "8.8.4.4")
DEFAULT_NAMESERVERS_V6 = ("2001:4860:4860::8888", "2001:4860:4860::8844")

HOST_GATEWAY = "host-gateway"


@dataclass(frozen=True, slots=True)
class HostEntry:
    """One /etc/hosts line: an address and the names it answers to."""

    ip: str
    names: tuple[str, ...]


def parse_extra_host(value: str, host_gateway_ip: str = "") -> HostEntry:
    """Parse one ``--add-host`` value: ``name:ip``, ``name=ip``, ``name:[v6]``.

    ``host-gateway`` as the address means ``host_gateway_ip``.

    Raises:
        InvalidArgument: no separator, empty name, or not an IP address.
    """
    sep = "=" if "=" in value else ":"
    name, found, addr = value.partition(sep)
    name = name.strip()
    addr = addr.strip()
    if not found or not name or not addr:
        msg = (
            f'invalid argument {value!r} for "--add-host" flag: bad format for add-host: {value!r}'
        )
        raise InvalidArgument(msg)
    if addr == HOST_GATEWAY:
        if not host_gateway_ip:
            msg = f"unable to derive the IP value for host-gateway in extra host {value!r}"
            raise InvalidArgument(msg)
        addr = host_gateway_ip
    if addr.startswith("[") and addr.endswith("]"):
        addr = addr[1:-1]
    try:
        ipaddress.ip_address(addr)
    except ValueError as exc:
        msg = f"invalid IP address in add-host: {addr!r}"
        raise InvalidArgument(msg) from exc
    return HostEntry(addr, (name,))


def render_hosts(
    own: Sequence[HostEntry] = (),
    extra_hosts: Sequence[str] = (),
    *,
    ipv6: bool = True,
    host_gateway_ip: str = "",
) -> str:
    """Render /etc/hosts.

    Args:
        own: the container's addresses with its hostname (and aliases).
        extra_hosts: ``--add-host`` values (``name:ip``).
        ipv6: keep the IPv6 localhost block (Docker drops it when the
            container has no IPv6).
        host_gateway_ip: what ``host-gateway`` stands for.

    Raises:
        InvalidArgument: a malformed extra host.
    """
    records = list(DEFAULT_HOSTS_V4)
    if ipv6:
        records += DEFAULT_HOSTS_V6
    lines = [f"{ip}\t{names}" for ip, names in records]
    for raw in extra_hosts:
        entry = parse_extra_host(raw, host_gateway_ip)
        lines.append(f"{entry.ip}\t{' '.join(entry.names)}")
    for entry in own:
        if entry.names:
            lines.append(f"{entry.ip}\t{' '.join(entry.names)}")
    return "\n".join(lines) + "\n"


def render_hosts_of_host(host_text: str, extra_hosts: Sequence[str] = (), *, host_gateway_ip: str = "") -> str:
    """/etc/hosts with the host's network (``--network host``): the host's own file, then ``--add-host`` lines.

    libnetwork copies the host's file for such a container (its names are
    the host's names), and appends the extra hosts.

    Raises:
        InvalidArgument: a malformed extra host.
    """
    text = host_text if not host_text or host_text.endswith("\n") else host_text + "\n"
    for raw in extra_hosts:
        entry = parse_extra_host(raw, host_gateway_ip)
        text += f"{entry.ip}\t{' '.join(entry.names)}\n"
    return text


def own_host_entry(
    ip: str, hostname: str, domainname: str = "", aliases: Sequence[str] = ()
) -> HostEntry:
    """The container's own line, as libnetwork writes it (FQDN first when there is a domain)."""
    names: list[str] = []
    if domainname:
        names.append(f"{hostname}.{domainname}")
    names.append(hostname)
    names += [a for a in aliases if a not in names]
    return HostEntry(ip, tuple(names))


def render_hostname(hostname: str) -> str:
    """Render /etc/hostname: the bare hostname and a newline."""
    return hostname + "\n"


@dataclass(frozen=True, slots=True)
class ResolvConf:
    """The parts of a resolv.conf Docker cares about."""

    nameservers: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


def parse_resolv_conf(text: str) -> ResolvConf:
    """Read nameservers, search domains and options (last search/options line wins, as in libc)."""
    nameservers: list[str] = []
    search: tuple[str, ...] = ()
    options: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        fields = line.split()
        if not fields:
            continue
        key, args = fields[0], fields[1:]
        if key == "nameserver" and args:
            nameservers.append(args[0])
        elif key in ("search", "domain"):
            search = tuple(args)
        elif key == "options":
            options = list(args)
    return ResolvConf(tuple(nameservers), search, tuple(options))


def _is_loopback(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _is_v6(addr: str) -> bool:
    return ":" in addr


def _filtered_nameservers(nameservers: Sequence[str], ipv6: bool) -> list[str]:
    kept = [ns for ns in nameservers if not _is_loopback(ns) and (ipv6 or not _is_v6(ns))]
    if not kept:
        kept = list(DEFAULT_NAMESERVERS_V4)
        if ipv6:
            kept += DEFAULT_NAMESERVERS_V6
    return kept


def render_resolv_conf(
    host_text: str,
    dns: Sequence[str] = (),
    dns_search: Sequence[str] = (),
    dns_options: Sequence[str] = (),
    *,
    ipv6: bool = False,
    host_network: bool = False,
) -> str:
    """Render the container's /etc/resolv.conf from the host's.

    Args:
        host_text: the host's resolv.conf (with systemd-resolved, the shell
            should pass /run/systemd/resolve/resolv.conf, as Docker does).
        dns, dns_search, dns_options: the container's overrides.
        ipv6: whether the container has IPv6 (otherwise v6 nameservers go).
        host_network: the container shares the host's network (``--network
            host``): every host nameserver works there, loopback and IPv6 too.

    Raises:
        InvalidArgument: a ``--dns`` value that is not an IP address.
    """
    for ns in dns:
        try:
            ipaddress.ip_address(ns)
        except ValueError as exc:
            msg = f"{ns} is not an ip address"
            raise InvalidArgument(msg) from exc

    if host_network and not dns and not dns_search and not dns_options:
        return host_text if not host_text or host_text.endswith("\n") else host_text + "\n"
    if not dns and not dns_search and not dns_options:
        # Keep the host file as it is (comments, sortlist...) minus the
        # nameserver lines that cannot work in the container.
        out: list[str] = []
        any_left = False
        for raw in host_text.splitlines():
            fields = raw.split()
            if fields and fields[0] == "nameserver" and len(fields) > 1:
                ns = fields[1]
                if _is_loopback(ns) or (not ipv6 and _is_v6(ns)):
                    continue
                any_left = True
            out.append(raw)
        text = "\n".join(out).rstrip("\n")
        text = text + "\n" if text else ""
        if not any_left:
            text += "".join(f"nameserver {ns}\n" for ns in _filtered_nameservers((), ipv6))
        return text

    host = parse_resolv_conf(host_text)
    if dns:
        nameservers = list(dns)
    elif host_network:
        nameservers = list(host.nameservers) or _filtered_nameservers((), ipv6=True)
    else:
        nameservers = _filtered_nameservers(host.nameservers, ipv6)
    search = tuple(dns_search) if dns_search else host.search
    options = tuple(dns_options) if dns_options else host.options
    lines: list[str] = []
    if search and tuple(search) != (".",):
        lines.append("search " + " ".join(s for s in search if s != "."))
    lines += [f"nameserver {ns}" for ns in nameservers]
    if options:
        lines.append("options " + " ".join(options))
    return "\n".join(lines) + "\n"
