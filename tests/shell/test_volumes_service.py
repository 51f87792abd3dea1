"""The volume service on a temporary root: store, filters, in-use, copy-up, binds, release, events."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from supervisor.errors import Conflict, InvalidArgument, NotFound
from supervisor.events.bus import EventBus
from supervisor.events.model import EventType
from supervisor.volumes.model import ANONYMOUS_LABEL
from supervisor.volumes.service import VolumeService
from supervisor.volumes.store import VolumeStore

CID_A, CID_B, CID_C = "a" * 64, "b" * 64, "c" * 64


@dataclass(frozen=True)
class Spec:
    """The mount fields of a ContainerSpec, plus the two the model does not have yet."""

    binds: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    tmpfs: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    mounts: tuple[Mapping[str, Any], ...] = ()
    volumes_from: tuple[str, ...] = ()


@dataclass
class Rig:
    root: Path
    bus: EventBus
    service: VolumeService
    specs: dict[str, Spec] = field(default_factory=dict)

    def lookup(self, ref: str) -> tuple[str, Any]:
        for cid, spec in self.specs.items():
            if cid == ref or cid.startswith(ref):
                return cid, spec
        msg = f"No such container: {ref}"
        raise NotFound(msg)

    async def start(self, cid: str, spec: Spec, rootfs: Path | None = None) -> Any:
        self.specs[cid] = spec
        return await self.service.resolve_mounts(
            cid, spec, image_rootfs=rootfs, volumes_from=self.lookup  # type: ignore[arg-type]
        )

    def events(self) -> list[tuple[str, str, dict[str, str]]]:
        return [
            (e.action, e.actor_id, dict(e.attributes))
            for e in self.bus.history.snapshot()
            if e.type is EventType.VOLUME
        ]


async def make_rig(tmp_path: Path) -> Rig:
    bus = EventBus()
    data = tmp_path / "data"
    service = VolumeService(
        VolumeStore(data / "volumes"), bus,
        state_dirs=(data, tmp_path / "exec"), sockets=(tmp_path / "run" / "berth.sock",),
    )  # fmt: skip
    await service.load()
    return Rig(tmp_path, bus, service)


@pytest.fixture
async def rig(tmp_path: Path) -> Rig:
    return await make_rig(tmp_path)


# --- volumes --------------------------------------------------------------------------


async def test_create_list_inspect_and_reload(rig: Rig, tmp_path: Path) -> None:
    """Created volumes persist with labels and are found again by a new service."""
    v = await rig.service.create("data", labels={"app": "web"})
    again = await rig.service.create("data", labels={"other": "x"})
    assert again == v  # Docker returns the existing volume unchanged
    view = rig.service.view(v)
    assert view["Mountpoint"] == str(tmp_path / "data" / "volumes" / "data" / "_data")
    assert (view["Name"], view["Driver"], view["Scope"], view["Labels"]) == ("data", "local", "local", {"app": "web"})
    assert Path(view["Mountpoint"]).is_dir()
    unnamed = await rig.service.create()
    assert len(unnamed.name) == 64 and not unnamed.anonymous
    reloaded = await make_rig(tmp_path)
    assert [v.name for v in reloaded.service.list()] == sorted(["data", unnamed.name])
    assert reloaded.service.get("data").labels == {"app": "web"}
    assert [e[:2] for e in rig.events()] == [("create", "data"), ("create", unnamed.name)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "a"}, 'create a: "a" includes invalid characters'),
        ({"name": "../x"}, 'create ../x: "../x" includes invalid characters'),
        ({"name": "ok", "driver": "nfs"}, "create ok: volume driver 'nfs' is not supported"),
        ({"name": "ok", "options": {"bogus": "1"}}, 'create ok: invalid option key: "bogus"'),
    ],
)
async def test_create_refusals(rig: Rig, kwargs: dict, message: str) -> None:
    """Bad names, drivers and options are 400s with Docker-like messages."""
    name = kwargs.pop("name")
    with pytest.raises(InvalidArgument) as err:
        await rig.service.create(name, **kwargs)
    assert err.value.message.startswith(message)


async def test_remove_missing_in_use_and_force(rig: Rig) -> None:
    """404 for a missing volume (force: no error); 409 naming the users while in use."""
    with pytest.raises(NotFound) as err:
        await rig.service.remove("nope")
    assert err.value.message == "get nope: no such volume"
    await rig.service.remove("nope", force=True)
    await rig.start(CID_A, Spec(binds=("shared:/data",)))
    await rig.start(CID_B, Spec(binds=("shared:/other",)))
    assert rig.service.users("shared") == [CID_A, CID_B]
    with pytest.raises(Conflict) as conflict:
        await rig.service.remove("shared", force=True)
    assert conflict.value.message == f"remove shared: volume is in use - [{CID_A}, {CID_B}]"
    assert [v.name for v in rig.service.list({"dangling": ["false"]})] == ["shared"]
    await rig.service.release(CID_A, remove_anonymous=True)
    await rig.service.release(CID_B, remove_anonymous=True)
    assert rig.service.get("shared")  # named: kept by rm -v
    await rig.service.remove("shared")
    with pytest.raises(NotFound):
        rig.service.get("shared")
    assert not (rig.root / "data" / "volumes" / "shared").exists()


async def test_prune_anonymous_only_unless_all(rig: Rig) -> None:
    """Prune removes unused anonymous volumes; all=true every unused one; reports bytes."""
    await rig.service.create("named")
    res = await rig.start(CID_A, Spec(volumes=("/anon",)))
    (anon,) = res.volumes_used
    assert ANONYMOUS_LABEL in rig.service.get(anon).labels
    Path(rig.service.volume_path(anon), "f").write_bytes(b"x" * 100)
    assert (await rig.service.prune())["VolumesDeleted"] == []  # in use
    await rig.service.release(CID_A, remove_anonymous=False)
    report = await rig.service.prune()
    assert report == {"VolumesDeleted": [anon], "SpaceReclaimed": 100}
    assert (await rig.service.prune({"all": ["true"]}))["VolumesDeleted"] == ["named"]
    assert ("prune", "", {"reclaimed": "100"}) in rig.events()


# --- container mounts ---------------------------------------------------------------------


def build_image(root: Path) -> Path:
    """A small rootfs with content at /data: dirs, modes, owners, a symlink, a hard link, a fifo."""
    rootfs = root / "rootfs"
    (rootfs / "data" / "sub").mkdir(parents=True)
    (rootfs / "etc").mkdir()
    (rootfs / "etc" / "secret").write_text("image etc\n")
    (rootfs / "data" / "file").write_text("hello\n")
    os.chmod(rootfs / "data" / "file", 0o640)
    os.chown(rootfs / "data" / "file", 1234, 5678)
    os.chmod(rootfs / "data", 0o750)
    os.chown(rootfs / "data", 42, 43)
    os.link(rootfs / "data" / "file", rootfs / "data" / "hard")
    os.symlink("/etc/passwd", rootfs / "data" / "link")
    os.mkfifo(rootfs / "data" / "sub" / "pipe")
    (rootfs / "afile").write_text("not a dir")
    os.symlink("/etc", rootfs / "escape")  # absolute: must stay inside the rootfs
    os.symlink("../../../../../../etc", rootfs / "dotdot")
    return rootfs


async def test_copy_up_new_volume_once(rig: Rig, tmp_path: Path) -> None:
    """A new named volume is filled from the image, keeping owners, modes and links; once only."""
    rootfs = build_image(tmp_path)
    res = await rig.start(CID_A, Spec(binds=("data:/data",)), rootfs)
    data = Path(rig.service.volume_path("data"))
    assert (data / "file").read_text() == "hello\n"
    st = os.stat(data / "file")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 1234, 5678)
    assert os.stat(data / "hard").st_ino == st.st_ino
    assert os.readlink(data / "link") == "/etc/passwd"
    assert stat.S_ISFIFO(os.lstat(data / "sub" / "pipe").st_mode)
    root_st = os.stat(data)
    assert (stat.S_IMODE(root_st.st_mode), root_st.st_uid, root_st.st_gid) == (0o750, 42, 43)
    assert rig.service.get("data").populated
    assert [(m.destination, m.source) for m in res.mounts] == [("/data", str(data))]
    # Emptied by the user: never filled again.
    for entry in data.iterdir():
        entry.unlink() if not entry.is_dir() else None
    await rig.service.release(CID_A, remove_anonymous=False)
    await rig.start(CID_B, Spec(binds=("data:/data",)), rootfs)
    assert not (data / "file").exists()


async def test_copy_up_follows_symlinks_inside_the_rootfs_only(rig: Rig, tmp_path: Path) -> None:
    """A volume at a symlinked path copies the image's target, never the host's."""
    rootfs = build_image(tmp_path)
    await rig.start(CID_A, Spec(binds=("esc:/escape", "dots:/dotdot")), rootfs)
    for name in ("esc", "dots"):
        assert sorted(os.listdir(rig.service.volume_path(name))) == ["secret"]


async def test_nocopy_existing_content_and_file_target(rig: Rig, tmp_path: Path) -> None:
    """nocopy skips copy-up; a non-empty volume is kept; a volume over a file is refused."""
    rootfs = build_image(tmp_path)
    await rig.start(CID_A, Spec(mounts=({"Type": "volume", "Source": "nc", "Target": "/data",
                                         "VolumeOptions": {"NoCopy": True}},)), rootfs)  # fmt: skip
    assert os.listdir(rig.service.volume_path("nc")) == []
    await rig.service.create("full")
    Path(rig.service.volume_path("full"), "mine").write_text("x")
    await rig.start(CID_B, Spec(binds=("full:/data",)), rootfs)
    assert os.listdir(rig.service.volume_path("full")) == ["mine"]
    with pytest.raises(InvalidArgument) as err:
        await rig.start(CID_C, Spec(binds=("over:/afile",)), rootfs)
    assert "cannot mount volume over existing file" in err.value.message


async def test_anonymous_volume_removed_by_rm_v_and_reused_on_restart(rig: Rig, tmp_path: Path) -> None:
    """An anonymous volume keeps its name across starts; rm -v removes it, named ones stay."""
    spec = Spec(volumes=("/anon",), binds=("keep:/keep",))
    first = await rig.start(CID_A, spec)
    second = await rig.start(CID_A, spec)
    assert first.volumes_used == second.volumes_used
    anon = next(n for n in first.volumes_used if n != "keep")
    # Registrations survive a daemon restart.
    reloaded = await make_rig(tmp_path)
    assert reloaded.service.users(anon) == [CID_A]
    await rig.service.release(CID_A, remove_anonymous=True)
    assert [v.name for v in rig.service.list()] == ["keep"]
    actions = [(a, n) for a, n, _ in rig.events()]
    assert ("destroy", anon) in actions and ("destroy", "keep") not in actions


async def test_volumes_from_shares_volumes_and_binds(rig: Rig, tmp_path: Path) -> None:
    """--volumes-from copies the other container's volumes (mode applied); rm -v keeps shared ones."""
    host = tmp_path / "hostdir"
    host.mkdir()
    src = await rig.start(CID_A, Spec(volumes=("/anon",), binds=(f"{host}:/h",)))
    (anon,) = src.volumes_used
    res = await rig.start(CID_B, Spec(volumes_from=(f"{CID_A[:12]}:ro",)))
    assert {(e["Destination"], e["RW"]) for e in res.inspect} == {("/anon", False), ("/h", False)}
    assert res.volumes_used == (anon,)
    await rig.service.release(CID_B, remove_anonymous=True)
    assert rig.service.get(anon)  # still used by A
    with pytest.raises(NotFound):
        await rig.start(CID_C, Spec(volumes_from=("nosuch",)))


