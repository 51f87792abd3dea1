"""Whether the engine is busy starting or ending a container: background work waits for a lull.

Some work is worth doing ahead of need or after the fact, but not while a
container is starting or exiting, where it would compete for the same locks
(rtnl, mounts), the GIL and the disk: making spare network namespaces
(``network.spares``), deleting removed containers' directories (the
container store). The engine marks each start and each exit with
``busy()``; such work first awaits ``wait_quiet()``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import trio

QUIET = 0.005  # seconds without a start or an exit in progress: a lull


class Activity:
    """Counts the engine's starts and exits in progress; ``wait_quiet`` waits for a lull."""

    def __init__(self, quiet: float = QUIET) -> None:
        self.quiet = quiet
        self.in_progress = 0
        self._last = -math.inf
        self._changed = trio.Event()

    def _change(self) -> None:
        self._last = trio.current_time()
        self._changed.set()
        self._changed = trio.Event()

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        """Mark a start or an exit in progress for the duration of the block."""
        self.in_progress += 1
        self._change()
        try:
            yield
        finally:
            self.in_progress -= 1
            self._change()

    async def wait_quiet(self) -> None:
        """Return once nothing has been in progress for ``quiet`` seconds."""
        while True:
            if self.in_progress:
                await self._changed.wait()
                continue
            remaining = self._last + self.quiet - trio.current_time()
            if remaining <= 0:
                return
            with trio.move_on_after(remaining):
                await self._changed.wait()
