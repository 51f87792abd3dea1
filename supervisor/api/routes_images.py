"""Image routes: import (``POST /images/create?fromSrc=-``), list, inspect, tag, remove.

berth has no registry client yet: ``fromImage`` (a pull) answers a clear 404
so the docker CLI reports that the image must be imported first.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from supervisor.api.image_filters import filter_images
from supervisor.api.image_views import image_inspect, image_summary
from supervisor.api.request import Request, Response
from supervisor.errors import ImageNotFound, InvalidArgument
from supervisor.events.model import EventType

if TYPE_CHECKING:
    from supervisor.api.router import Router
    from supervisor.engine.engine import Engine
    from supervisor.images.store import ImageStore


class ImageRoutes:
    def __init__(self, engine: Engine, images: ImageStore) -> None:
        self.engine = engine
        self.images = images

    def add_to(self, router: Router) -> None:
        router.add("POST", r"/images/create", self.create)
        router.add("GET", r"/images/json", self.list)
        router.add("GET", r"/images/(?P<name>.+)/json", self.inspect)
        router.add("POST", r"/images/(?P<name>.+)/tag", self.tag)
        router.add("DELETE", r"/images/(?P<name>.+)", self.remove)

    def _publish(self, action: str, image_id: str, name: str) -> None:
        self.engine.bus.publish(EventType.IMAGE, action, image_id, {"name": name})

    async def create(self, req: Request) -> Response | None:
        source = req.query_str("fromSrc")
        from_image = req.query_str("fromImage")
        if source is None and from_image is None:
            msg = "either fromSrc or fromImage must be set"
            raise InvalidArgument(msg)
        if source is None:
            tag = req.query_str("tag") or ""
            ref = f"{from_image}:{tag}" if tag and "@" not in str(from_image) else str(from_image)
            try:
                image = self.images.resolve(ref)
            except ImageNotFound:
                msg = (
                    f"No such image: {ref}: berth pulls from no registry; "
                    "import a root filesystem with `berth import` or `docker import`"
                )
                raise ImageNotFound(msg) from None
            stream = await req.start_stream(200, "application/json")
            await stream.send(json.dumps({"status": f"Image is up to date for {ref}"}).encode() + b"\r\n")
            await stream.send(json.dumps({"status": f"Digest: {image.id}"}).encode() + b"\r\n")
            return None
        if source != "-":
            msg_0 = "only fromSrc=- (the request body) is supported for import"
            raise InvalidArgument(msg_0)
        repo = req.query_str("repo") or ""
        tag = req.query_str("tag") or ""
        reference = None
        if repo:
            reference = f"{repo}:{tag}" if tag else repo
        changes = req.query.get("changes", [])
        image = await self.images.import_tarball(
            req.body_chunks(), reference=reference, changes=changes,
            message=req.query_str("message") or "",
        )
        self._publish("import", image.id, reference or image.id)
        return Response.json({"status": image.id})

    async def list(self, req: Request) -> Response:
        counts: dict[str, int] = {}
        for c in self.engine.list():
            counts[c.record.spec.image_id] = counts.get(c.record.spec.image_id, 0) + 1
        images = filter_images(
            sorted(self.images.list(), key=lambda i: i.created, reverse=True),
            req.query_filters(),
            self.images.resolve,
        )
        return Response.json([image_summary(i, counts.get(i.id, 0)) for i in images])

    async def inspect(self, req: Request) -> Response:
        return Response.json(image_inspect(self.images.resolve(req.params["name"])))

    async def tag(self, req: Request) -> Response:
        repo = req.query_str("repo")
        if not repo:
            msg = "repository name must have at least one component"
            raise InvalidArgument(msg)
        image = self.images.resolve(req.params["name"])
        tag = req.query_str("tag") or "latest"
        await self.images.tag(req.params["name"], repo, tag)
        self._publish("tag", image.id, f"{repo}:{tag}")
        return Response.empty(201)

    async def remove(self, req: Request) -> Response:
        image = self.images.resolve(req.params["name"])
        # A container removed a moment ago may still have the image's layers mounted.
        await self.engine.settle_teardowns()
        items = await self.images.remove(
            req.params["name"], force=req.query_bool("force"), users=self.engine.users_of_image
        )
        for item in items:
            if "Untagged" in item:
                self._publish("untag", image.id, item["Untagged"])
            if "Deleted" in item:
                self._publish("delete", item["Deleted"], item["Deleted"])
        return Response.json(items)
