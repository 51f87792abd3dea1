"""The image store: content-addressed layers, image documents and tags on disk.

Layout under the store's root (``<data-root>/images`` in the daemon)::

    layers/sha256/<hex>/fs          one extracted layer (an overlay lower dir)
    layers/sha256/<hex>/layer.json  {"diff_id", "size"}
    images/<hex>.json               the image document; sha256(file) == <hex>
    repositories.json               {"version": 1, "tags": {"busybox:latest": "sha256:..."}}
    host/<key>/fs                   the skeleton of the built-in ``host`` image
    tmp/                            uploads and staging; emptied at open

Rules / theory of operation:

* Every file is written atomically (temp, fsync, rename, fsync the dir) and a
  layer appears under its final name only by one ``rename`` of a fully
  extracted staging dir, so a crash leaves either the old state or the new one
  plus junk in ``tmp/`` that the next ``open`` removes.
* All disk work runs in worker threads. Lookups (``resolve``, ``list``,
  ``rootfs_plan``) are synchronous reads of the in-memory index. Mutations
  (``import_tarball``'s commit, ``tag``, ``remove``) hold one ``trio.Lock`` so
  that a layer is never collected while an import is about to reuse it and
  ``repositories.json`` is always written from the latest index.
* ``remove`` follows moby's ``ImageDelete`` (daemon/images/image_delete.go):
  the same order of checks, conflicts and ``Untagged``/``Deleted`` records.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import trio

from supervisor._logging import get_logger
from supervisor.errors import Conflict, Forbidden, ImageNotFound, InvalidArgument, RuntimeFailed
from supervisor.images import host as hostimg
from supervisor.images.config import (
    apply_changes,
    canonical_json,
    config_from_docker,
    image_document,
    image_id,
    parse_rfc3339,
)
from supervisor.images.model import Image, ImageConfig, RootfsPlan
from supervisor.images.reference import id_prefix_of, image_id_of, normalize, tagged
from supervisor.images.tarball import Extracted, extract_layer

log = get_logger(__name__)

DEFAULT_EXEC_ROOT = Path("/run/berth")
MIN_ID_PREFIX = 2
#: Tags are keyed by the full normalised reference (as moby's reference
#: store does) and shown in the familiar form; familiar forms can collide
#: (``docker.io/a.b/c`` and registry ``a.b``'s ``c`` both print ``a.b/c``).
HOST_KEY = str(normalize(hostimg.HOST_REPO_TAG))
WRITE_BATCH = 1 << 20

#: ``users(image_id)`` → the containers created from that image, as
#: ``(container_id, running)``; ``remove`` uses it for Docker's conflict rules.
Users = Callable[[str], Sequence[tuple[str, bool]]]


@dataclass(frozen=True, slots=True)
class _Record:
    """One stored image, without its tags (those live in the tag index)."""

    image: Image


def _short(image_or_container_id: str) -> str:
    return image_or_container_id.split(":", 1)[-1][:12]


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _familiar(key: str) -> str:
    """A stored tag key (full reference) as Docker prints it."""
    return normalize(key).familiar()


def _chain_ids(diff_ids: Sequence[str]) -> list[str]:
    """OCI chain ids: ``chain(n) = sha256(chain(n-1) + " " + diff(n))``."""
    out: list[str] = []
    for diff in diff_ids:
        if not out:
            out.append(diff)
        else:
            out.append("sha256:" + hashlib.sha256(f"{out[-1]} {diff}".encode()).hexdigest())
    return out


class ImageStore:
    """Images on disk and their tags; see the module docstring for the rules."""

    def __init__(self, root: Path, exec_root: Path, clock: Callable[[], int]) -> None:
        self.root = root
        self.exec_root = exec_root
        self._clock = clock
        self._records: dict[str, _Record] = {}
        self._tags: dict[str, str] = {}
        self._layer_sizes: dict[str, int] = {}
        self._host = hostimg.host_image()
        self._host_layout = hostimg.HostLayout(entries=())
        self._host_skeleton = Path()
        self._hide: tuple[Path, ...] = ()
        self._lock = trio.Lock()

    # --- opening -------------------------------------------------------------

    @classmethod
    def open(
        cls,
        root: Path,
        *,
        exec_root: Path = DEFAULT_EXEC_ROOT,
        clock: Callable[[], int] = time.time_ns,
        host_root: Path = Path("/"),
    ) -> ImageStore:
        """Load (creating if needed) the store at ``root``. Blocking: call from a worker thread.

        Args:
            root: the store's directory.
            exec_root: the daemon's runtime directory, hidden from ``host`` containers.
            clock: unix nanoseconds, for the ``created`` time of imported images.
            host_root: the host filesystem the ``host`` image shows (tests only).
        """
        store = cls(root, exec_root, clock)
        for sub in ("layers/sha256", "images", "host"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        shutil.rmtree(root / "tmp", ignore_errors=True)
        (root / "tmp").mkdir()
        store._host_layout = hostimg.scan_host(host_root)
        store._host_skeleton = hostimg.build_skeleton(root / "host", store._host_layout)
        store._hide = (root.resolve(), exec_root.resolve())
        store._load()
        return store

    def _load(self) -> None:
        for entry in sorted((self.root / "layers" / "sha256").iterdir()):
            try:
                meta = json.loads((entry / "layer.json").read_bytes())
                self._layer_sizes[meta["diff_id"]] = int(meta["size"])
            except (OSError, ValueError, KeyError) as exc:
                log.warning("image_store.bad_layer", path=str(entry), error=str(exc))
        for path in sorted((self.root / "images").glob("*.json")):
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != path.stem:
                log.warning("image_store.corrupt_image", path=str(path))
                continue
            record = self._record(f"sha256:{path.stem}", json.loads(data))
            missing = [d for d in record.image.layers if d not in self._layer_sizes]
            if missing:
                log.warning("image_store.missing_layers", image=path.stem, layers=missing)
                continue
            self._records[record.image.id] = record
        try:
            tags = json.loads((self.root / "repositories.json").read_bytes()).get("tags", {})
        except FileNotFoundError:
            tags = {}
        for name, iid in tags.items():
            try:
                key = str(normalize(name))
            except InvalidArgument:
                log.warning("image_store.bad_tag", tag=name)
                continue
            if iid in self._records and key != HOST_KEY:
                self._tags[key] = iid

    def _record(self, iid: str, doc: dict[str, Any]) -> _Record:
        layers = tuple(doc.get("rootfs", {}).get("diff_ids") or ())
        image = Image(
            id=iid,
            created=parse_rfc3339(doc.get("created", "")) // 1_000_000_000,
            size=sum(self._layer_sizes.get(d, 0) for d in layers),
            config=config_from_docker(doc.get("config")),
            layers=layers,
            comment=doc.get("comment", ""),
        )
        return _Record(image)

    # --- lookups (list() is last: its name would shadow the builtin in annotations) ------------------------------------------------------------

    def _image(self, iid: str) -> Image:
        tags = tuple(_familiar(t) for t, i in self._tags.items() if i == iid)
        if iid == self._host.id:
            return replace(self._host, repo_tags=(hostimg.HOST_REPO_TAG, *tags))
        return replace(self._records[iid].image, repo_tags=tags)

    def _ids(self) -> list[str]:
        return [self._host.id, *self._records]

    def resolve(self, ref: str) -> Image:
        """Find an image by name[:tag], full id (with or without ``sha256:``) or unique id prefix.

        Raises:
            ImageNotFound: "No such image: <ref>" (the ref normalised as Docker prints it).
            InvalidArgument: ``ref`` is neither a reference nor an id.
        """
        full = image_id_of(ref)
        if full is not None:
            if full in self._records or full == self._host.id:
                return self._image(full)
            msg = f"No such image: {full}"
            raise ImageNotFound(msg)
        shown = ref
        try:
            named = normalize(ref)
        except InvalidArgument:
            if id_prefix_of(ref) is None:
                raise
        else:
            shown = named.familiar()
            if named.digest == "":
                iid = self._tag_target(str(named))
                if iid is not None:
                    return self._image(iid)
        prefix = id_prefix_of(ref)
        if prefix is not None and len(prefix) >= MIN_ID_PREFIX:
            matches = [i for i in self._ids() if i[len("sha256:") :].startswith(prefix)]
            if len(matches) == 1:
                return self._image(matches[0])
        msg = f"No such image: {shown}"
        raise ImageNotFound(msg)

    def _tag_target(self, key: str) -> str | None:
        if key == HOST_KEY:
            return self._host.id
        return self._tags.get(key)

    def rootfs_plan(self, image: Image) -> RootfsPlan:
        """The overlay lower dirs (topmost first) and extra mounts for ``image``."""
        if image.builtin:
            return hostimg.host_rootfs_plan(self._host_skeleton, self._host_layout, hide=self._hide)
        return RootfsPlan(lowerdirs=tuple(str(self._layer_fs(d)) for d in reversed(image.layers)))

    def _layer_dir(self, diff_id: str) -> Path:
        return self.root / "layers" / "sha256" / diff_id.split(":", 1)[1]

    def _layer_fs(self, diff_id: str) -> Path:
        return self._layer_dir(diff_id) / "fs"

    # --- import ----------------------------------------------------------------

    async def import_tarball(
        self,
        chunks: AsyncIterator[bytes],
        *,
        reference: str | None,
        changes: Sequence[str] = (),
        message: str = "",
    ) -> Image:
        """Import a rootfs tarball as a one-layer image (``docker import``).

        Args:
            chunks: the upload: a plain, gzip, bzip2 or xz compressed tar.
            reference: ``repo[:tag]`` to tag the new image with, or None.
            changes: Dockerfile instructions applied to the config (``--change``).
            message: the commit message (the image's ``Comment``).

        Raises:
            InvalidArgument: bad reference, bad change, or an upload that is
                not a tar or tries to escape its root; nothing is left behind.
        """
        ref = tagged(reference) if reference else None
        if ref is not None and str(ref) == HOST_KEY:
            msg = f"{hostimg.HOST_REPO_TAG} is reserved for berth's built-in host image"
            raise Forbidden(msg)
        cfg = apply_changes(ImageConfig(), changes)
        work = self.root / "tmp" / uuid.uuid4().hex
        await trio.to_thread.run_sync(work.mkdir)
        try:
            upload = await self._receive(chunks, work / "upload")
            extracted = await trio.to_thread.run_sync(self._extract, upload, work / "layer")
            async with self._lock:
                doc = image_document(
                    cfg, diff_ids=(extracted.diff_id,), created_ns=self._clock(), comment=message
                )
                data = canonical_json(doc)
                iid = image_id(data)
                await trio.to_thread.run_sync(self._commit, work, extracted, iid, data)
                self._layer_sizes[extracted.diff_id] = extracted.size
                self._records[iid] = self._record(iid, doc)
                if ref is not None:
                    self._tags[str(ref)] = iid
                    await self._save_tags()
            log.info("image.imported", id=iid, tag=ref.familiar() if ref else None)
            return self._image(iid)
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(60):
                await trio.to_thread.run_sync(shutil.rmtree, work, True)

    async def _receive(self, chunks: AsyncIterator[bytes], path: Path) -> Path:
        """Spool the upload to ``path`` in batches, writing from a worker thread."""
        f = await trio.to_thread.run_sync(open, path, "wb")
        total, batch = 0, bytearray()
        try:
            async for chunk in chunks:
                batch += chunk
                if len(batch) >= WRITE_BATCH:
                    await trio.to_thread.run_sync(f.write, bytes(batch))
                    total, batch = total + len(batch), bytearray()
            if batch:
                await trio.to_thread.run_sync(f.write, bytes(batch))
                total += len(batch)
        finally:
            await trio.to_thread.run_sync(f.close)
        if total == 0:
            msg = "invalid tar archive: the upload is empty"
            raise InvalidArgument(msg)
        return path

    @staticmethod
    def _extract(upload: Path, dest: Path) -> Extracted:
        """Extract into ``dest/fs`` and record ``dest/layer.json`` (worker thread)."""
        (dest / "fs").mkdir(parents=True)
        with open(upload, "rb") as raw:
            try:
                extracted = extract_layer(raw, dest / "fs")
                meta = {"diff_id": extracted.diff_id, "size": extracted.size}
                _atomic_write(dest / "layer.json", canonical_json(meta))
                return extracted
            except OSError as exc:
                msg = f"cannot extract the image layer: {exc}"
                raise RuntimeFailed(msg) from exc

    def _commit(self, work: Path, extracted: Extracted, iid: str, data: bytes) -> None:
        """Move the staged layer into place (unless present) and write the image document.

        Identical content has the same diff id: the staged copy is then simply
        dropped with the rest of ``work`` and the existing layer reused.
        """
        layer = self._layer_dir(extracted.diff_id)
        if not layer.exists():
            os.rename(work / "layer", layer)
            _fsync_dir(layer.parent)
        doc_path = self.root / "images" / f"{iid.split(':', 1)[1]}.json"
        if not doc_path.exists():
            _atomic_write(doc_path, data)

    async def _save_tags(self) -> None:
        data = canonical_json({"version": 1, "tags": dict(self._tags)})
        await trio.to_thread.run_sync(_atomic_write, self.root / "repositories.json", data)

    # --- tag / remove ------------------------------------------------------------

    async def tag(self, ref: str, repo: str, tag: str = "latest") -> Image:
        """Point ``repo:tag`` at the image ``ref`` names (``docker tag``).

        Raises:
            ImageNotFound: no such source image.
            InvalidArgument: malformed repository or tag.
            Forbidden: ``host:latest`` belongs to the built-in image.
        """
        image = self.resolve(ref)
        new = str(tagged(repo, tag))
        if new == HOST_KEY:
            if image.builtin:
                return image
            msg = f"{hostimg.HOST_REPO_TAG} is reserved for berth's built-in host image"
            raise Forbidden(msg)
        async with self._lock:
            self._tags[new] = image.id
            await self._save_tags()
        return self._image(image.id)

    async def remove(
        self, ref: str, *, force: bool = False, users: Users = lambda _: ()
    ) -> list[dict[str, str]]:
        """Untag and/or delete an image as ``docker rmi`` does.

        Args:
            ref: a name[:tag], id or id prefix.
            force: remove even if tagged in several repositories or used by
                stopped containers (never when a running container uses it).
            users: ``image_id -> [(container_id, running), ...]``.

        Returns:
            Docker's records, e.g. ``[{"Untagged": "busybox:latest"}, {"Deleted": "sha256:..."}]``.

        Raises:
            ImageNotFound, Conflict (Docker's messages), Forbidden (the host image).
        """
        async with self._lock:
            image = self.resolve(ref)
            using = list(users(image.id))
            refs = [t for t, i in self._tags.items() if i == image.id]
            records: list[dict[str, str]] = []
            removed_repo_ref = False
            name = self._named_tag(ref)
            if name is not None:
                if name == HOST_KEY:
                    msg = 'image "host" is built into berth and cannot be removed'
                    raise Forbidden(msg)
                if not force and len(refs) == 1 and using:
                    msg = (
                        f'conflict: unable to remove repository reference "{ref}" (must force) - '
                        f"container {_short(using[0][0])} is using its referenced image {_short(image.id)}"
                    )
                    raise Conflict(msg)
                del self._tags[name]
                records.append({"Untagged": _familiar(name)})
                if len(refs) > 1 or image.builtin:
                    await self._save_tags()
                    return records
                removed_repo_ref = True
            else:
                if image.builtin:
                    msg = 'image "host" is built into berth and cannot be removed'
                    raise Forbidden(msg)
                if len(refs) == 1:
                    self._check_conflict(image.id, using, stopped=not force, referenced=False)
                    del self._tags[refs[0]]
                    records.append({"Untagged": _familiar(refs[0])})
            try:
                self._check_conflict(image.id, using, stopped=not force, referenced=not force)
            except Conflict:
                await self._save_tags()
                if removed_repo_ref:
                    return records  # moby: quiet, the untag alone succeeded
                raise
            for t in [t for t, i in self._tags.items() if i == image.id]:
                del self._tags[t]
                records.append({"Untagged": _familiar(t)})
            records.append({"Deleted": image.id})
            records.extend(await self._delete(image, keep_layers=bool(using)))
            await self._save_tags()
            log.info("image.removed", id=image.id)
            return records

    def _named_tag(self, ref: str) -> str | None:
        """The tag key ``ref`` names, when it resolves by name rather than by id."""
        if image_id_of(ref) is not None:
            return None
        try:
            named = normalize(ref)
        except InvalidArgument:
            return None
        key = str(named)
        return key if self._tag_target(key) is not None else None

    def _check_conflict(
        self, iid: str, using: Sequence[tuple[str, bool]], *, stopped: bool, referenced: bool
    ) -> None:
        """moby's checkImageDeleteConflict: running (hard), references, stopped (soft)."""
        short = _short(iid)
        running = [c for c, r in using if r]
        if running:
            msg = f"conflict: unable to delete {short} (cannot be forced) - image is being used by running container {_short(running[0])}"
            raise Conflict(msg)
        if referenced and any(i == iid for i in self._tags.values()):
            msg = f"conflict: unable to delete {short} (must be forced) - image is referenced in multiple repositories"
            raise Conflict(msg)
        idle = [c for c, r in using if not r]
        if stopped and idle:
            msg = f"conflict: unable to delete {short} (must be forced) - image is being used by stopped container {_short(idle[0])}"
            raise Conflict(msg)

    async def _delete(self, image: Image, *, keep_layers: bool) -> list[dict[str, str]]:
        """Drop the image document and every layer no other image uses.

        Layers of an image force-removed from under stopped containers are
        kept: those containers still need them to start.
        """
        del self._records[image.id]
        in_use = {d for r in self._records.values() for d in r.image.layers}
        chains = dict(zip(image.layers, _chain_ids(image.layers), strict=True))
        gone = [] if keep_layers else [d for d in dict.fromkeys(image.layers) if d not in in_use]
        for d in gone:
            self._layer_sizes.pop(d, None)

        def work() -> None:
            (self.root / "images" / f"{image.id.split(':', 1)[1]}.json").unlink(missing_ok=True)
            for d in gone:
                trash = self.root / "tmp" / f"gone-{uuid.uuid4().hex}"
                os.rename(self._layer_dir(d), trash)
                shutil.rmtree(trash, ignore_errors=True)

        await trio.to_thread.run_sync(work)
        return [{"Deleted": chains[d]} for d in gone]

    def list(self) -> builtins.list[Image]:
        """Every image, the ``host`` image included, newest first (as Docker lists them)."""
        images = [self._image(i) for i in self._ids()]
        return sorted(images, key=lambda im: (-im.created, im.id))