async def test_bind_sources(rig: Rig, tmp_path: Path) -> None:
    """-v creates a missing host dir; --mount type=bind refuses it with Docker's message."""
    missing = tmp_path / "made" / "here"
    res = await rig.start(CID_A, Spec(binds=(f"{missing}:/x:ro",), tmpfs={"/run": "size=1m"}))
    assert missing.is_dir() and stat.S_IMODE(os.stat(missing).st_mode) == 0o755
    assert [(m.destination, m.type, m.options) for m in res.mounts] == [
        ("/x", "bind", ("rbind", "ro", "rprivate")),
        ("/run", "tmpfs", ("noexec", "nosuid", "nodev", "rprivate", "size=1m")),
    ]
    assert res.inspect == [{"Type": "bind", "Source": str(missing), "Destination": "/x", "Mode": "ro",
                            "RW": False, "Propagation": "rprivate"}]  # fmt: skip
    gone = tmp_path / "gone"
    with pytest.raises(InvalidArgument) as err:
        await rig.start(CID_B, Spec(mounts=({"Type": "bind", "Source": str(gone), "Target": "/x"},)))
    assert err.value.message == f'invalid mount config for type "bind": bind source path does not exist: {gone}'
    assert not gone.exists()


@pytest.mark.parametrize("which", ["data", "exec", "parent", "inside", "socket-dir", "root", "symlink"])
async def test_daemon_paths_refused_unless_opted_in(rig: Rig, tmp_path: Path, which: str) -> None:
    """Binds of the daemon's roots, their parents, their insides or the socket need the opt-in label."""
    (tmp_path / "run").mkdir()
    (tmp_path / "exec").mkdir()
    os.symlink(tmp_path / "data", tmp_path / "alias")
    source = {
        "data": tmp_path / "data", "exec": tmp_path / "exec", "parent": tmp_path,
        "inside": tmp_path / "data" / "volumes", "socket-dir": tmp_path / "run", "root": Path("/"),
        "symlink": tmp_path / "alias",
    }[which]  # fmt: skip
    with pytest.raises(InvalidArgument) as err:
        await rig.start(CID_A, Spec(binds=(f"{source}:/host",)))
    assert "berth.allow-daemon-paths=true" in err.value.message
    assert rig.service.users("x") == []
    res = await rig.start(CID_B, Spec(binds=(f"{source}:/host",), labels={"berth.allow-daemon-paths": "true"}))
    assert res.mounts[0].source == str(source)


