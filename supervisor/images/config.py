"""Image config documents and ``--change`` instructions (pure).

An image on disk is its config document: Docker's image JSON (architecture,
os, created, config, rootfs.diff_ids, history, comment), serialised
canonically (sorted keys, no spaces). The image id is the sha256 of exactly
those bytes, so the file named ``images/<hex>.json`` verifies itself.

``apply_changes`` applies the Dockerfile instructions ``docker import
--change`` accepts, in order, to an ``ImageConfig``. Shell forms run through
the image's ``Shell`` (``/bin/sh -c`` by default) as Dockerfile does.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import platform
import posixpath
import re
import signal
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from supervisor.engine.model import HealthConfig
from supervisor.errors import InvalidArgument
from supervisor.images.model import ImageConfig

DEFAULT_SHELL = ("/bin/sh", "-c")
_GOARCH = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "arm",
    "armv6l": "arm",
    "i686": "386",
    "i386": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


@functools.cache
def host_architecture() -> str:
    """The host's CPU architecture in Go's spelling (``amd64``, ``arm64``)."""
    machine = platform.machine()
    return _GOARCH.get(machine, machine)


# --- times ---------------------------------------------------------------------


def rfc3339_nano(ns: int) -> str:
    """Unix nanoseconds → Go's RFC3339Nano (``2024-05-01T12:00:00.123456789Z``)."""
    seconds, frac = divmod(ns, 1_000_000_000)
    stamp = dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{frac:09d}".rstrip("0")
    return f"{stamp}.{digits}Z" if digits else f"{stamp}Z"


_RFC3339_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")


def parse_rfc3339(text: str) -> int:
    """RFC3339 (any fraction length) → unix nanoseconds; 0 for empty or malformed."""
    match = _RFC3339_RE.match(text or "")
    if match is None:
        return 0
    base, frac, zone = match.groups()
    when = dt.datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    return int(when.timestamp()) * 1_000_000_000 + int((frac or "0").ljust(9, "0"))


# --- ImageConfig <-> Docker's "config" object ----------------------------------


def _set(items: Sequence[str]) -> dict[str, dict[str, Any]] | None:
    return {item: {} for item in items} or None


def config_to_docker(cfg: ImageConfig) -> dict[str, Any]:
    """Docker's image ``Config`` object (null for absent maps and lists, as moby prints)."""
    health = None
    if cfg.healthcheck is not None:
        h = cfg.healthcheck
        health = {
            "Test": list(h.test),
            "Interval": h.interval,
            "Timeout": h.timeout,
            "StartPeriod": h.start_period,
            "StartInterval": h.start_interval,
            "Retries": h.retries,
        }
    return {
        "User": cfg.user,
        "ExposedPorts": _set(cfg.exposed_ports),
        "Env": list(cfg.env) or None,
        "Cmd": list(cfg.cmd) or None,
        "Healthcheck": health,
        "Volumes": _set(cfg.volumes),
        "WorkingDir": cfg.working_dir,
        "Entrypoint": list(cfg.entrypoint) or None,
        "Labels": dict(cfg.labels) or None,
        "StopSignal": cfg.stop_signal,
        "Shell": list(cfg.shell) or None,
    }


def config_from_docker(data: Mapping[str, Any] | None) -> ImageConfig:
    """Read Docker's image ``Config`` object back; missing or null fields are defaults."""
    data = data or {}
    health = data.get("Healthcheck")
    return ImageConfig(
        env=tuple(data.get("Env") or ()),
        cmd=tuple(data.get("Cmd") or ()),
        entrypoint=tuple(data.get("Entrypoint") or ()),
        working_dir=data.get("WorkingDir") or "",
        user=data.get("User") or "",
        labels=dict(data.get("Labels") or {}),
        stop_signal=data.get("StopSignal") or "",
        exposed_ports=tuple(data.get("ExposedPorts") or ()),
        volumes=tuple(data.get("Volumes") or ()),
        healthcheck=None
        if not health
        else HealthConfig(
            test=tuple(health.get("Test") or ()),
            interval=health.get("Interval", 0),
            timeout=health.get("Timeout", 0),
            start_period=health.get("StartPeriod", 0),
            start_interval=health.get("StartInterval", 0),
            retries=health.get("Retries", 0),
        ),
        shell=tuple(data.get("Shell") or ()),
    )


