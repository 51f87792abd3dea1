"""Mount requests in every syntax Docker takes, parsed into one ``MountSpec``.

Theory of operation: a container's mounts arrive in five shapes —
``HostConfig.Binds`` strings (``docker run -v``), ``HostConfig.Mounts``
objects (``--mount``, which the CLI turns into objects with
``parse_mount_flag``), ``Config.Volumes`` keys (``-v /path`` and the image's
``VOLUME``), ``HostConfig.Tmpfs`` (``--tmpfs``) and ``HostConfig.VolumesFrom``.
Each parser here copies one moby/docker-cli function, messages included:

* ``parse_bind``        moby ``linuxParser.ParseMountRaw``
* ``parse_api_mount``   moby ``linuxParser.ParseMountSpec`` (without the stat
                        of a bind source: the shell does that)
* ``parse_mount_flag``  docker-cli ``opts.MountOpt.Set``
* ``parse_tmpfs_flag``  docker-cli ``--tmpfs`` (``path[:options]``)
* ``parse_volumes_from`` moby ``linuxParser.ParseVolumesFrom``

Pure: no I/O. Any text gives a ``MountSpec`` or raises ``InvalidArgument``.
"""

from __future__ import annotations

import csv
import enum
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from supervisor.api.humanize import parse_ram_size
from supervisor.errors import InvalidArgument

DEFAULT_PROPAGATION = "rprivate"
PROPAGATIONS = frozenset({"private", "rprivate", "slave", "rslave", "shared", "rshared"})
_RW_MODES = frozenset({"rw", "ro"})
_LABEL_MODES = frozenset({"z", "Z"})
_CONSISTENCY_MODES = frozenset({"consistent", "cached", "delegated"})
_COPY_MODES = {"nocopy": False}


class MountType(enum.Enum):
    """Docker's ``mount.Type`` values berth serves."""

    BIND = "bind"
    VOLUME = "volume"
    TMPFS = "tmpfs"


@dataclass(frozen=True, slots=True)
class MountSpec:
    """One requested mount, whatever syntax it came in.

    ``source`` is the host path of a bind, the name of a volume ("" for an
    anonymous one) and "" for tmpfs; ``target`` is clean and absolute.
    ``mode`` is the raw ``-v`` mode string, which inspect shows as ``Mode``.
    ``create_source``: a missing bind source is created (``-v``), not refused
    (``--mount``). ``tmpfs_data`` is the comma-joined tmpfs mount data.
    """

    type: MountType
    target: str
    source: str = ""
    read_only: bool = False
    mode: str = ""
    propagation: str = ""
    nonrecursive: bool = False
    nocopy: bool = False
    create_source: bool = False
    driver: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    driver_opts: Mapping[str, str] = field(default_factory=dict)
    tmpfs_data: str = ""

    @property
    def anonymous(self) -> bool:
        return self.type is MountType.VOLUME and not self.source


# --- shared validators -------------------------------------------------------------


def _invalid_spec(raw: str) -> str:
    return f"invalid volume specification: '{raw}'"


class _MountConfigError(InvalidArgument):
    """moby's ``errMountConfig``: ``invalid mount config for type "T": why``."""

    def __init__(self, kind: str, why: str) -> None:
        super().__init__(f'invalid mount config for type "{kind}": {why}')


def clean_path(path: str) -> str:
    """Go's ``path.Clean``, which keeps a leading ``//`` as one ``/``."""
    cleaned = posixpath.normpath(path) if path else "."
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def check_target(target: str) -> str:
    """Validate a mount destination (moby's NotRoot + Absolute) and return it clean.

    Raises:
        InvalidArgument: without a ``mount config`` prefix; callers add theirs.
    """
    if "\0" in target:
        msg = "invalid mount path: destination contains a NUL byte"
        raise InvalidArgument(msg)
    if clean_path(target.replace("\\", "/")) == "/":
        msg = "invalid specification: destination can't be '/'"
        raise InvalidArgument(msg)
    if not target.startswith("/"):
        msg = f"invalid mount path: '{target}' mount path must be absolute"
        raise InvalidArgument(msg)
    return clean_path(target)