async def test_duplicates_and_bad_specs_register_nothing(rig: Rig) -> None:
    """A refused plan creates no volume and no registration."""
    with pytest.raises(InvalidArgument) as err:
        await rig.start(CID_A, Spec(binds=("v1:/x", "v2:/x")))
    assert err.value.message == "Duplicate mount point: /x"
    assert rig.service.list() == [] and rig.service.inspect_mounts(CID_A) == []


async def test_mount_events(rig: Rig) -> None:
    """create, mount (Docker's attributes), unmount, destroy."""
    await rig.start(CID_A, Spec(binds=("ev:/data:ro",)))
    rig.service.unmounted(CID_A)
    await rig.service.release(CID_A, remove_anonymous=True)
    await rig.service.remove("ev")
    assert rig.events() == [
        ("create", "ev", {"driver": "local"}),
        ("mount", "ev", {"driver": "local", "container": CID_A, "destination": "/data",
                         "read/write": "false", "propagation": ""}),
        ("unmount", "ev", {"driver": "local", "container": CID_A}),
        ("destroy", "ev", {"driver": "local"}),
    ]  # fmt: skip


async def test_reconcile_drops_unknown_containers(rig: Rig) -> None:
    """Registrations of containers the engine no longer has stop holding volumes."""
    await rig.start(CID_A, Spec(binds=("r1:/a",)))
    await rig.service.reconcile([CID_B])
    assert rig.service.users("r1") == []
    await rig.service.remove("r1")