def canonical_json(doc: Any) -> bytes:
    """The one byte form a document is hashed and stored in."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def image_document(
    cfg: ImageConfig, *, diff_ids: Sequence[str], created_ns: int, comment: str = ""
) -> dict[str, Any]:
    """The image config document ``docker import`` writes (one history entry)."""
    created = rfc3339_nano(created_ns)
    history: dict[str, Any] = {"created": created}
    if comment:
        history["comment"] = comment
    doc: dict[str, Any] = {
        "architecture": host_architecture(),
        "config": config_to_docker(cfg),
        "created": created,
        "history": [history],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
    }
    if comment:
        doc["comment"] = comment
    return doc


def image_id(document_bytes: bytes) -> str:
    """``sha256:`` + the digest of the canonical document bytes."""
    return "sha256:" + hashlib.sha256(document_bytes).hexdigest()


# --- --change instructions -----------------------------------------------------

CHANGE_INSTRUCTIONS = (
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "LABEL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
)


def apply_changes(cfg: ImageConfig, changes: Sequence[str]) -> ImageConfig:
    """Apply ``docker import --change`` instructions in order.

    Args:
        cfg: the starting config (empty for an import).
        changes: one Dockerfile instruction per item, e.g. ``'CMD ["/bin/sh"]'``.

    Raises:
        InvalidArgument: naming the instruction for unknown or malformed changes.
    """
    cmd_set = False
    for change in changes:
        line = change.strip()
        if not line:
            continue
        word, _, rest = line.partition(" ") if " " in line else line.partition("\t")
        instruction, rest = word.upper(), rest.strip()
        if instruction not in CHANGE_INSTRUCTIONS:
            msg = f"{word.lower()} is not a valid change command"
            raise InvalidArgument(msg)
        if not rest:
            msg = f"{instruction} requires at least one argument"
            raise InvalidArgument(msg)
        env = _env_map(cfg.env)
        if instruction == "CMD":
            cfg, cmd_set = replace(cfg, cmd=_command(rest, cfg, instruction)), True
        elif instruction == "ENTRYPOINT":
            ep = _command(rest, cfg, instruction)
            cfg = replace(cfg, entrypoint=ep, cmd=cfg.cmd if cmd_set else ())
        elif instruction == "ENV":
            for key, value in _pairs(rest, instruction, env):
                env[key] = value
            cfg = replace(cfg, env=tuple(f"{k}={v}" for k, v in env.items()))
        elif instruction == "LABEL":
            cfg = replace(cfg, labels={**cfg.labels, **dict(_pairs(rest, instruction, env))})
        elif instruction == "WORKDIR":
            path = _expand(rest, env)
            cfg = replace(
                cfg,
                working_dir=posixpath.normpath(posixpath.join("/", cfg.working_dir or "/", path)),
            )
        elif instruction == "USER":
            cfg = replace(cfg, user=_expand(rest, env))
        elif instruction == "EXPOSE":
            ports = [p for w in _words(rest, instruction) for p in _ports(_expand(w, env))]
            cfg = replace(cfg, exposed_ports=_merge(cfg.exposed_ports, ports))
        elif instruction == "VOLUME":
            vols = _json_list(rest) if rest.startswith("[") else None
            vols = vols if vols is not None else _words(rest, instruction)
            vols = [_expand(v, env) for v in vols]
            if any(not v.strip() for v in vols):
                msg = "VOLUME specified can not be an empty string"
                raise InvalidArgument(msg)
            cfg = replace(cfg, volumes=_merge(cfg.volumes, vols))
        else:  # STOPSIGNAL
            cfg = replace(cfg, stop_signal=_signal(_expand(rest, env)))
    return cfg


def _command(rest: str, cfg: ImageConfig, instruction: str) -> tuple[str, ...]:
    """JSON (exec) form as is; anything else is shell form via the image's shell."""
    if rest.startswith("["):
        parsed = _json_list(rest)
        if parsed is not None:
            return tuple(parsed)
    return (*(cfg.shell or DEFAULT_SHELL), rest)


