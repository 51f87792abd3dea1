"""Mount spec parsers: Docker's tables (-v, --mount, --tmpfs, --volumes-from, HostConfig.Mounts)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.errors import InvalidArgument
from supervisor.volumes.specs import (
    MountSpec,
    MountType,
    convert_tmpfs_options,
    parse_api_mount,
    parse_bind,
    parse_mount_flag,
    parse_tmpfs_flag,
    parse_volumes_from,
    valid_mount_mode,
    valid_volume_name,
)

B, V, T = MountType.BIND, MountType.VOLUME, MountType.TMPFS


@pytest.mark.parametrize(
    ("raw", "kind", "source", "target", "ro", "mode", "propagation"),
    [
        ("/data", V, "", "/data", False, "", ""),
        ("data:/data", V, "data", "/data", False, "", ""),
        ("data:/data:ro", V, "data", "/data", True, "ro", ""),
        ("/host:/ctr", B, "/host", "/ctr", False, "", "rprivate"),
        ("/host:/ctr:ro", B, "/host", "/ctr", True, "ro", "rprivate"),
        ("/host:/ctr:rw,z", B, "/host", "/ctr", False, "rw,z", "rprivate"),
        ("/host:/ctr:ro,rslave", B, "/host", "/ctr", True, "ro,rslave", "rslave"),
        ("/host/../etc/:/ctr/./x/", B, "/etc", "/ctr/x", False, "", "rprivate"),
        ("/host:/ctr:Z,delegated", B, "/host", "/ctr", False, "Z,delegated", "rprivate"),
    ],
)
def test_parse_bind_docs_table(
    raw: str, kind: MountType, source: str, target: str, ro: bool, mode: str, propagation: str
) -> None:
    """`docker run -v` forms from Docker's docs parse as moby's ParseMountRaw does."""
    spec = parse_bind(raw)
    assert (spec.type, spec.source, spec.target, spec.read_only, spec.mode, spec.propagation) == (
        kind, source, target, ro, mode, propagation,
    )
    assert spec.create_source is (kind is B)


def test_parse_bind_nocopy() -> None:
    """`nocopy` turns copy-up off for the volume."""
    assert parse_bind("v1:/d:nocopy").nocopy
    assert not parse_bind("v1:/d").nocopy


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "invalid volume specification: ''"),
        (":/x", "invalid volume specification: ':/x'"),
        ("/foo:ro", "invalid volume specification: '/foo:ro'"),
        ("a:b:c:d", "invalid volume specification: 'a:b:c:d'"),
        ("/a:/b:xx", "invalid mode: xx"),
        ("/a:/b:ro,rw", "invalid mode: ro,rw"),
        ("/a:/b:shared,slave", "invalid mode: shared,slave"),
        (
            "foo:bar",
            "invalid volume specification: 'foo:bar': invalid mount config for type \"volume\": "
            "invalid mount path: 'bar' mount path must be absolute",
        ),
        (
            "/a:/",
            "invalid volume specification: '/a:/': invalid mount config for type \"bind\": "
            "invalid specification: destination can't be '/'",
        ),
        (
            "relative",
            "invalid volume specification: 'relative': invalid mount config for type \"volume\": "
            "invalid mount path: 'relative' mount path must be absolute",
        ),
        ("x:/data", 'create x: "x" includes invalid characters for a local volume name'),
        ("-x:/data", 'create -x: "-x" includes invalid characters'),
    ],
)
def test_parse_bind_errors(raw: str, message: str) -> None:
    """Bad -v values get Docker's messages."""
    with pytest.raises(InvalidArgument) as err:
        parse_bind(raw)
    assert err.value.message.startswith(message)


@pytest.mark.parametrize(
    ("mode", "ok"),
    [("", True), ("ro", True), ("rw,z", True), ("ro,nocopy,rshared,cached,Z", True),
     ("ro,ro", False), ("z,Z", False), ("nocopy,nocopy", False), ("bogus", False), ("ro,", False)],
)  # fmt: skip
def test_valid_mount_mode(mode: str, ok: bool) -> None:
    """Each kind of mode option at most once, nothing unknown."""
    assert valid_mount_mode(mode) is ok


