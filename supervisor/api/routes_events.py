"""``GET /events``: replay from the persisted history, then live events, as Docker streams them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from supervisor.api.request import Request
from supervisor.events.filters import EventFilter, parse_timestamp
from supervisor.events.model import to_docker
from supervisor.events.stream import open_event_stream

if TYPE_CHECKING:
    from supervisor.api.router import Router
    from supervisor.events.bus import EventBus


def add_event_routes(router: Router, bus: EventBus) -> None:
    async def events(req: Request) -> None:
        event_filter = EventFilter.from_query(req.query_str("filters"))
        since = parse_timestamp(req.query_str("since"))
        until = parse_timestamp(req.query_str("until"))
        async with open_event_stream(bus, event_filter, since, until) as stream:
            out = await req.start_stream(200, "application/json")
            async for event in stream:
                await out.send(json.dumps(to_docker(event)).encode() + b"\n")

    router.add("GET", r"/events", events)
