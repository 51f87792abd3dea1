"""The image store: import, resolve, tag, remove, restart, and the host image."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from supervisor.errors import Conflict, Forbidden, ImageNotFound, InvalidArgument
from supervisor.images.store import ImageStore
from supervisor.images.tarball import build_busybox_tarball


class Clock:
    """A settable nanosecond clock so created times (and so ids) are predictable."""

    def __init__(self) -> None:
        self.ns = 1_700_000_000 * 10**9

    def __call__(self) -> int:
        self.ns += 10**9
        return self.ns


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("bb") / "busybox.tar"
    build_busybox_tarball(path)
    return path.read_bytes()


@pytest.fixture
def host_root(tmp_path: Path) -> Path:
    root = tmp_path / "hostroot"
    for name in ("usr/bin", "etc", "var/tmp", "proc", "tmp"):
        (root / name).mkdir(parents=True)
    os.symlink("usr/bin", root / "bin")
    return root


def open_store(tmp_path: Path, host_root: Path, clock: Clock | None = None) -> ImageStore:
    return ImageStore.open(
        tmp_path / "store", exec_root=tmp_path / "run", clock=clock or Clock(), host_root=host_root
    )


@pytest.fixture
def store(tmp_path: Path, host_root: Path) -> ImageStore:
    return open_store(tmp_path, host_root)


async def chunks(data: bytes, size: int = 7000) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]
        await trio.lowlevel.checkpoint()


def tar_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def disk(store: ImageStore) -> dict[str, list[str]]:
    root = store.root
    return {sub: sorted(os.listdir(root / sub)) for sub in ("layers/sha256", "images", "tmp")}


async def test_import_busybox_and_resolve_every_form(store: ImageStore, busybox_tar: bytes) -> None:
    """An imported image is found by name, docker.io forms, full id, bare id and prefix."""
    img = await store.import_tarball(
        chunks(busybox_tar), reference="busybox", changes=['CMD ["sh"]', "ENV A=1"], message="hi"
    )
    assert img.repo_tags == ("busybox:latest",)
    assert img.config.cmd == ("sh",) and img.config.env == ("A=1",)
    assert img.comment == "hi" and img.size > 100_000 and len(img.layers) == 1
    hexid = img.id.removeprefix("sha256:")
    for ref in (
        "busybox",
        "busybox:latest",
        "library/busybox",
        "docker.io/library/busybox",
        "docker.io/library/busybox:latest",
        "index.docker.io/busybox",
        img.id,
        hexid,
        hexid[:12],
        "sha256:" + hexid[:12],
    ):
        assert store.resolve(ref).id == img.id, ref
    plan = store.rootfs_plan(img)
    assert plan.mounts == ()
    (lower,) = plan.lowerdirs
    assert os.readlink(Path(lower) / "bin/sh") == "/bin/busybox"
    assert (Path(lower) / "bin/busybox").stat().st_size > 100_000
    assert disk(store)["tmp"] == []


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("nope", "No such image: nope:latest"),
        ("busybox:2", "No such image: busybox:2"),
        ("sha256:" + "f" * 64, "No such image: sha256:" + "f" * 64),
        ("ffffff", "No such image: ffffff:latest"),
    ],
)
async def test_not_found_says_no_such_image(store: ImageStore, ref: str, message: str) -> None:
    """Misses raise ImageNotFound whose message contains "No such image" (docker-py, compose)."""
    with pytest.raises(ImageNotFound) as info:
        store.resolve(ref)
    assert str(info.value) == message


async def test_invalid_ref_is_invalid_argument(store: ImageStore) -> None:
    """A malformed reference is a 400, not a 404."""
    with pytest.raises(InvalidArgument, match="must be lowercase"):
        store.resolve("BusyBox")


async def test_ambiguous_prefix_is_not_found(store: ImageStore) -> None:
    """A prefix matching several images resolves to none of them."""
    seen: dict[str, str] = {}
    for i in range(100):  # deterministic: fixed clock and contents give fixed ids
        img = await store.import_tarball(chunks(tar_of({"f": str(i).encode()})), reference=None)
        prefix = img.id[7:9]
        if prefix in seen:
            break
        seen[prefix] = img.id
    else:
        pytest.fail("no two ids shared a 2-hex prefix")
    with pytest.raises(ImageNotFound):
        store.resolve(prefix)
    assert store.resolve(img.id[7:20]).id == img.id
    assert store.resolve(seen[prefix][7:20]).id == seen[prefix]


async def test_identical_content_reuses_the_layer(store: ImageStore, busybox_tar: bytes) -> None:
    """Importing the same tar again (even gzipped) adds an image but no layer."""
    one = await store.import_tarball(chunks(busybox_tar), reference="one")
    two = await store.import_tarball(chunks(gzip.compress(busybox_tar)), reference="two")
    assert one.layers == two.layers
    assert one.id != two.id  # created differs, as with docker import
    assert len(disk(store)["layers/sha256"]) == 1
    assert len(store.list()) == 3  # + host


async def test_retagging_moves_the_tag(store: ImageStore) -> None:
    """Importing under an existing tag moves it; the old image becomes untagged."""
    old = await store.import_tarball(chunks(tar_of({"v": b"1"})), reference="app")
    new = await store.import_tarball(chunks(tar_of({"v": b"2"})), reference="app")
    assert store.resolve("app").id == new.id
    assert store.resolve(old.id).repo_tags == ()


async def test_bad_changes_fail_before_reading_the_upload(store: ImageStore) -> None:
    """Invalid --change or reference is reported without consuming the upload."""
    consumed = []

    async def upload() -> AsyncIterator[bytes]:
        consumed.append(True)
        yield b"x"

    with pytest.raises(InvalidArgument, match="run is not a valid change command"):
        await store.import_tarball(upload(), reference="x", changes=["RUN true"])
    with pytest.raises(InvalidArgument, match="invalid reference format"):
        await store.import_tarball(upload(), reference="Bad Name")
    with pytest.raises(Forbidden, match="reserved"):
        await store.import_tarball(upload(), reference="host")
    assert consumed == []


@pytest.mark.parametrize(
    "payload",
    [b"definitely not a tarball" * 100, b"", "escape"],
    ids=["garbage", "empty", "escape"],
)
async def test_failed_import_leaves_nothing(
    store: ImageStore, payload: bytes | str, tmp_path: Path
) -> None:
    """Corrupt, empty or escaping uploads fail with InvalidArgument and leave no trace."""
    if payload == "escape":
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            ln = tarfile.TarInfo("evil")
            ln.type, ln.linkname = tarfile.SYMTYPE, str(tmp_path)
            tar.addfile(ln)
            ti = tarfile.TarInfo("evil/pwned")
            tar.addfile(ti, io.BytesIO(b""))
        payload = buf.getvalue()
    before = disk(store)
    with pytest.raises(InvalidArgument, match="invalid tar archive"):
        await store.import_tarball(chunks(payload), reference="bad")  # type: ignore[arg-type]
    assert disk(store) == before
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(ImageNotFound):
        store.resolve("bad")


async def test_reopen_lists_the_same_images(
    tmp_path: Path, host_root: Path, busybox_tar: bytes
) -> None:
    """After a restart the store has the same images, tags, sizes and host id."""
    store = open_store(tmp_path, host_root)
    await store.import_tarball(chunks(busybox_tar), reference="busybox", changes=["WORKDIR /tmp"])
    await store.tag("busybox", "mine", "v1")
    await store.import_tarball(chunks(tar_of({"x": b"y"})), reference=None)
    again = open_store(tmp_path, host_root)
    assert again.list() == store.list()
    assert again.resolve("mine:v1").config.working_dir == "/tmp"
    assert again.rootfs_plan(again.resolve("busybox")) == store.rootfs_plan(
        store.resolve("busybox")
    )


async def test_reopen_skips_a_corrupt_image_document(tmp_path: Path, host_root: Path) -> None:
    """A document whose digest does not match its name is ignored, not trusted."""
    store = open_store(tmp_path, host_root)
    img = await store.import_tarball(chunks(tar_of({"x": b"y"})), reference="x")
    doc = store.root / "images" / (img.id.removeprefix("sha256:") + ".json")
    doc.write_bytes(doc.read_bytes().replace(b'"os"', b'"OS"'))
    with pytest.raises(ImageNotFound):
        open_store(tmp_path, host_root).resolve("x")


async def test_tag_and_untag(store: ImageStore) -> None:
    """Removing one of several tags only untags."""
    img = await store.import_tarball(chunks(tar_of({"x": b"y"})), reference="busybox")
    tagged = await store.tag("busybox", "localhost:5000/me/bb", "1.0")
    assert tagged.repo_tags == ("busybox:latest", "localhost:5000/me/bb:1.0")
    assert await store.remove("busybox") == [{"Untagged": "busybox:latest"}]
    assert store.resolve("localhost:5000/me/bb:1.0").id == img.id
    records = await store.remove("localhost:5000/me/bb:1.0")
    assert records[0] == {"Untagged": "localhost:5000/me/bb:1.0"}
    assert records[1] == {"Deleted": img.id}
    assert records[2] == {"Deleted": img.layers[0]}
    assert disk(store)["layers/sha256"] == [] and disk(store)["images"] == []


@pytest.mark.parametrize(
    ("repo", "tag"), [("Bad", "x"), ("ok", "-bad"), ("ok@sha256:" + "a" * 64, "")]
)
async def test_tag_rejects_bad_names(store: ImageStore, repo: str, tag: str) -> None:
    """Bad repository or tag names are InvalidArgument."""
    await store.import_tarball(chunks(tar_of({"x": b"y"})), reference="src")
    with pytest.raises(InvalidArgument):
        await store.tag("src", repo, tag)


async def test_tag_missing_source(store: ImageStore) -> None:
    """Tagging something that does not exist is ImageNotFound."""
    with pytest.raises(ImageNotFound):
        await store.tag("nothing", "new")


async def test_remove_shared_layer_keeps_it(store: ImageStore) -> None:
    """A layer still used by another image survives the removal."""
    data = tar_of({"x": b"y"})
    a = await store.import_tarball(chunks(data), reference="a")
    await store.import_tarball(chunks(data), reference="b")
    assert await store.remove("a") == [{"Untagged": "a:latest"}, {"Deleted": a.id}]
    assert len(disk(store)["layers/sha256"]) == 1


async def test_remove_by_id_with_many_tags_needs_force(store: ImageStore) -> None:
    """By id, an image tagged in several repositories is removed only with force."""
    img = await store.import_tarball(chunks(tar_of({"x": b"y"})), reference="a")
    await store.tag("a", "b")
    short = img.id[7:19]
    with pytest.raises(Conflict) as info:
        await store.remove(img.id)
    assert str(info.value) == (
        f"conflict: unable to delete {short} (must be forced) - image is referenced in multiple repositories"
    )
    records = await store.remove(short, force=True)
    assert records[:3] == [{"Untagged": "a:latest"}, {"Untagged": "b:latest"}, {"Deleted": img.id}]


async def test_remove_conflicts_with_containers(store: ImageStore) -> None:
    """Docker's messages for stopped and running users; force beats stopped only."""
    img = await store.import_tarball(chunks(tar_of({"x": b"y"})), reference="busybox")
    short, cid = img.id[7:19], "c0ffee" * 10 + "abcd"
    stopped = lambda iid: [(cid, False)] if iid == img.id else []  # noqa: E731
    running = lambda iid: [(cid, True)] if iid == img.id else []  # noqa: E731

    with pytest.raises(Conflict) as info:
        await store.remove("busybox", users=stopped)
    assert str(info.value) == (
        f'conflict: unable to remove repository reference "busybox" (must force) - '
        f"container {cid[:12]} is using its referenced image {short}"
    )
    with pytest.raises(Conflict) as info:
        await store.remove(img.id, users=stopped)
    assert str(info.value) == (
        f"conflict: unable to delete {short} (must be forced) - image is being used by stopped container {cid[:12]}"
    )
    with pytest.raises(Conflict) as info:
        await store.remove(img.id, users=running, force=True)
    assert str(info.value) == (
        f"conflict: unable to delete {short} (cannot be forced) - image is being used by running container {cid[:12]}"
    )
    assert store.resolve("busybox").id == img.id  # nothing changed so far

    # By name with force while running: moby untags and keeps the image (dangling).
    assert await store.remove("busybox", users=running, force=True) == [
        {"Untagged": "busybox:latest"}
    ]
    assert store.resolve(img.id).repo_tags == ()
    # Forced from under a stopped container: deleted, but its layer is kept for it.
    assert await store.remove(img.id, users=stopped, force=True) == [{"Deleted": img.id}]
    assert len(disk(store)["layers/sha256"]) == 1


