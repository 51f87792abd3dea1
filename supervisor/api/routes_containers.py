"""Container routes of the Docker Engine API: create, list, inspect, lifecycle, wait, attach.

Handlers translate between the wire and the engine; every decision lives in
the engine or in the pure view/parse modules. The order of work in the
streaming handlers matters to clients: a lookup error must still be a plain
HTTP error, so the container is resolved before headers are flushed; the
wait and attach subscriptions are registered before the reply so that an exit
racing the request is never missed.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import trio

from supervisor.api import container_views as views
from supervisor.api.container_filters import parse_list_filters, select
from supervisor.api.create_body import apply_update, parse_create, parse_update
from supervisor.api.request import Request, Response
from supervisor.api.routes_networks import parse_endpoint_config
from supervisor.api.stdcopy import frame
from supervisor.engine.container import Container
from supervisor.engine.output import STDERR, STDOUT
from supervisor.errors import ImageNotFound, InvalidArgument, NotFound

if TYPE_CHECKING:
    from supervisor.api.hijack import HijackedStream
    from supervisor.api.router import Router
    from supervisor.engine.engine import Engine
    from supervisor.engine.model import ContainerRecord
    from supervisor.images.model import Image
    from supervisor.images.store import ImageStore

MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
RAW = "application/vnd.docker.raw-stream"


def _health_of(record: ContainerRecord) -> str:
    health = record.state.health
    return "none" if health is None else str(health.status)


def endpoints_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """NetworkingConfig.EndpointsConfig as the network manager takes it (None: none given)."""
    networking = body.get("NetworkingConfig")
    if not isinstance(networking, dict):
        return None
    raw = networking.get("EndpointsConfig")
    if not isinstance(raw, dict):
        return None
    return {
        ("bridge" if name == "default" else name): parse_endpoint_config(
            cfg if isinstance(cfg, dict) else {}
        )
        for name, cfg in raw.items()
    }


class ContainerRoutes:
    """Handlers bound to one engine and image store."""

    def __init__(self, engine: Engine, images: ImageStore) -> None:
        self.engine = engine
        self.images = images

    def add_to(self, router: Router) -> None:
        c = r"/containers/(?P<id>[^/]+)"
        router.add("POST", r"/containers/create", self.create)
        router.add("GET", r"/containers/json", self.list)
        router.add("GET", c + r"/json", self.inspect)
        router.add("POST", c + r"/start", self.start)
        router.add("POST", c + r"/stop", self.stop)
        router.add("POST", c + r"/restart", self.restart)
        router.add("POST", c + r"/kill", self.kill)
        router.add("POST", c + r"/pause", self.pause)
        router.add("POST", c + r"/unpause", self.unpause)
        router.add("POST", c + r"/rename", self.rename)
        router.add("POST", c + r"/wait", self.wait)
        router.add("POST", c + r"/attach", self.attach)
        router.add("POST", c + r"/resize", self.resize)
        router.add("POST", c + r"/update", self.update)
        router.add("DELETE", c, self.remove)

    def _image_of(self, c: Container) -> Image | None:
        try:
            return self.images.resolve(c.record.spec.image_id)
        except NotFound:
            return None

    # --- create / list / inspect ---------------------------------------------------

    async def create(self, req: Request) -> Response:
        body = await req.json()
        name = req.query_str("name") or None
        image_ref = body.get("Image")
        if not isinstance(image_ref, str) or not image_ref:
            msg = "config cannot be empty in order to create a container"
            raise InvalidArgument(msg)
        try:
            image = self.images.resolve(image_ref)
        except ImageNotFound as exc:
            msg = f"No such image: {image_ref}"
            raise ImageNotFound(msg) from exc
        spec = parse_create(body, image, name=name)
        container = await self.engine.create(spec, name, endpoints=endpoints_of(body))
        return Response.json({"Id": container.id, "Warnings": []}, status=201)

    async def list(self, req: Request) -> Response:
        filters = parse_list_filters(req.query_filters())
        records = [c.record for c in self.engine.list()]
        chosen = select(
            records,
            all=req.query_bool("all"),
            limit=req.query_int("limit", -1),
            filter=filters,
            lookup=self._lookup_record,
            resolve_image=self._resolve_image_id,
            health_of=_health_of,
        )
        now = time.time_ns()
        return Response.json(
            [
                views.summary(
                    r, image_id=r.spec.image_id, now_ns=now,
                    health=r.state.health.status if r.state.health and r.state.running else None,
                    extra=self.engine.summary_extra(self.engine.get(r.id)),
                )
                for r in chosen
            ]
        )

    def _lookup_record(self, ref: str) -> ContainerRecord | None:
        return self.engine.get(ref).record

    def _resolve_image_id(self, ref: str) -> str | None:
        try:
            return self.images.resolve(ref).id
        except NotFound:
            return None

    async def inspect(self, req: Request) -> Response:
        c = self.engine.get(req.params["id"])
        body = views.inspect(
            c.record,
            image=self._image_of(c),
            now_ns=time.time_ns(),
            log_path=str(self.engine.paths.log_file(c.id)),
            extra=self.engine.container_view_extra(c),
        )
        return Response.json(body)

    # --- lifecycle --------------------------------------------------------------------

    async def start(self, req: Request) -> Response:
        await self.engine.start(req.params["id"])
        return Response.empty(204)

    @staticmethod
    def _timeout(req: Request) -> int | None:
        for name in ("t", "timeout"):
            if req.query_str(name) not in (None, ""):
                return req.query_int(name, 0)
        return None

    async def stop(self, req: Request) -> Response:
        with trio.CancelScope(shield=True):  # a client that goes away does not abort a stop
            await self.engine.stop(
                req.params["id"], timeout=self._timeout(req), signal=req.query_str("signal") or None
            )
        return Response.empty(204)

    async def restart(self, req: Request) -> Response:
        with trio.CancelScope(shield=True):
            await self.engine.restart(
                req.params["id"], timeout=self._timeout(req), signal=req.query_str("signal") or None
            )
        return Response.empty(204)

    async def kill(self, req: Request) -> Response:
        await self.engine.kill(req.params["id"], req.query_str("signal") or None)
        return Response.empty(204)

    async def pause(self, req: Request) -> Response:
        await self.engine.pause(req.params["id"])
        return Response.empty(204)

    async def unpause(self, req: Request) -> Response:
        await self.engine.unpause(req.params["id"])
        return Response.empty(204)

    async def update(self, req: Request) -> Response:
        c = self.engine.get(req.params["id"])
        spec = apply_update(c.record.spec, parse_update(await req.json()))
        await self.engine.update(c, spec)
        return Response.json({"Warnings": []})

    async def rename(self, req: Request) -> Response:
        name = req.query_str("name")
        if not name:
            msg = "Neither old nor new names may be empty"
            raise InvalidArgument(msg)
        self.engine.rename(req.params["id"], name)
        return Response.empty(204)

    async def remove(self, req: Request) -> Response:
        if req.query_bool("link"):
            msg = "Conflict, cannot remove the default link name of the container"
            raise InvalidArgument(msg)
        with trio.CancelScope(shield=True):
            await self.engine.remove(
                req.params["id"], force=req.query_bool("force"), remove_volumes=req.query_bool("v")
            )
        return Response.empty(204)

    async def resize(self, req: Request) -> Response:
        self.engine.get(req.params["id"])
        req.query_int("h", 0)
        req.query_int("w", 0)
        return Response.text("", status=200)

    # --- wait / attach -------------------------------------------------------------------

    async def wait(self, req: Request) -> Response | None:
        c = self.engine.get(req.params["id"])
        condition = self.engine.check_wait_condition(req.query_str("condition"))
        waiter = self.engine.register_wait(c, condition)
        try:
            stream = await req.start_stream(200, "application/json")
            await waiter.event.wait()
            error = None if waiter.error is None else {"Message": waiter.error}
            await stream.send(json.dumps({"StatusCode": waiter.exit_code, "Error": error}).encode() + b"\n")
        finally:
            self.engine.cancel_wait(c, waiter)
        return None

    async def attach(self, req: Request) -> Response | None:
        c = self.engine.get(req.params["id"])
        want_stdout = req.query_bool("stdout")
        want_stderr = req.query_bool("stderr")
        want_stdin = req.query_bool("stdin")
        streaming = req.query_bool("stream")
        tty = c.record.spec.tty
        content_type = MULTIPLEXED if (not tty and req.api_at_least("1.42")) else RAW
        with c.output.subscribe() as chunks:
            conn = await req.hijack(content_type)
            if not streaming:
                await conn.send_eof()
                return None
            async with trio.open_nursery() as nursery:
                if want_stdin and c.record.spec.open_stdin:
                    nursery.start_soon(self._copy_stdin, conn, c)
                try:
                    async for stream_id, data in chunks:
                        if (stream_id == STDOUT and not want_stdout) or (
                            stream_id == STDERR and not want_stderr
                        ):
                            continue
                        await conn.send_all(data if tty else frame(stream_id, data))
                    await conn.send_eof()
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    pass
                nursery.cancel_scope.cancel()
        return None

    async def _copy_stdin(self, conn: HijackedStream, c: Container) -> None:
        """Client → container stdin; the client's half-close ends stdin when StdinOnce."""
        while True:
            try:
                data = await conn.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                data = b""
            if c.stdin is None and not c.launched.is_set():
                # `docker run -i` sends its input from the moment it attached, before its
                # start: it waits for the container's stdin (Docker's is made at create).
                await c.launched.wait()
            stdin = c.stdin
            if not data:
                if c.record.spec.stdin_once and stdin is not None:
                    c.stdin = None
                    await stdin.aclose()
                return
            if stdin is None:
                continue
            try:
                await stdin.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                return
