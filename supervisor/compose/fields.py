"""Parsers for compose's small value syntaxes: durations, sizes, ports, volumes, restart.

Each takes the text as written and returns a model value or raises
``ValueError`` with a message that completes "services.web.<key>: ..."; the
validator adds file, line and key path. Pure.
"""

from __future__ import annotations

import re

from supervisor.compose.model import Mount, MountType, Port, RestartPolicy

RESTART_CHOICES = "no, always, on-failure[:N], unless-stopped"

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([bkmgt]?)(?:i?b)?", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_PROTOCOLS = ("tcp", "udp", "sctp")


def parse_duration(value: object) -> float:
    """Go duration text (``1m30s``, ``500ms``) or a number of seconds → seconds."""
    if isinstance(value, bool):
        msg = f"{value!r} is not a duration (e.g. 10s, 1m30s)"
        raise ValueError(msg)
    if isinstance(value, (int, float)):
        if value < 0:
            msg = f"{value!r} is negative"
            raise ValueError(msg)
        return float(value)
    text = str(value).strip()
    if text in ("0", ""):
        return 0.0
    pos, total = 0, 0.0
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if m is None:
            msg = f"{text!r} is not a duration (e.g. 10s, 1m30s, 500ms)"
            raise ValueError(msg)
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    return total


def parse_size(value: object) -> int:
    """``512m``, ``1g``, ``100000`` → bytes (1024-based, as Docker's RAMInBytes)."""
    if isinstance(value, bool):
        msg = f"{value!r} is not a size (e.g. 512m, 1g)"
        raise ValueError(msg)
    if isinstance(value, int):
        if value < 0:
            msg = f"{value!r} is negative"
            raise ValueError(msg)
        return value
    m = _SIZE.fullmatch(str(value).strip())
    if m is None:
        msg = f"{value!r} is not a size (e.g. 512m, 1g)"
        raise ValueError(msg)
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])


def parse_restart(value: object) -> RestartPolicy:
    """``no`` (or YAML's false), ``always``, ``on-failure[:N]``, ``unless-stopped``."""
    if value is False:
        return RestartPolicy("no")
    text = str(value)
    if text in ("no", "always", "unless-stopped", "on-failure"):
        return RestartPolicy(text)
    name, sep, count = text.partition(":")
    if name == "on-failure" and sep and count.isdigit():
        return RestartPolicy("on-failure", int(count))
    msg = f"{text!r} is not one of {RESTART_CHOICES}"
    raise ValueError(msg)


def _port_number(text: str, what: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        msg = f"invalid {what} port {text!r}: must be a number from 1 to 65535"
        raise ValueError(msg)
    return int(text)


def _port_range(text: str, what: str) -> list[int]:
    low, sep, high = text.partition("-")
    start = _port_number(low, what)
    if not sep:
        return [start]
    end = _port_number(high, what)
    if end < start:
        msg = f"invalid {what} port range {text!r}"
        raise ValueError(msg)
    return list(range(start, end + 1))


def parse_port(text: str) -> list[Port]:
    """``[[HOST_IP:]PUBLISHED:]TARGET[/PROTO]``, ranges allowed (``8000-8001:80-81``)."""
    spec, _, protocol = text.partition("/")
    protocol = protocol or "tcp"
    if protocol not in _PROTOCOLS:
        msg = f"invalid protocol {protocol!r} in {text!r}: use tcp, udp or sctp"
        raise ValueError(msg)
    host_ip = ""
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0:
            msg = f"invalid port {text!r}: unclosed '['"
            raise ValueError(msg)
        host_ip, spec = spec[1:end], spec[end + 1 :].removeprefix(":")
    parts = spec.split(":")
    if len(parts) > 3:
        msg = f"invalid port {text!r}: expected [[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL]"
        raise ValueError(msg)
    if len(parts) == 3:
        if host_ip:
            msg = f"invalid port {text!r}"
            raise ValueError(msg)
        host_ip = parts.pop(0)
    targets = _port_range(parts[-1], "container")
    published = parts[0] if len(parts) == 2 else ""
    if not published:
        return [Port(t, "", host_ip, protocol) for t in targets]
    hosts = _port_range(published, "host")
    if len(targets) == 1:
        return [Port(targets[0], published, host_ip, protocol)]
    if len(hosts) != len(targets):
        msg = f"invalid port {text!r}: host and container port ranges differ in size"
        raise ValueError(msg)
    return [Port(t, str(h), host_ip, protocol) for t, h in zip(targets, hosts, strict=True)]


def is_path(source: str) -> bool:
    """A volume source that is a host path rather than a named volume."""
    return source.startswith(("/", ".", "~"))


def parse_volume(text: str) -> Mount:
    """``[SOURCE:]TARGET[:MODE]``: a named volume, a bind (path source) or anonymous.

    The source is returned as written; the validator resolves paths and checks
    that named volumes are declared.
    """
    parts = text.split(":")
    if len(parts) == 1:
        source, target, mode = "", parts[0], ""
    elif len(parts) == 2:
        source, target, mode = parts[0], parts[1], ""
    elif len(parts) == 3:
        source, target, mode = parts
    else:
        msg = f"invalid volume {text!r}: expected [SOURCE:]TARGET[:MODE]"
        raise ValueError(msg)
    if not target.startswith("/"):
        msg = f"invalid volume {text!r}: the container path {target!r} must be absolute"
        raise ValueError(msg)
    options = [o for o in mode.split(",") if o]
    for option in options:
        if option not in ("ro", "rw", "z", "Z", "nocopy", "rprivate", "private", "rshared", "shared", "rslave", "slave", "cached", "delegated", "consistent"):
            msg = f"invalid volume {text!r}: unknown mode {option!r}"
            raise ValueError(msg)
    kind = MountType.BIND if is_path(source) else MountType.VOLUME
    return Mount(kind, source, target, read_only="ro" in options)