def valid_mount_mode(mode: str) -> bool:
    """moby ``linuxParser.ValidMountMode``: each kind of option at most once."""
    if mode == "":
        return True
    counts = {"rw": 0, "label": 0, "prop": 0, "copy": 0, "consistency": 0}
    for option in mode.split(","):
        if option in _RW_MODES:
            counts["rw"] += 1
        elif option in _LABEL_MODES:
            counts["label"] += 1
        elif option in PROPAGATIONS:
            counts["prop"] += 1
        elif option in _COPY_MODES:
            counts["copy"] += 1
        elif option in _CONSISTENCY_MODES:
            counts["consistency"] += 1
        else:
            return False
    return all(n <= 1 for n in counts.values())


def _mode_options(mode: str) -> list[str]:
    return mode.split(",") if mode else []


def _propagation_of(mode: str) -> str:
    return next((o for o in _mode_options(mode) if o in PROPAGATIONS), "")


# --- -v / HostConfig.Binds ---------------------------------------------------------


def parse_bind(raw: str) -> MountSpec:
    """Parse one ``HostConfig.Binds`` entry (``docker run -v``).

    ``/host:/ctr[:mode]`` is a bind, ``name:/ctr[:mode]`` a named volume,
    ``/ctr`` an anonymous volume. A missing bind source is created at start.

    Raises:
        InvalidArgument: Docker's "invalid volume specification" / "invalid mode".
    """
    parts = raw.split(":", 3)
    if parts[0] == "" or "\0" in raw:
        raise InvalidArgument(_invalid_spec(raw))
    source, mode = "", ""
    if len(parts) == 1:
        target = parts[0]
    elif len(parts) == 2:
        if valid_mount_mode(parts[1]):
            raise InvalidArgument(_invalid_spec(raw))
        source, target = parts
    elif len(parts) == 3:
        source, target, mode = parts
    else:
        raise InvalidArgument(_invalid_spec(raw))
    if not valid_mount_mode(mode):
        msg = f"invalid mode: {mode}"
        raise InvalidArgument(msg)
    kind = MountType.BIND if source.startswith("/") else MountType.VOLUME
    options = _mode_options(mode)
    try:
        clean_target = check_target(target)
    except InvalidArgument as exc:
        msg = f"{_invalid_spec(raw)}: invalid mount config for type \"{kind.value}\": {exc.message}"
        raise InvalidArgument(msg) from exc
    read_only = "ro" in options
    if kind is MountType.BIND:
        propagation = _propagation_of(mode) or DEFAULT_PROPAGATION
        return MountSpec(
            type=kind, target=clean_target, source=clean_path(source), read_only=read_only,
            mode=mode, propagation=propagation, create_source=True,
        )  # fmt: skip
    if source:
        check_volume_name(source)
    return MountSpec(
        type=kind, target=clean_target, source=source, read_only=read_only, mode=mode,
        nocopy="nocopy" in options, driver="local",
    )  # fmt: skip


def anonymous_volume(path: str) -> MountSpec:
    """A ``Config.Volumes`` key (``-v /path``, the image's ``VOLUME``) as a MountSpec.

    Raises:
        InvalidArgument: the path is not absolute or is ``/``.
    """
    if ":" in path:
        raise InvalidArgument(_invalid_spec(path))
    return parse_bind(path)


# --- volume names -------------------------------------------------------------------


def valid_volume_name(name: str) -> bool:
    """Docker's local driver rule: ``[a-zA-Z0-9][a-zA-Z0-9_.-]+`` (so at least 2 characters)."""
    if len(name) < 2 or not name.isascii():
        return False
    if not name[0].isalnum():
        return False
    return all(c.isalnum() or c in "_.-" for c in name[1:])


def check_volume_name(name: str) -> None:
    """Raises InvalidArgument with the local driver's message for a bad name."""
    if not valid_volume_name(name):
        msg = (
            f'create {name}: "{name}" includes invalid characters for a local volume name, '
            'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
            "directory, use absolute path"
        )
        raise InvalidArgument(msg)


# --- HostConfig.Mounts ----------------------------------------------------------------


def _get(obj: Mapping[str, Any], key: str) -> Any:
    """A key as Go's encoding/json finds it: exact, else case-insensitive; null is absent."""
    if key in obj:
        return obj[key]
    folded = key.casefold()
    for k, v in obj.items():
        if isinstance(k, str) and k.casefold() == folded:
            return v
    return None


def _typed(obj: Mapping[str, Any], key: str, kind: type, go: str, path: str) -> Any:
    value = _get(obj, key)
    if value is None:
        return None
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        got = type(value).__name__
        got = {"str": "string", "dict": "object", "list": "array", "int": "number",
               "float": "number", "bool": "bool"}.get(got, got)  # fmt: skip
        msg = f"json: cannot unmarshal {got} into Go struct field {path}.{key} of type {go}"
        raise InvalidArgument(msg)
    return value