def _json_list(text: str) -> list[str] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _words(text: str, instruction: str) -> list[str]:
    """Split on blanks honouring quotes and backslashes, as Dockerfile words do."""
    words, cur, quote, i, have = [], [], "", 0, False
    while i < len(text):
        c = text[i]
        if c == "\\" and quote != "'" and i + 1 < len(text):
            cur.append(text[i + 1])
            i, have = i + 2, True
            continue
        if quote:
            if c == quote:
                quote = ""
            else:
                cur.append(c)
        elif c in "\"'":
            quote, have = c, True
        elif c.isspace():
            if have:
                words.append("".join(cur))
            cur, have = [], False
        else:
            cur.append(c)
            have = True
        i += 1
    if quote:
        msg = f"{instruction}: unmatched quote in {text!r}"
        raise InvalidArgument(msg)
    if have:
        words.append("".join(cur))
    return words


def _pairs(rest: str, instruction: str, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """``k=v k2="v 2"`` pairs, or the legacy ``KEY value with spaces`` form."""
    first = rest.split(None, 1)[0]
    if "=" not in first:
        key, _, value = rest.partition(" ")
        value = value.strip()
        if not value and instruction == "ENV":
            msg = "ENV must have two arguments"
            raise InvalidArgument(msg)
        return [(key, _expand(value, env))]
    pairs = []
    for word in _words(rest, instruction):
        key, eq, value = word.partition("=")
        if not eq or not key:
            msg = (
                f"{instruction} names can not be blank"
                if not key
                else (f"Syntax error - can't find = in {word!r}. Must be of the form: name=value")
            )
            raise InvalidArgument(msg)
        pairs.append((key, _expand(value, env)))
    return pairs


_VAR_RE = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)


def _expand(text: str, env: Mapping[str, str]) -> str:
    """``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR:+alt}`` from the env so far."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(4)
        value = env.get(name, "")
        if m.group(2) == "-":
            return value or m.group(3)
        if m.group(2) == "+":
            return m.group(3) if value else ""
        return value

    return _VAR_RE.sub(sub, text)


def _env_map(env: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in env:
        key, _, value = item.partition("=")
        out[key] = value
    return out


_PORT_RE = re.compile(r"^(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?$", re.IGNORECASE)


def _ports(text: str) -> list[str]:
    match = _PORT_RE.match(text)
    if match is None:
        msg = f"invalid containerPort: {text}"
        raise InvalidArgument(msg)
    start = int(match.group(1))
    end = int(match.group(2) or start)
    proto = (match.group(3) or "tcp").lower()
    if not 0 < start <= end <= 65535:
        msg = f"invalid range specified for container port: {text}"
        raise InvalidArgument(msg)
    return [f"{p}/{proto}" for p in range(start, end + 1)]


def _signal(text: str) -> str:
    """Accept ``SIGTERM``, ``TERM``, ``15`` like Docker's ``signal.ParseSignal``."""
    if text.isdigit():
        if 0 < int(text) < 65:
            return text
    else:
        name = text.upper()
        name = name if name.startswith("SIG") else "SIG" + name
        if hasattr(signal.Signals, name) or re.match(r"^SIGRTM(IN|AX)([+-]\d+)?$", name):
            return text
    msg = f"Invalid signal: {text}"
    raise InvalidArgument(msg)


def _merge(old: Sequence[str], new: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*old, *new]))
