"""Stats routes: Docker's ``/containers/{id}/stats`` and ``/top``, berth's ``/stats/history`` and ``/metrics``.

``/stats`` (docker-semantics.md §3.1):
- ``stream`` (default true) sends one object per sampler tick, chunked, with
  no Content-Type (as moby). The first object is the latest sample with
  Docker's empty precpu, sent at once instead of after the next tick; every
  later object carries the previous one as precpu/preread. A container that
  is not running yields Docker's empty object each tick; the stream ends when
  the container is removed.
- ``stream=false`` answers at once from the sampler's last two samples (Docker
  waits for two fresh collections, 1-2 s); only a container sampled fewer
  than twice waits for the ticks it lacks.
- ``one-shot=true`` (API >= 1.41, with stream=false) is the latest sample
  with an empty precpu; ``stream=true&one-shot=true`` is a 400.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import trio

from supervisor.api.request import Request, Response
from supervisor.engine.cgroups import container_cgroup_files
from supervisor.errors import Conflict, InvalidArgument, NotFound
from supervisor.events.model import EventType
from supervisor.stats.docker_json import empty_stats_json, encode, stats_json
from supervisor.stats.metrics import CONTENT_TYPE, DaemonGauges, build_registry, exposition
from supervisor.stats.top import container_top, parse_cgroup_procs

if TYPE_CHECKING:
    from supervisor.api.router import Router
    from supervisor.engine.container import Container
    from supervisor.engine.engine import Engine
    from supervisor.stats.sampler import StatsSampler

_UNIX_TIME = re.compile(r"[0-9]+(\.[0-9]{1,9})?")


def parse_unix_time(name: str, value: str | None) -> int | None:
    """A ``since``/``until`` value as unix ns: ``sec[.nanos]`` (Docker's wire form); "" is unset.

    Raises:
        InvalidArgument: anything else, naming the parameter.
    """
    if value is None or value == "":
        return None
    if _UNIX_TIME.fullmatch(value) is None:
        msg = f'invalid value for "{name}": {value!r} is not a unix timestamp (sec[.nanos])'
        raise InvalidArgument(msg)
    sec, _, frac = value.partition(".")
    return int(sec) * 1_000_000_000 + int(frac.ljust(9, "0") if frac else 0)


def containers_by_state(engine: Engine) -> dict[str, int]:
    """Container counts by Docker status, every status present (for /metrics)."""
    from supervisor.engine.model import Status

    counts = {s.value: 0 for s in Status}
    for c in engine.list():
        counts[c.state.status.value] += 1
    return counts


class StatsRoutes:
    """Handlers bound to the engine and the sampler."""

    def __init__(self, engine: Engine, sampler: StatsSampler) -> None:
        self.engine = engine
        self.sampler = sampler
        self.registry = build_registry(
            sampler,
            DaemonGauges(
                containers_by_state=lambda: containers_by_state(engine),
                events_published=lambda: engine.bus.statistics().published,
            ),
        )

    def add_to(self, router: Router) -> None:
        c = r"/containers/(?P<id>[^/]+)"
        router.add("GET", c + r"/stats", self.stats)
        router.add("GET", c + r"/stats/history", self.history)
        router.add("GET", c + r"/top", self.top)
        router.add("GET", r"/metrics", self.metrics)

    def _exists(self, c: Container) -> bool:
        try:
            return self.engine.get(c.id) is c
        except NotFound:
            return False

    # --- /stats --------------------------------------------------------------------

    async def stats(self, req: Request) -> Response | None:
        c = self.engine.get(req.params["id"])
        stream = req.query_bool("stream", True)
        one_shot = req.query_bool("one-shot", False) if req.api_at_least("1.41") else False
        if stream and one_shot:
            msg = "cannot have stream=true and one-shot=true"
            raise InvalidArgument(msg)
        mem_total = self.sampler.mem_total
        running = c.state.running and not c.state.restarting
        if not stream:
            entry = None
            if running:
                if one_shot:
                    entry = self.sampler.latest(c.id) or await self.sampler.wait_pair(c.id)
                else:
                    entry = await self.sampler.wait_pair(c.id)
            if entry is None:
                return Response.json(empty_stats_json(container_id=c.id, name=c.name))
            pre = None if one_shot else entry.pre
            return Response.json(
                stats_json(entry.cur, pre, container_id=c.id, name=c.name, mem_total=mem_total)
            )
        with self.sampler.subscribe(c.id) as sub:
            out = await req.start_stream(200, content_type=None)
            pre = None
            latest = self.sampler.latest(c.id) if running else None
            if latest is not None:
                await out.send(encode(stats_json(latest.cur, None, container_id=c.id, name=c.name, mem_total=mem_total)))
                pre = latest.cur
            async for item in sub:
                if not self._exists(c):
                    break
                if item is None:
                    await out.send(encode(empty_stats_json(container_id=c.id, name=c.name)))
                    pre = None
                    continue
                if pre is not None and item.read_ns == pre.read_ns:
                    continue
                await out.send(encode(stats_json(item, pre, container_id=c.id, name=c.name, mem_total=mem_total)))
                pre = item
        return None

    async def history(self, req: Request) -> Response:
        c = self.engine.get(req.params["id"])
        since = parse_unix_time("since", req.query_str("since"))
        until = parse_unix_time("until", req.query_str("until"))
        if since is not None and until is not None and until < since:
            msg = "until must not be before since"
            raise InvalidArgument(msg)
        return Response.json([p.to_json() for p in self.sampler.points(c.id, since, until)])

    # --- /top ------------------------------------------------------------------------

    async def top(self, req: Request) -> Response:
        c = self.engine.get(req.params["id"])
        if not c.state.running:
            msg = f"container {c.id} is not running"
            raise Conflict(msg)
        if c.state.restarting:
            msg = f"Container {c.id} is restarting, wait until the container is running"
            raise Conflict(msg)
        cgroups_path = f"{self.engine.config.cgroup_parent}/{c.id}"
        procs = container_cgroup_files(self.sampler.reader.layout, cgroups_path).procs
        text = await trio.to_thread.run_sync(self.sampler.reader.files.read, str(procs))
        pids = parse_cgroup_procs(text or "")
        if not pids and c.state.pid:
            pids = [c.state.pid]
        body = await container_top(pids, req.query_str("ps_args"))
        attrs = dict(c.record.spec.labels)
        attrs["image"] = c.record.spec.image
        attrs["name"] = c.name
        self.engine.bus.publish(EventType.CONTAINER, "top", c.id, attrs)
        return Response.json(body)

    # --- /metrics ----------------------------------------------------------------------

    async def metrics(self, req: Request) -> Response:
        body = await trio.to_thread.run_sync(exposition, self.registry)
        return Response(200, body, CONTENT_TYPE)


def add_stats_routes(router: Router, engine: Engine, sampler: StatsSampler) -> StatsRoutes:
    """Register the stats, history, top and metrics routes; returns the handler object."""
    routes = StatsRoutes(engine, sampler)
    routes.add_to(router)
    return routes