def _str_map(obj: Mapping[str, Any] | None, key: str, path: str) -> dict[str, str]:
    if obj is None:
        return {}
    value = _typed(obj, key, dict, "map[string]string", path) or {}
    out = {}
    for k, v in value.items():
        if v is not None and not isinstance(v, str):
            msg = f"json: cannot unmarshal {type(v).__name__} into Go struct field {path}.{key} of type string"
            raise InvalidArgument(msg)
        out[str(k)] = v or ""
    return out


def parse_api_mount(obj: Any) -> MountSpec:
    """One ``HostConfig.Mounts`` object, validated as moby's ``validateMountConfig``.

    The bind source's existence is not checked here (that needs a stat; the
    volume service does it when it registers the container).

    Raises:
        InvalidArgument: wrong JSON types or Docker's "invalid mount config" messages.
    """
    path = "HostConfig.Mounts"
    if not isinstance(obj, Mapping):
        msg = f"json: cannot unmarshal {type(obj).__name__} into Go struct field {path} of type mount.Mount"
        raise InvalidArgument(msg)
    kind = _typed(obj, "Type", str, "mount.Type", path) or ""
    source = _typed(obj, "Source", str, "string", path) or ""
    target = _typed(obj, "Target", str, "string", path) or ""
    read_only = bool(_typed(obj, "ReadOnly", bool, "bool", path))
    bind_opts = _typed(obj, "BindOptions", dict, "mount.BindOptions", path)
    vol_opts = _typed(obj, "VolumeOptions", dict, "mount.VolumeOptions", path)
    tmpfs_opts = _typed(obj, "TmpfsOptions", dict, "mount.TmpfsOptions", path)

    def fail(why: str) -> NoReturn:
        raise _MountConfigError(kind, why)

    if not target:
        fail("field Target must not be empty")
    try:
        clean_target = check_target(target)
    except InvalidArgument as exc:
        raise _MountConfigError(kind, exc.message) from exc
    if kind == MountType.BIND.value:
        if not source:
            fail("field Source must not be empty")
        propagation = ""
        nonrecursive = False
        if bind_opts is not None:
            propagation = _typed(bind_opts, "Propagation", str, "mount.Propagation", f"{path}.BindOptions") or ""
            if propagation and propagation not in PROPAGATIONS:
                fail(f"invalid propagation mode: {propagation}")
            nonrecursive = bool(_typed(bind_opts, "NonRecursive", bool, "bool", f"{path}.BindOptions"))
            if _get(bind_opts, "CreateMountpoint"):
                fail("CreateMountpoint is not supported by berth")
        if vol_opts is not None:
            fail("field VolumeOptions must not be specified")
        if tmpfs_opts is not None:
            fail("field TmpfsOptions must not be specified")
        if not source.startswith("/"):
            fail(f"invalid mount path: '{source}' mount path must be absolute")
        return MountSpec(
            type=MountType.BIND, target=clean_target, source=clean_path(source),
            read_only=read_only, propagation=propagation or DEFAULT_PROPAGATION,
            nonrecursive=nonrecursive,
        )  # fmt: skip
    if kind == MountType.VOLUME.value:
        if bind_opts is not None:
            fail("field BindOptions must not be specified")
        if tmpfs_opts is not None:
            fail("field TmpfsOptions must not be specified")
        nocopy, labels, driver, driver_opts = False, {}, "", {}
        if vol_opts is not None:
            vpath = f"{path}.VolumeOptions"
            nocopy = bool(_typed(vol_opts, "NoCopy", bool, "bool", vpath))
            labels = _str_map(vol_opts, "Labels", vpath)
            if _typed(vol_opts, "Subpath", str, "string", vpath):
                fail("volume subpaths are not supported by berth")
            config = _typed(vol_opts, "DriverConfig", dict, "mount.Driver", vpath)
            if config is not None:
                driver = _typed(config, "Name", str, "string", f"{vpath}.DriverConfig") or ""
                driver_opts = _str_map(config, "Options", f"{vpath}.DriverConfig")
        if read_only and not source:
            fail("must not set ReadOnly mode when using anonymous volumes")
        if source:
            check_volume_name(source)
        if driver not in ("", "local"):
            msg = f"volume driver {driver!r} is not supported: berth has only the local driver"
            raise InvalidArgument(msg)
        return MountSpec(
            type=MountType.VOLUME, target=clean_target, source=source, read_only=read_only,
            nocopy=nocopy, driver="local", labels=labels, driver_opts=driver_opts,
        )  # fmt: skip
    if kind == MountType.TMPFS.value:
        if bind_opts is not None:
            fail("field BindOptions must not be specified")
        if vol_opts is not None:
            fail("field VolumeOptions must not be specified")
        if source:
            fail("field Source must not be specified")
        size = mode = 0
        if tmpfs_opts is not None:
            tpath = f"{path}.TmpfsOptions"
            size = _typed(tmpfs_opts, "SizeBytes", int, "int64", tpath) or 0
            mode = _typed(tmpfs_opts, "Mode", int, "fs.FileMode", tpath) or 0
            if size < 0:
                fail(f"invalid tmpfs size: {size}")
            if not 0 <= mode <= 0o7777:
                fail(f"invalid tmpfs mode: {mode:o}")
        return MountSpec(
            type=MountType.TMPFS, target=clean_target, read_only=read_only,
            tmpfs_data=convert_tmpfs_options(size, mode, read_only),
        )  # fmt: skip
    fail("mount type unknown")


