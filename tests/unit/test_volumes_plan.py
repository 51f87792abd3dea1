"""Mount planning: Docker's registration order, duplicates, OCI mounts and inspect entries."""

from __future__ import annotations

import itertools

import pytest

from supervisor.errors import InvalidArgument
from supervisor.volumes.model import (
    ANONYMOUS_LABEL,
    Volume,
    go_rfc3339,
    list_filter,
    prune_filter,
    volume_json,
)
from supervisor.volumes.plan import (
    MountPoint,
    MountRequest,
    inspect_entries,
    oci_mounts,
    plan_mount_points,
    rootfs_propagation,
    validate_request,
    volume_names,
)
from supervisor.volumes.specs import MountType


def names() -> callable:
    counter = itertools.count()
    return lambda: f"{next(counter):064x}"


def path_of(name: str) -> str:
    return f"/vol/{name}/_data"


def test_order_binds_mounts_then_anonymous() -> None:
    """Binds, then Mounts, then Config.Volumes for destinations nothing covers."""
    req = MountRequest(
        binds=("/h:/a:ro", "data:/b"),
        mounts=({"Type": "tmpfs", "Target": "/c"},),
        volumes=("/b", "/d", "/e/"),
    )
    points = plan_mount_points(req, inherited=(), new_name=names())
    assert [(p.type, p.destination) for p in points] == [
        (MountType.BIND, "/a"), (MountType.VOLUME, "/b"), (MountType.TMPFS, "/c"),
        (MountType.VOLUME, "/d"), (MountType.VOLUME, "/e"),
    ]  # fmt: skip
    named, anon = points[1], points[3]
    assert (named.name, named.named, named.mode, named.copy_data) == ("data", True, "z", True)
    assert (anon.name, anon.named, anon.mode) == (f"{0:064x}", False, "")


@pytest.mark.parametrize(
    ("req", "dest"),
    [
        (MountRequest(binds=("/a:/x", "/b:/x")), "/x"),
        (MountRequest(binds=("/a:/x",), mounts=({"Type": "volume", "Target": "/x/"},)), "/x/"),
        (MountRequest(mounts=({"Type": "volume", "Target": "/x"}, {"Type": "tmpfs", "Target": "/x"})), "/x"),
        (MountRequest(binds=("/a:/x",), tmpfs={"/x": ""}), "/x"),
    ],
)
def test_duplicates(req: MountRequest, dest: str) -> None:
    """Two explicit mounts on one destination: "Duplicate mount point"."""
    with pytest.raises(InvalidArgument) as err:
        validate_request(req)
    assert err.value.message == f"Duplicate mount point: {dest}"


def test_anonymous_skipped_under_tmpfs() -> None:
    """An image VOLUME where --tmpfs mounts gets no volume."""
    points = plan_mount_points(MountRequest(volumes=("/run",), tmpfs={"/run": ""}), inherited=(), new_name=names())
    assert points == []


def test_volumes_from_mode_and_override() -> None:
    """--volumes-from copies points (ro applied, no copy-up); a bind on the same path wins."""
    other = [
        MountPoint(type=MountType.VOLUME, destination="/data", name="v1", driver="local", mode="z", copy_data=True, named=True),
        MountPoint(type=MountType.BIND, destination="/cfg", source="/etc/x", propagation="rprivate"),
    ]
    points = plan_mount_points(
        MountRequest(binds=("/h:/cfg",)), inherited=[(other, "ro")], new_name=names()
    )
    data, cfg = points
    assert (data.name, data.rw, data.copy_data, data.mode) == ("v1", False, False, "")
    assert cfg.source == "/h" and cfg.rw


def test_oci_mounts_sorted_by_depth_with_options() -> None:
    """Parents first; binds carry rbind/ro/propagation, volumes none, tmpfs Docker's defaults."""
    req = MountRequest(
        binds=("/h:/a/b/c:ro", "vol1:/a"),
        mounts=({"Type": "bind", "Source": "/s", "Target": "/a/b", "BindOptions": {"NonRecursive": True}},),
    )
    points = plan_mount_points(req, inherited=(), new_name=names())
    mounts = oci_mounts(points, {"/t": "size=1m"}, path_of)
    assert [(m.destination, m.type, m.source, m.options) for m in mounts] == [
        ("/a", "bind", "/vol/vol1/_data", ("rbind",)),
        ("/t", "tmpfs", "tmpfs", ("noexec", "nosuid", "nodev", "rprivate", "size=1m")),
        ("/a/b", "bind", "/s", ("bind", "rprivate")),
        ("/a/b/c", "bind", "/h", ("rbind", "ro", "rprivate")),
    ]


def test_tmpfs_flag_wins_over_inherited_point() -> None:
    """A --tmpfs destination hides a point on the same path (moby's setupMounts)."""
    other = [MountPoint(type=MountType.VOLUME, destination="/x", name="v1")]
    points = plan_mount_points(MountRequest(tmpfs={"/x": ""}), inherited=[(other, "rw")], new_name=names())
    assert [m.type for m in oci_mounts(points, {"/x": ""}, path_of)] == ["tmpfs"]


