"""``POST /berth/reload``: reload the daemon's service files (``berth reload``, like SIGHUP).

A berth extension (Docker has no such route). The answer is always 200 with
``{"ok": bool, "error": str, "changes": [str], "warnings": [str], "projects": [str]}``
so the client sees what changed even when part of the reload failed; a file
that does not load gives ``ok: false`` and changes nothing. A daemon started
without ``-c`` answers ``ok: true`` with a warning saying so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from supervisor.api.request import Request, Response
from supervisor.api.router import Router

if TYPE_CHECKING:
    from supervisor.compose.service import ReloadResult

Reload = Callable[[], Awaitable["ReloadResult"]]

NO_FILES = "the daemon has no service files (start it with: berth daemon -c FILE_OR_DIR)"


def reload_handler(reload: Reload | None) -> Callable[[Request], Awaitable[Response]]:
    """The handler of ``POST /berth/reload``; ``reload`` is ``ServiceSupervisor.reload``."""

    async def handle(req: Request) -> Response:
        del req
        if reload is None:
            return Response.json({"ok": True, "error": "", "changes": [], "warnings": [NO_FILES], "projects": []})
        result = await reload()
        return Response.json(result.to_json())

    return handle


def add_reload_routes(router: Router, reload: Reload | None) -> None:
    router.add("POST", r"/berth/reload", reload_handler(reload))