def convert_tmpfs_options(size: int, mode: int, read_only: bool) -> str:
    """moby ``ConvertTmpfsOptions``: ``ro``, ``mode=%o``, ``size=N[g|m|k]`` (largest even unit)."""
    options = []
    if read_only:
        options.append("ro")
    if mode:
        options.append(f"mode={mode:o}")
    if size:
        suffix = ""
        for unit, divisor in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
            if size % divisor == 0:
                size, suffix = size // divisor, unit
                break
        options.append(f"size={size}{suffix}")
    return ",".join(options)


# --- --mount (the CLI side) --------------------------------------------------------------

_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def _go_bool(value: str, message: str) -> bool:
    if value in _GO_TRUE:
        return True
    if value in _GO_FALSE:
        return False
    raise InvalidArgument(message)


def _csv_fields(value: str) -> list[str]:
    if "\n" in value or "\r" in value:
        msg = f"invalid mount specification: {value!r} contains a line break"
        raise InvalidArgument(msg)
    try:
        rows = list(csv.reader([value], strict=True))
    except csv.Error as exc:
        msg = f"parse error on line 1: {exc}"
        raise InvalidArgument(msg) from exc
    return rows[0] if rows else []


def parse_mount_flag(value: str, *, cwd: str | None = None) -> dict[str, Any]:
    """``--mount type=...,source=...,target=...`` into a ``HostConfig.Mounts`` object.

    Args:
        value: the flag's text (CSV, as docker-cli reads it).
        cwd: the directory ``source=.``/``source=./x`` is relative to (the CLI's).

    Raises:
        InvalidArgument: docker-cli's messages ("target is required", ...).
    """
    mount: dict[str, Any] = {"Type": "volume"}
    bind: dict[str, Any] = {}
    vol: dict[str, Any] = {}
    tmpfs: dict[str, Any] = {}
    has_bind = has_vol = has_tmpfs = False
    for fld in _csv_fields(value):
        key, eq, val = fld.partition("=")
        key = key.lower()
        if not eq:
            if key in ("readonly", "ro"):
                mount["ReadOnly"] = True
            elif key == "volume-nocopy":
                vol["NoCopy"], has_vol = True, True
            elif key == "bind-nonrecursive":
                bind["NonRecursive"], has_bind = True, True
            else:
                msg = f"invalid field '{fld}' must be a key=value pair"
                raise InvalidArgument(msg)
            continue
        if key == "type":
            mount["Type"] = val.lower()
        elif key in ("source", "src"):
            mount["Source"] = val
            if (val == "." or val.startswith("./")) and cwd is not None:
                mount["Source"] = posixpath.normpath(posixpath.join(cwd, val))
        elif key in ("target", "dst", "destination"):
            mount["Target"] = val
        elif key in ("readonly", "ro"):
            mount["ReadOnly"] = _go_bool(val, f"invalid value for {key}: {val}")
        elif key == "consistency":
            mount["Consistency"] = val.lower()
        elif key == "bind-propagation":
            bind["Propagation"], has_bind = val.lower(), True
        elif key == "bind-nonrecursive":
            bind["NonRecursive"] = _go_bool(val, f"invalid value for {key}: {val}")
            has_bind = True
        elif key == "volume-nocopy":
            vol["NoCopy"] = _go_bool(val, f"invalid value for volume-nocopy: {val}")
            has_vol = True
        elif key == "volume-label":
            k, _, v = val.partition("=")
            if k:
                vol.setdefault("Labels", {})[k] = v
            has_vol = True
        elif key == "volume-driver":
            vol.setdefault("DriverConfig", {})["Name"] = val
            has_vol = True
        elif key == "volume-opt":
            k, _, v = val.partition("=")
            options = vol.setdefault("DriverConfig", {}).setdefault("Options", {})
            if k:
                options[k] = v
            has_vol = True
        elif key == "volume-subpath":
            msg = "volume-subpath is not supported by berth"
            raise InvalidArgument(msg)
        elif key == "tmpfs-size":
            try:
                tmpfs["SizeBytes"] = parse_ram_size(val)
            except InvalidArgument as exc:
                msg = f"invalid value for {key}: {val}"
                raise InvalidArgument(msg) from exc
            has_tmpfs = True
        elif key == "tmpfs-mode":
            try:
                mode = int(val, 8)
            except ValueError:
                mode = -1
            if not 0 <= mode < 2**32 or not val or val[0] in "+-_" or "_" in val:
                msg = f"invalid value for {key}: {val}"
                raise InvalidArgument(msg)
            tmpfs["Mode"], has_tmpfs = mode, True
        else:
            msg = f"unexpected key '{key}' in '{fld}'"
            raise InvalidArgument(msg)
    kind = mount["Type"]
    if not kind:
        msg = "type is required"
        raise InvalidArgument(msg)
    if not mount.get("Target"):
        msg = "target is required"
        raise InvalidArgument(msg)
    if has_vol and kind != "volume":
        msg = f"cannot mix 'volume-*' options with mount type '{kind}'"
        raise InvalidArgument(msg)
    if has_bind and kind != "bind":
        msg = f"cannot mix 'bind-*' options with mount type '{kind}'"
        raise InvalidArgument(msg)
    if has_tmpfs and kind != "tmpfs":
        msg = f"cannot mix 'tmpfs-*' options with mount type '{kind}'"
        raise InvalidArgument(msg)
    if has_bind:
        mount["BindOptions"] = bind
    if has_vol:
        mount["VolumeOptions"] = vol
    if has_tmpfs:
        mount["TmpfsOptions"] = tmpfs
    return mount


