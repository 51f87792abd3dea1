"""Network routes of the Docker Engine API: list, inspect, create, remove, prune, connect, disconnect.

Handlers translate between the wire and the network manager; the shapes
live in ``network.views``. Container references in connect/disconnect are
resolved through the engine (Docker's lookup order), and the manager is told
whether the container runs so that a running one is wired at once while a
created one (compose's disconnect+connect before start) is only recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from supervisor.api.request import Request, Response
from supervisor.errors import InvalidArgument, NotFound
from supervisor.network import views
from supervisor.network.model import EndpointConfig

if TYPE_CHECKING:
    from supervisor.api.router import Router
    from supervisor.engine.engine import Engine
    from supervisor.network.manager import NetworkManager


def _obj(body: dict[str, Any], key: str, what: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        msg = f"json: cannot unmarshal {type(value).__name__} into Go struct field {what} of type object"
        raise InvalidArgument(msg)
    return value


def _str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        msg = f"json: cannot unmarshal {type(value).__name__} into Go struct field {key} of type string"
        raise InvalidArgument(msg)
    return value


def _strmap(body: dict[str, Any], key: str) -> dict[str, str]:
    value = _obj(body, key, key)
    if not all(isinstance(v, str) for v in value.values()):
        msg = f"json: cannot unmarshal into Go struct field {key} of type map[string]string"
        raise InvalidArgument(msg)
    return value


def parse_endpoint_config(raw: dict[str, Any]) -> EndpointConfig:
    """An EndpointSettings body (Aliases, IPAMConfig.IPv4Address) into an EndpointConfig."""
    aliases = raw.get("Aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        msg = "json: cannot unmarshal into Go struct field EndpointSettings.Aliases of type []string"
        raise InvalidArgument(msg)
    ipam = _obj(raw, "IPAMConfig", "EndpointSettings.IPAMConfig")
    return EndpointConfig(aliases=tuple(dict.fromkeys(aliases)), ipv4_address=_str(ipam, "IPv4Address"))


def parse_create_network(body: dict[str, Any]) -> dict[str, Any]:
    """``POST /networks/create``'s body into ``NetworkManager.create_network`` keywords.

    Raises:
        InvalidArgument: wrong types, IPv6, several IPAM configs, a non-default IPAM driver.
    """
    name = _str(body, "Name")
    if not name:
        msg = "network name must not be empty"
        raise InvalidArgument(msg)
    if body.get("EnableIPv6"):
        msg = "IPv6 networks are not supported by berth"
        raise InvalidArgument(msg)
    ipam = _obj(body, "IPAM", "NetworkCreateRequest.IPAM")
    if _str(ipam, "Driver") not in ("", "default"):
        msg = f"IPAM driver {ipam['Driver']!r} is not supported"
        raise InvalidArgument(msg)
    configs = ipam.get("Config") or []
    if not isinstance(configs, list) or not all(isinstance(c, dict) for c in configs):
        msg = "json: cannot unmarshal into Go struct field IPAM.Config of type []network.IPAMConfig"
        raise InvalidArgument(msg)
    if len(configs) > 1:
        msg = "berth supports one IPv4 subnet per network"
        raise InvalidArgument(msg)
    config = configs[0] if configs else {}
    if _str(config, "IPRange") or config.get("AuxiliaryAddresses"):
        msg = "IPAM IPRange and AuxiliaryAddresses are not supported by berth"
        raise InvalidArgument(msg)
    return {
        "name": name,
        "driver": _str(body, "Driver") or "bridge",
        "internal": bool(body.get("Internal")),
        "attachable": bool(body.get("Attachable")),
        "labels": _strmap(body, "Labels"),
        "options": _strmap(body, "Options"),
        "subnet": _str(config, "Subnet"),
        "gateway": _str(config, "Gateway"),
    }


class NetworkRoutes:
    """Handlers bound to one network manager and engine."""

    def __init__(self, manager: NetworkManager, engine: Engine) -> None:
        self.manager = manager
        self.engine = engine

    def add_to(self, router: Router) -> None:
        n = r"/networks/(?P<id>[^/]+)"
        router.add("GET", r"/networks", self.list)
        router.add("GET", r"/networks/", self.list)
        router.add("POST", r"/networks/create", self.create)
        router.add("POST", r"/networks/prune", self.prune)
        router.add("GET", n, self.inspect)
        router.add("DELETE", n, self.remove)
        router.add("POST", n + r"/connect", self.connect)
        router.add("POST", n + r"/disconnect", self.disconnect)

    async def list(self, req: Request) -> Response:
        filters = req.query_filters()
        chosen = views.select(self.manager.list(), filters, self.manager.in_use())
        return Response.json([views.network_json(n) for n in chosen])

    async def inspect(self, req: Request) -> Response:
        n = self.manager.get(req.params["id"])
        return Response.json(views.network_json(n, self.manager.containers_of(n.id)))

    async def create(self, req: Request) -> Response:
        kwargs = parse_create_network(await req.json())
        n = await self.manager.create_network(**kwargs)
        return Response.json({"Id": n.id, "Warning": ""}, status=201)

    async def remove(self, req: Request) -> Response:
        await self.manager.remove_network(req.params["id"])
        return Response.empty(204)

    async def prune(self, req: Request) -> Response:
        removed = await self.manager.prune(req.query_filters())
        return Response.json({"NetworksDeleted": removed or None})

    def _container(self, body: dict[str, Any]) -> Any:
        ref = _str(body, "Container")
        if not ref:
            msg = "container is required"
            raise InvalidArgument(msg)
        try:
            return self.engine.get(ref)
        except (KeyError, NotFound) as exc:
            msg = f"No such container: {ref}"
            raise NotFound(msg) from exc

    async def connect(self, req: Request) -> Response:
        body = await req.json()
        c = self._container(body)
        cfg = parse_endpoint_config(_obj(body, "EndpointConfig", "NetworkConnectRequest.EndpointConfig"))
        async with self.engine.changing_networks(c):
            # Read under the container's lock: a start under way has finished.
            running = c.state.running and not c.state.restarting
            await self.manager.connect(
                req.params["id"], c.id, c.name, c.record.spec, cfg,
                running_pid=c.state.pid if running else 0,
            )
        return Response.empty(200)

    async def disconnect(self, req: Request) -> Response:
        body = await req.json()
        c = self._container(body)
        async with self.engine.changing_networks(c):
            await self.manager.disconnect(req.params["id"], c.id, c.record.spec, force=bool(body.get("Force")))
        return Response.empty(200)


def add_network_routes(router: Router, manager: NetworkManager, engine: Engine) -> None:
    """Register the network routes on ``router``."""
    NetworkRoutes(manager, engine).add_to(router)
