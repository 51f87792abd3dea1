"""Volume routes: ``/volumes`` list, create, inspect, remove, prune (Docker's API v1.50).

Creating a name that exists answers 201 with the existing volume, as Docker
does (compose relies on it). Only the ``local`` driver exists; another driver
is a 400. Prune removes only anonymous volumes unless ``all=true``, from API
1.42 on; older clients get the old "every unused volume" rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from supervisor.api.request import Request, Response
from supervisor.errors import InvalidArgument

if TYPE_CHECKING:
    from supervisor.api.router import Router
    from supervisor.volumes.service import VolumeService


def _str_map(body: Mapping[str, Any], key: str) -> dict[str, str]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        msg = f"json: cannot unmarshal {type(value).__name__} into Go struct field CreateOptions.{key} of type map[string]string"
        raise InvalidArgument(msg)
    out = {}
    for k, v in value.items():
        if v is not None and not isinstance(v, str):
            msg = f"json: cannot unmarshal {type(v).__name__} into Go struct field CreateOptions.{key} of type string"
            raise InvalidArgument(msg)
        out[str(k)] = v or ""
    return out


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        msg = f"json: cannot unmarshal {type(value).__name__} into Go struct field CreateOptions.{key} of type string"
        raise InvalidArgument(msg)
    return value


class VolumeRoutes:
    def __init__(self, volumes: VolumeService) -> None:
        self.volumes = volumes

    def add_to(self, router: Router) -> None:
        router.add("GET", r"/volumes", self.list)
        router.add("POST", r"/volumes/create", self.create)
        router.add("POST", r"/volumes/prune", self.prune)
        router.add("GET", r"/volumes/(?P<name>[^/]+)", self.inspect)
        router.add("DELETE", r"/volumes/(?P<name>[^/]+)", self.remove)

    async def list(self, req: Request) -> Response:
        found = self.volumes.list(req.query_filters())
        return Response.json({"Volumes": [self.volumes.view(v) for v in found], "Warnings": []})

    async def create(self, req: Request) -> Response:
        body = await req.json()
        volume = await self.volumes.create(
            _text(body, "Name") or None,
            driver=_text(body, "Driver"),
            labels=_str_map(body, "Labels"),
            options=_str_map(body, "DriverOpts"),
        )
        return Response.json(self.volumes.view(volume), status=201)

    async def inspect(self, req: Request) -> Response:
        return Response.json(self.volumes.view(self.volumes.get(req.params["name"])))

    async def remove(self, req: Request) -> Response:
        await self.volumes.remove(req.params["name"], force=req.query_bool("force"))
        return Response.empty(204)

    async def prune(self, req: Request) -> Response:
        report = await self.volumes.prune(
            req.query_filters(), only_anonymous_default=req.api_at_least("1.42")
        )
        return Response.json(report)


def add_volume_routes(router: Router, volumes: VolumeService) -> None:
    """Register the volume routes on ``router``."""
    VolumeRoutes(volumes).add_to(router)


__all__ = ["VolumeRoutes", "add_volume_routes"]