@pytest.mark.parametrize(
    ("name", "ok"),
    [("ab", True), ("my_vol.1-x", True), ("a", False), ("_ab", False), (".ab", False),
     ("a/b", False), ("..", False), ("a b", False), ("é1", False), ("0" * 64, True)],
)  # fmt: skip
def test_volume_names(name: str, ok: bool) -> None:
    """Docker's [a-zA-Z0-9][a-zA-Z0-9_.-]+ rule."""
    assert valid_volume_name(name) is ok


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("type=bind,source=/tmp,target=/x", {"Type": "bind", "Source": "/tmp", "Target": "/x"}),
        ("type=bind,src=/tmp,dst=/x,readonly", {"Type": "bind", "Source": "/tmp", "Target": "/x", "ReadOnly": True}),
        ("type=bind,src=/tmp,destination=/x,ro=false", {"Type": "bind", "Source": "/tmp", "Target": "/x", "ReadOnly": False}),
        ("type=bind,src=/t,target=/x,bind-propagation=rshared",
         {"Type": "bind", "Source": "/t", "Target": "/x", "BindOptions": {"Propagation": "rshared"}}),
        ("source=data,target=/data", {"Type": "volume", "Source": "data", "Target": "/data"}),
        ("TYPE=VOLUME,target=/d,volume-nocopy",
         {"Type": "volume", "Target": "/d", "VolumeOptions": {"NoCopy": True}}),
        ("target=/d,volume-label=a=b,volume-label=c,volume-driver=local,volume-opt=o=x=y",
         {"Type": "volume", "Target": "/d", "VolumeOptions": {
             "Labels": {"a": "b", "c": ""}, "DriverConfig": {"Name": "local", "Options": {"o": "x=y"}}}}),
        ("type=tmpfs,target=/run,tmpfs-size=1m,tmpfs-mode=1770",
         {"Type": "tmpfs", "Target": "/run", "TmpfsOptions": {"SizeBytes": 1 << 20, "Mode": 0o1770}}),
        ('"type=bind","src=/a,b",target=/x', {"Type": "bind", "Source": "/a,b", "Target": "/x"}),
    ],
)  # fmt: skip
def test_parse_mount_flag(flag: str, expected: dict) -> None:
    """docker-cli's --mount CSV becomes the HostConfig.Mounts object the CLI sends."""
    assert parse_mount_flag(flag) == expected


def test_parse_mount_flag_relative_source() -> None:
    """source=./x is made absolute against the CLI's directory."""
    assert parse_mount_flag("type=bind,src=./x,target=/x", cwd="/home/u")["Source"] == "/home/u/x"


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("source=/x", "target is required"),
        ("type=,target=/x", "type is required"),
        ("type=bind,target=/x,foo", "invalid field 'foo' must be a key=value pair"),
        ("type=bind,target=/x,foo=bar", "unexpected key 'foo' in 'foo=bar'"),
        ("type=bind,target=/x,readonly=maybe", "invalid value for readonly: maybe"),
        ("type=volume,target=/x,volume-nocopy=2", "invalid value for volume-nocopy: 2"),
        ("type=tmpfs,target=/x,tmpfs-size=lots", "invalid value for tmpfs-size: lots"),
        ("type=tmpfs,target=/x,tmpfs-mode=999", "invalid value for tmpfs-mode: 999"),
        ("type=bind,target=/x,volume-nocopy", "cannot mix 'volume-*' options with mount type 'bind'"),
        ("type=volume,target=/x,bind-propagation=shared", "cannot mix 'bind-*' options with mount type 'volume'"),
        ("type=bind,target=/x,tmpfs-size=1m", "cannot mix 'tmpfs-*' options with mount type 'bind'"),
        ("target=/x,volume-subpath=a", "volume-subpath is not supported by berth"),
    ],
)
def test_parse_mount_flag_errors(flag: str, message: str) -> None:
    """docker-cli's messages for bad --mount values."""
    with pytest.raises(InvalidArgument) as err:
        parse_mount_flag(flag)
    assert err.value.message == message


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"Type": "bind", "Source": "/x"}, 'invalid mount config for type "bind": field Target must not be empty'),
        ({"Type": "bind", "Target": "/x"}, 'invalid mount config for type "bind": field Source must not be empty'),
        ({"Type": "bind", "Source": "x", "Target": "/x"},
         "invalid mount config for type \"bind\": invalid mount path: 'x' mount path must be absolute"),
        ({"Type": "bind", "Source": "/x", "Target": "/"},
         "invalid mount config for type \"bind\": invalid specification: destination can't be '/'"),
        ({"Type": "bind", "Source": "/x", "Target": "/y", "BindOptions": {"Propagation": "odd"}},
         'invalid mount config for type "bind": invalid propagation mode: odd'),
        ({"Type": "bind", "Source": "/x", "Target": "/y", "VolumeOptions": {}},
         'invalid mount config for type "bind": field VolumeOptions must not be specified'),
        ({"Type": "volume", "Target": "/y", "ReadOnly": True},
         'invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes'),
        ({"Type": "volume", "Target": "/y", "TmpfsOptions": {}},
         'invalid mount config for type "volume": field TmpfsOptions must not be specified'),
        ({"Type": "tmpfs", "Source": "x", "Target": "/y"},
         'invalid mount config for type "tmpfs": field Source must not be specified'),
        ({"Type": "npipe", "Target": "/y"}, 'invalid mount config for type "npipe": mount type unknown'),
        ({"Type": "bind", "Source": "/x", "Target": "/y", "ReadOnly": "yes"},
         "json: cannot unmarshal string into Go struct field HostConfig.Mounts.ReadOnly of type bool"),
        ({"Type": "volume", "Source": "n1", "Target": "/y", "VolumeOptions": {"DriverConfig": {"Name": "nfs"}}},
         "volume driver 'nfs' is not supported: berth has only the local driver"),
    ],
)  # fmt: skip
def test_parse_api_mount_errors(obj: dict, message: str) -> None:
    """moby's validateMountConfig messages."""
    with pytest.raises(InvalidArgument) as err:
        parse_api_mount(obj)
    assert err.value.message == message