async def test_host_image_is_builtin(tmp_path: Path, host_root: Path) -> None:
    """host is always listed, resolvable, stable across reopen, and never removable."""
    store = open_store(tmp_path, host_root)
    host = store.resolve("host")
    assert host.builtin and host.repo_tags == ("host:latest",)
    assert [i.id for i in store.list()] == [host.id]
    assert store.resolve("docker.io/library/host:latest").id == host.id
    assert open_store(tmp_path, host_root).resolve("host").id == host.id
    for ref in ("host", "host:latest", host.id):
        with pytest.raises(Forbidden, match="built into berth"):
            await store.remove(ref, force=True)
    # Extra tags on host can be removed; host:latest cannot be stolen.
    await store.tag("host", "myhost")
    assert store.resolve("host").repo_tags == ("host:latest", "myhost:latest")
    assert await store.remove("myhost") == [{"Untagged": "myhost:latest"}]
    await store.import_tarball(chunks(tar_of({"x": b"y"})), reference="other")
    with pytest.raises(Forbidden):
        await store.tag("other", "host")


async def test_host_rootfs_plan(tmp_path: Path, host_root: Path) -> None:
    """The host plan's skeleton mirrors the host's top level; binds are ro; scratch is tmpfs."""
    store = open_store(tmp_path, host_root)
    plan = store.rootfs_plan(store.resolve("host"))
    (skeleton,) = plan.lowerdirs
    skel = Path(skeleton)
    assert os.readlink(skel / "bin") == "usr/bin"
    assert {"usr", "etc", "var", "proc", "sys", "dev", "run", "tmp"} <= set(os.listdir(skel))
    dests = {m.destination: m for m in plan.mounts}
    assert dests["/usr"].type == "bind" and "ro" in dests["/usr"].options
    assert {dests[p].type for p in ("/tmp", "/run", "/var/tmp")} == {"tmpfs"}
    assert "/proc" not in dests and "/bin" not in dests


