"""A ring of derived points per container: what ``/stats/history`` and ``berth stats --history`` show.

Full samples are large (memory.stat alone is ~30 numbers), so the ring keeps
only a ``HistoryPoint`` per tick — about 200 bytes, so 100 containers x 15
minutes at 1 Hz is ~20 MB. Rings outlive a container's run (the minutes before
a crash are the interesting ones) and are dropped once their newest point is
older than the window, or when the container is forgotten.

Pure: no clock, no trio; times are unix nanoseconds passed in.
"""

from __future__ import annotations

from collections import deque

from supervisor.stats import math as smath
from supervisor.stats.model import HistoryPoint, Sample


def point_from(cur: Sample, pre: Sample | None, mem_total: int) -> HistoryPoint:
    """The history row for ``cur``, CPU % against ``pre`` (the previous sample of the same run).

    Reads only the samples' ``figures``: the tick never parses files whole.
    """
    f = cur.figures
    return HistoryPoint(
        read_ns=cur.read_ns,
        cpu_percent=smath.sample_cpu_percent(cur, pre) if pre is not None else 0.0,
        cpu_total_ns=f.cpu_total,
        memory_usage=f.memory_usage,
        memory_used=f.memory_used,
        memory_limit=smath.capped_limit(f.memory_limit, mem_total),
        net_rx=f.net_rx,
        net_tx=f.net_tx,
        block_read=f.block_read,
        block_write=f.block_write,
        pids=f.pids,
    )


class StatsHistory:
    """Bounded rings of HistoryPoints, one per container id."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            msg = f"history capacity must be at least 1, got {capacity}"
            raise ValueError(msg)
        self.capacity = capacity
        self._rings: dict[str, deque[HistoryPoint]] = {}

    def record(self, container_id: str, point: HistoryPoint) -> None:
        """Append a point; the oldest falls off once the ring is full."""
        ring = self._rings.get(container_id)
        if ring is None:
            ring = self._rings[container_id] = deque(maxlen=self.capacity)
        ring.append(point)

    def points(
        self, container_id: str, since_ns: int | None = None, until_ns: int | None = None
    ) -> list[HistoryPoint]:
        """Points with since_ns <= read_ns <= until_ns (either bound optional), oldest first."""
        ring = self._rings.get(container_id)
        if not ring:
            return []
        return [
            p
            for p in ring
            if (since_ns is None or p.read_ns >= since_ns) and (until_ns is None or p.read_ns <= until_ns)
        ]

    def forget(self, container_id: str) -> None:
        self._rings.pop(container_id, None)

    def expire(self, now_ns: int, window_ns: int) -> None:
        """Drop the rings whose newest point is older than ``window_ns`` (stopped, long ago)."""
        stale = [cid for cid, ring in self._rings.items() if not ring or ring[-1].read_ns < now_ns - window_ns]
        for cid in stale:
            del self._rings[cid]

    def __contains__(self, container_id: object) -> bool:
        return container_id in self._rings

    def __len__(self) -> int:
        return len(self._rings)