def test_parse_api_mount_kinds() -> None:
    """Each type becomes the right MountSpec (moby's defaults: rprivate binds, copy-up volumes)."""
    bind = parse_api_mount({"type": "bind", "source": "/a/", "target": "/b", "readonly": True})
    assert bind == MountSpec(type=B, target="/b", source="/a", read_only=True, propagation="rprivate")
    vol = parse_api_mount({"Type": "volume", "Source": "v1", "Target": "/v",
                           "VolumeOptions": {"NoCopy": True, "Labels": {"k": "v"}}})  # fmt: skip
    assert (vol.type, vol.source, vol.nocopy, dict(vol.labels)) == (V, "v1", True, {"k": "v"})
    tmp = parse_api_mount({"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 3 << 20, "Mode": 0o700}})
    assert (tmp.type, tmp.tmpfs_data) == (T, "mode=700,size=3m")


@pytest.mark.parametrize(
    ("size", "mode", "ro", "data"),
    [(0, 0, False, ""), (1 << 30, 0, False, "size=1g"), (3072, 0, True, "ro,size=3k"), (1536, 0, False, "size=1536"),
     (1000, 0o1777, False, "mode=1777,size=1000")],
)  # fmt: skip
def test_convert_tmpfs_options(size: int, mode: int, ro: bool, data: str) -> None:
    """moby's ConvertTmpfsOptions: largest unit that divides evenly."""
    assert convert_tmpfs_options(size, mode, ro) == data


def test_tmpfs_flag() -> None:
    """--tmpfs /path[:options] splits at the first colon."""
    assert parse_tmpfs_flag("/run:size=1m,mode=1777") == ("/run", "size=1m,mode=1777")
    assert parse_tmpfs_flag("/run") == ("/run", "")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("web", ("web", "rw")), ("web:ro", ("web", "ro")), ("web:rw,z", ("web", "rw,z"))],
)
def test_volumes_from(spec: str, expected: tuple[str, str]) -> None:
    """CONTAINER[:mode], rw by default."""
    assert parse_volumes_from(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [("", "volumes-from specification cannot be an empty string"), ("web:rshared", "invalid mode: rshared"),
     ("web:nocopy", "invalid mode: nocopy"), ("web:bad", "invalid mode: bad")],
)  # fmt: skip
def test_volumes_from_errors(spec: str, message: str) -> None:
    """Propagation and copy modes are refused on --volumes-from, as in moby."""
    with pytest.raises(InvalidArgument) as err:
        parse_volumes_from(spec)
    assert err.value.message == message


_TEXT = st.text(alphabet=st.sampled_from("/:abcz.,-=\"'_ro0w \\\x00é"), max_size=40)


@given(_TEXT)
def test_any_bind_text_parses_or_is_invalid(raw: str) -> None:
    """Any -v text gives a MountSpec with a clean absolute target, or InvalidArgument."""
    try:
        spec = parse_bind(raw)
    except InvalidArgument:
        return
    assert spec.target.startswith("/") and spec.target != "/" and "/../" not in spec.target + "/"


@given(_TEXT)
def test_any_mount_flag_parses_or_is_invalid(raw: str) -> None:
    """Any --mount text gives an object that parse_api_mount accepts or refuses cleanly."""
    try:
        obj = parse_mount_flag(raw)
        spec = parse_api_mount(obj)
    except InvalidArgument:
        return
    assert spec.target.startswith("/")


@given(st.dictionaries(
    st.sampled_from(["Type", "Source", "Target", "ReadOnly", "BindOptions", "VolumeOptions", "TmpfsOptions"]),
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8),
              st.sampled_from(["bind", "volume", "tmpfs", "/x", "/y/z", "vol1"]),
              st.dictionaries(st.sampled_from(["Propagation", "NoCopy", "Labels", "SizeBytes", "Mode",
                                               "DriverConfig"]),
                              st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5),
                                        st.dictionaries(st.text(max_size=3), st.text(max_size=3))))),
))  # fmt: skip
def test_any_api_mount_object_parses_or_is_invalid(obj: dict) -> None:
    """Any HostConfig.Mounts object gives a MountSpec or InvalidArgument, never a crash."""
    try:
        spec = parse_api_mount(obj)
    except InvalidArgument:
        return
    assert spec.target.startswith("/")