async def test_host_plan_masks_the_real_data_root(tmp_path: Path) -> None:
    """On the real host, a data root under a bound directory is hidden by a ro tmpfs."""
    data_root = Path("/var/lib") / f"berth-test-{os.getpid()}"
    try:
        store = ImageStore.open(data_root, exec_root=tmp_path / "run")
        plan = store.rootfs_plan(store.resolve("host"))
        masks = [m for m in plan.mounts if m.destination == str(data_root.resolve())]
        assert len(masks) == 1 and masks[0].type == "tmpfs" and "ro" in masks[0].options
    finally:
        shutil.rmtree(data_root, ignore_errors=True)


async def test_cancelled_upload_leaves_nothing(store: ImageStore, autojump_clock: object) -> None:
    """A client that stalls mid-upload and is cancelled leaves no spool file behind."""

    async def stalled() -> AsyncIterator[bytes]:
        yield b"\0" * 512
        await trio.sleep_forever()

    before = disk(store)
    with trio.move_on_after(30) as scope:
        await store.import_tarball(stalled(), reference="never")
    assert scope.cancelled_caught
    assert disk(store) == before


async def test_hub_and_registry_names_with_the_same_familiar_form(store: ImageStore) -> None:
    """docker.io/a.b/c and registry a.b's c are different tags (keys are full names)."""
    hub = await store.import_tarball(chunks(tar_of({"x": b"hub"})), reference="docker.io/a.b/c")
    reg = await store.import_tarball(chunks(tar_of({"x": b"reg"})), reference="a.b/c")
    assert store.resolve("docker.io/a.b/c").id == hub.id
    assert store.resolve("a.b/c").id == reg.id
