"""The API as one router: every route of the Docker Engine API berth serves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from supervisor.api.router import Router
from supervisor.api.routes_containers import ContainerRoutes
from supervisor.api.routes_events import add_event_routes
from supervisor.api.routes_exec import ExecRoutes
from supervisor.api.routes_images import ImageRoutes
from supervisor.api.routes_info import add_info_routes
from supervisor.api.routes_logs import add_log_routes
from supervisor.api.routes_networks import add_network_routes
from supervisor.api.routes_reload import add_reload_routes
from supervisor.api.routes_stats import add_stats_routes
from supervisor.api.routes_system import add_system_routes
from supervisor.api.routes_volumes import add_volume_routes

if TYPE_CHECKING:
    from supervisor.engine.engine import Engine
    from supervisor.events.bus import EventBus
    from supervisor.images.store import ImageStore
    from supervisor.network.manager import NetworkManager
    from supervisor.stats.sampler import StatsSampler
    from supervisor.volumes.service import VolumeService


def build_router(
    *,
    engine: Engine,
    images: ImageStore,
    bus: EventBus,
    sampler: StatsSampler | None = None,
    network: NetworkManager | None = None,
    reload: Callable[[], Awaitable[Any]] | None = None,
    version_info: Callable[[], dict[str, Any]],
    daemon_info: Callable[[], Mapping[str, str]],
    volumes: VolumeService | None = None,
) -> Router:
    router = Router()
    add_system_routes(router, version_info=version_info)
    add_info_routes(router, engine, images, daemon_info)
    add_event_routes(router, bus)
    ContainerRoutes(engine, images).add_to(router)
    ImageRoutes(engine, images).add_to(router)
    ExecRoutes(engine).add_to(router)
    add_log_routes(router, engine)
    if sampler is not None:
        add_stats_routes(router, engine, sampler)
    if network is not None:
        add_network_routes(router, network, engine)
    add_reload_routes(router, reload)
    if volumes is not None:
        add_volume_routes(router, volumes)
    return router


def metrics_router(api: Router) -> Router:
    """A router with only ``GET /metrics`` of ``api``, for ``--metrics-addr`` over TCP."""
    router = Router()
    for route in api.routes():
        if route.pattern == r"/metrics":
            router.add(route.method, route.pattern, route.handler)
    return router