# --- --tmpfs / HostConfig.Tmpfs ------------------------------------------------------------


def parse_tmpfs_flag(value: str) -> tuple[str, str]:
    """``--tmpfs /path[:options]`` into (destination, mount data), as docker-cli splits it."""
    path, _, data = value.partition(":")
    return path, data


def tmpfs_mount(destination: str, data: str) -> MountSpec:
    """A ``HostConfig.Tmpfs`` entry as a MountSpec (moby ``ValidateTmpfsMountDestination``).

    Raises:
        InvalidArgument: a relative destination or ``/``.
    """
    return MountSpec(type=MountType.TMPFS, target=check_target(destination), tmpfs_data=data)


# --- --volumes-from ---------------------------------------------------------------------------


def parse_volumes_from(spec: str) -> tuple[str, str]:
    """``CONTAINER[:ro|rw]`` into (container, mode); mode defaults to ``rw``.

    Raises:
        InvalidArgument: empty, or a mode with propagation/copy options (moby refuses those).
    """
    if not spec:
        msg = "volumes-from specification cannot be an empty string"
        raise InvalidArgument(msg)
    ref, _, mode = spec.partition(":")
    if mode == "":
        return ref, "rw"
    if not valid_mount_mode(mode) or _propagation_of(mode) or "nocopy" in mode.split(","):
        msg = f"invalid mode: {mode}"
        raise InvalidArgument(msg)
    return ref, mode


def read_write(mode: str) -> bool:
    """moby ``ReadWrite``: a valid mode without ``ro``."""
    return valid_mount_mode(mode) and "ro" not in _mode_options(mode)


__all__ = [
    "DEFAULT_PROPAGATION",
    "MountSpec",
    "MountType",
    "anonymous_volume",
    "check_target",
    "check_volume_name",
    "clean_path",
    "convert_tmpfs_options",
    "parse_api_mount",
    "parse_bind",
    "parse_mount_flag",
    "parse_tmpfs_flag",
    "parse_volumes_from",
    "read_write",
    "tmpfs_mount",
    "valid_mount_mode",
    "valid_volume_name",
]
