"""The berth command line: docker's verbs over the daemon's API.

httpx imports its own command-line client (``httpx._main``: click, rich and
pygments, about 110 ms) whenever those are installed, and ours are. berth
never runs it, and every ``berth`` command paid that at start-up, so a stand-in
module is registered before httpx is first imported. ``httpx.main`` then says
where the real one is instead of running.
"""

from __future__ import annotations

import sys
import types


def _httpx_cli_unavailable() -> None:
    msg = "the httpx command-line client is not loaded inside berth; run it on its own"
    raise SystemExit(msg)


if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
    _stand_in = types.ModuleType("httpx._main", "Stand-in: berth does not load httpx's CLI.")
    _stand_in.main = _httpx_cli_unavailable  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = _stand_in
