"""Log drivers and their options: Docker's json-file validation, berth's defaults.

Docker's json-file driver never rotates unless asked (moby#27957, moby#40207);
berth rotates by default: ``max-size=20m``, ``max-file=5``. The effective
options of a container are its own ``LogConfig.Config`` over the daemon's
``--log-opt`` values over those defaults, and they are what inspect shows.

Validation follows moby's ``jsonfilelog.ValidateLogOpt`` and ``New``: same
accepted keys, same parsing (go-units ``FromHumanSize``: decimal units), same
messages. One berth extension: ``max-size=-1`` turns rotation off.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from supervisor.errors import InvalidArgument

JSON_FILE = "json-file"
NONE = "none"
DRIVERS = (JSON_FILE, NONE)

DEFAULT_OPTIONS: Mapping[str, str] = {"max-size": "20m", "max-file": "5"}
DEFAULT_MAX_BUFFER = 8 * 1024 * 1024

_JSON_FILE_KEYS = frozenset(
    ("max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag")
)
# Accepted for every driver by moby's logger.ValidateLogOpts.
_COMMON_KEYS = frozenset(("mode", "max-buffer-size"))

_SIZE = re.compile(r"(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?")
_DECIMAL = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15}
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


@dataclass(frozen=True, slots=True)
class JsonFileOptions:
    """Validated json-file options. ``max_size`` -1 = never rotate."""

    max_size: int = 20_000_000
    max_file: int = 5
    compress: bool = False
    max_buffer: int = DEFAULT_MAX_BUFFER


def from_human_size(value: str) -> int:
    """go-units ``FromHumanSize``: ``10m`` = 10,000,000 (decimal; ``i`` and ``b`` ignored).

    Raises:
        InvalidArgument: ``invalid size: '<value>'``.
    """
    m = _SIZE.fullmatch(value)
    if m is None:
        msg = f"invalid size: '{value}'"
        raise InvalidArgument(msg)
    number = m.group(1)
    if number.count(".") > 1:
        msg = f"invalid size: '{value}'"
        raise InvalidArgument(msg)
    unit = _DECIMAL[(m.group(2) or "").lower()]
    return int(float(number) * unit)


def parse_go_bool(value: str) -> bool:
    """Go's ``strconv.ParseBool``.

    Raises:
        InvalidArgument: with Go's message.
    """
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    msg = f'strconv.ParseBool: parsing "{value}": invalid syntax'
    raise InvalidArgument(msg)


def check_driver(driver: str) -> str:
    """The driver name ("" means the default, json-file).

    Raises:
        InvalidArgument: a driver berth does not have.
    """
    name = driver or JSON_FILE
    if name not in DRIVERS:
        msg = f"failed to create container: logger: no log driver named '{name}' is registered"
        raise InvalidArgument(msg)
    return name


def validate_log_opts(driver: str, opts: Mapping[str, str]) -> None:
    """Reject unknown keys and bad values, with Docker's messages.

    Raises:
        InvalidArgument: the first problem found.
    """
    name = check_driver(driver)
    for key in opts:
        if key in _COMMON_KEYS:
            continue
        if name == NONE or key not in _JSON_FILE_KEYS:
            msg = f"unknown log opt '{key}' for {name} log driver"
            raise InvalidArgument(msg)
    mode = opts.get("mode")
    if mode not in (None, "", "blocking", "non-blocking"):
        msg = f"logger: logging mode not supported: {mode}"
        raise InvalidArgument(msg)
    if name == JSON_FILE:
        parse_json_file_options(opts)


def parse_json_file_options(opts: Mapping[str, str]) -> JsonFileOptions:
    """The rotation settings of ``opts`` (already merged with the defaults).

    Raises:
        InvalidArgument: Docker's messages for bad max-size, max-file, compress.
    """
    max_size = -1
    raw = opts.get("max-size")
    if raw is not None and raw != "-1":
        max_size = from_human_size(raw)
        if max_size <= 0:
            msg = "max-size must be a positive number"
            raise InvalidArgument(msg)
    max_file = 1
    raw = opts.get("max-file")
    if raw is not None:
        if not re.fullmatch(r"[+-]?\d+", raw):
            msg = f'strconv.Atoi: parsing "{raw}": invalid syntax'
            raise InvalidArgument(msg)
        max_file = int(raw)
        if max_file < 1:
            msg = "max-file cannot be less than 1"
            raise InvalidArgument(msg)
    compress = False
    raw = opts.get("compress")
    if raw is not None:
        compress = parse_go_bool(raw)
        if compress and (max_file <= 1 or max_size == -1):
            msg = "compress cannot be true when max-file is less than 2 or max-size is not set"
            raise InvalidArgument(msg)
    max_buffer = DEFAULT_MAX_BUFFER
    raw = opts.get("max-buffer-size")
    if raw:
        max_buffer = from_human_size(raw)
        if max_buffer <= 0:
            msg = "max-buffer-size must be a positive number"
            raise InvalidArgument(msg)
    return JsonFileOptions(max_size, max_file, compress, max_buffer)


def parse_daemon_log_opts(values: Sequence[str]) -> dict[str, str]:
    """``berth daemon --log-opt k=v`` (repeatable) into a mapping, validated for json-file.

    Raises:
        InvalidArgument: a value without ``=`` or an option json-file rejects.
    """
    opts: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            msg = f"invalid log-opt {value!r}: expected key=value"
            raise InvalidArgument(msg)
        opts[key] = val
    validate_log_opts(JSON_FILE, effective_options(opts, {}))
    return opts


def effective_options(
    container_opts: Mapping[str, str], daemon_opts: Mapping[str, str], driver: str = JSON_FILE
) -> dict[str, str]:
    """What a container runs with and inspect shows in ``HostConfig.LogConfig.Config``.

    json-file: berth's defaults, then the daemon's ``--log-opt``, then the
    container's own options (a key set in a later layer wins). Other drivers
    keep just the container's options.

    Raises:
        InvalidArgument: the merged options are invalid for the driver.
    """
    name = check_driver(driver)
    if name != JSON_FILE:
        merged = dict(container_opts)
    else:
        merged = {**DEFAULT_OPTIONS, **daemon_opts, **container_opts}
    validate_log_opts(name, merged)
    return merged


def extra_attributes(
    opts: Mapping[str, str],
    *,
    container_id: str,
    name: str,
    image: str,
    image_id: str,
    labels: Mapping[str, str],
    env: Sequence[str],
) -> dict[str, str]:
    """The ``attrs`` every entry carries (moby ``logger.Info.ExtraAttributes`` + ``tag``).

    Raises:
        InvalidArgument: a labels-regex or env-regex that does not compile.
    """
    attrs: dict[str, str] = {}
    for key in _split(opts.get("labels", "")):
        if key in labels:
            attrs[key] = labels[key]
    env_map = dict(item.partition("=")[::2] for item in env)
    for key in _split(opts.get("env", "")):
        if key in env_map:
            attrs[key] = env_map[key]
    for opt, source in (("labels-regex", labels), ("env-regex", env_map)):
        pattern = opts.get(opt)
        if pattern:
            try:
                regex = re.compile(pattern)
            except re.error as exc:
                msg = f"invalid {opt} {pattern!r}: {exc}"
                raise InvalidArgument(msg) from exc
            for key, value in source.items():
                if regex.search(key):
                    attrs[key] = value
    tag = opts.get("tag")
    if tag:
        attrs["tag"] = render_tag(
            tag, container_id=container_id, name=name, image=image, image_id=image_id
        )
    return attrs


def render_tag(template: str, *, container_id: str, name: str, image: str, image_id: str) -> str:
    """moby's tag template: ``{{.ID}}``, ``{{.FullID}}``, ``{{.Name}}``, ``{{.ImageName}}``, ..."""
    short_image = image_id.removeprefix("sha256:")
    values = {
        "ID": container_id[:12],
        "FullID": container_id,
        "Name": name.lstrip("/"),
        "ImageName": image,
        "ImageID": short_image[:12],
        "ImageFullID": image_id,
        "DaemonName": "berth",
    }

    def sub(m: re.Match[str]) -> str:
        return values.get(m.group(1), m.group(0))

    return re.sub(r"\{\{\s*\.(\w+)\s*\}\}", sub, template)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