def test_inspect_entries_docker_shape() -> None:
    """Mounts[] entries as Docker prints them (Name/Driver only for volumes)."""
    req = MountRequest(binds=("/h:/b:ro", "data:/v"), mounts=({"Type": "tmpfs", "Target": "/t"},))
    points = plan_mount_points(req, inherited=(), new_name=names())
    assert inspect_entries(points, path_of) == [
        {"Type": "bind", "Source": "/h", "Destination": "/b", "Mode": "ro", "RW": False, "Propagation": "rprivate"},
        {"Type": "tmpfs", "Source": "", "Destination": "/t", "Mode": "", "RW": True, "Propagation": ""},
        {"Type": "volume", "Name": "data", "Source": "/vol/data/_data", "Destination": "/v", "Driver": "local",
         "Mode": "z", "RW": True, "Propagation": ""},
    ]  # fmt: skip
    assert volume_names(points) == ("data",)


def test_point_json_round_trip() -> None:
    """Registered points survive the disk."""
    points = plan_mount_points(
        MountRequest(binds=("/h:/b:ro",), mounts=({"Type": "volume", "Source": "n1", "Target": "/n",
                                                   "VolumeOptions": {"Labels": {"a": "b"}}},)),
        inherited=(), new_name=names(),
    )  # fmt: skip
    assert [MountPoint.from_json(p.to_json()) for p in points] == points


def test_rootfs_propagation() -> None:
    """Shared binds need an rshared rootfs, slave ones rslave."""
    plan = lambda *b: plan_mount_points(MountRequest(binds=b), inherited=(), new_name=names())  # noqa: E731
    assert rootfs_propagation(plan("/a:/a")) is None
    assert rootfs_propagation(plan("/a:/a:rslave")) == "rslave"
    assert rootfs_propagation(plan("/a:/a:rslave", "/b:/b:shared")) == "rshared"


# --- volumes model ---------------------------------------------------------------


def vol(name: str, **labels: str) -> Volume:
    return Volume(name=name, created_at=1_700_000_000_123_456_789, labels=labels)


def test_volume_json() -> None:
    """Docker's Volume object."""
    assert volume_json(vol("data", a="b"), "/x/data/_data") == {
        "CreatedAt": "2023-11-14T22:13:20Z", "Driver": "local", "Labels": {"a": "b"},
        "Mountpoint": "/x/data/_data", "Name": "data", "Options": {}, "Scope": "local",
    }  # fmt: skip
    assert go_rfc3339(0) == "1970-01-01T00:00:00Z"


def test_list_filters() -> None:
    """name is a substring, labels all match, dangling means unused."""
    vols = [vol("web-data", app="web"), vol("db-data", app="db", tier="x"), vol("cache")]
    in_use = {"db-data"}

    def run(filters: dict) -> list[str]:
        keep = list_filter(filters)
        return [v.name for v in vols if keep(v, v.name in in_use)]

    assert run({}) == ["web-data", "db-data", "cache"]
    assert run({"name": ["data"]}) == ["web-data", "db-data"]
    assert run({"label": ["app"]}) == ["web-data", "db-data"]
    assert run({"label": ["app=db", "tier"]}) == ["db-data"]
    assert run({"dangling": ["true"]}) == ["web-data", "cache"]
    assert run({"dangling": ["0"]}) == ["db-data"]
    assert run({"driver": ["local"]}) == ["web-data", "db-data", "cache"]
    assert run({"driver": ["nfs"]}) == []


@pytest.mark.parametrize(
    ("filters", "message"),
    [({"bogus": ["1"]}, "invalid filter 'bogus'"), ({"dangling": ["maybe"]}, "invalid filter 'dangling=[maybe]'")],
)
def test_list_filter_errors(filters: dict, message: str) -> None:
    """Unknown keys and bad values: moby's invalidFilter message."""
    with pytest.raises(InvalidArgument) as err:
        list_filter(filters)
    assert err.value.message == message


def test_prune_filters() -> None:
    """API ≥ 1.42: anonymous only unless all=true; in-use never; label and label!."""
    vols = [vol("named", k="v"), vol("a" * 64, **{ANONYMOUS_LABEL: ""}), vol("b" * 64, **{ANONYMOUS_LABEL: "", "k": "v"})]
    used = {"b" * 64}

    def run(filters: dict, anon_default: bool = True) -> list[str]:
        keep = prune_filter(filters, only_anonymous_default=anon_default)
        return [v.name[:5] for v in vols if keep(v, v.name in used)]

    assert run({}) == ["aaaaa"]
    assert run({"all": ["true"]}) == ["named", "aaaaa"]
    assert run({}, anon_default=False) == ["named", "aaaaa"]
    assert run({"all": ["1"], "label": ["k"]}) == ["named"]
    assert run({"all": ["1"], "label!": ["k"]}) == ["aaaaa"]
    with pytest.raises(InvalidArgument):
        prune_filter({"dangling": ["true"]}, only_anonymous_default=True)
    with pytest.raises(InvalidArgument):
        prune_filter({"all": ["yes"]}, only_anonymous_default=True)
