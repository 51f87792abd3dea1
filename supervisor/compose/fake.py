"""An in-memory ``Backend`` for tests: containers, networks and volumes as dicts.

Shipped in the package (like the engine's FakeRuntime) so shell tests drive
``reconcile`` without a daemon. Behaviour is scripted per service:
``after_start[service]`` is what a started container of that service does —
a list of ``(delay_seconds, ContainerStatus)`` steps applied on the trio
clock, so waits are tested with ``autojump_clock``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import trio

from supervisor.compose import labels as L
from supervisor.compose.plan import Actual
from supervisor.compose.reconcile import BackendError, ContainerStatus


@dataclass
class FakeContainer:
    id: str
    name: str
    body: dict[str, Any]
    status: ContainerStatus = field(default_factory=lambda: ContainerStatus("created"))
    started_at: float | None = None

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.body.get("Labels") or {})


class FakeBackend:
    """Records every call in ``calls`` as ``(method, name-or-id)``."""

    def __init__(self, images: Mapping[str, str] | None = None) -> None:
        self.images = dict(images or {"busybox": "sha256:" + "b" * 64})
        self.containers: dict[str, FakeContainer] = {}
        self.networks: dict[str, dict[str, str]] = {}
        self.volumes: dict[str, dict[str, str]] = {}
        self.calls: list[tuple[str, str]] = []
        self.after_start: dict[str, list[tuple[float, ContainerStatus]]] = {}
        self.fail: dict[tuple[str, str], str] = {}  # (method, name) -> error message
        self._ids = itertools.count(1)

    # ---- helpers for tests

    def by_name(self, name: str) -> FakeContainer:
        for c in self.containers.values():
            if c.name == name:
                return c
        raise KeyError(name)

    def names(self) -> list[str]:
        return sorted(c.name for c in self.containers.values())

    def _get(self, ref: str) -> FakeContainer:
        if ref in self.containers:
            return self.containers[ref]
        for c in self.containers.values():
            if c.name == ref:
                return c
        msg = f"No such container: {ref}"
        raise BackendError(msg, 404)

    def _check(self, method: str, name: str) -> None:
        self.calls.append((method, name))
        if (method, name) in self.fail:
            raise BackendError(self.fail[(method, name)])

    # ---- Backend

    async def list_containers(self, labels: Mapping[str, str | None]) -> list[Actual]:
        await trio.lowlevel.checkpoint()
        out = []
        for c in self.containers.values():
            mine = c.labels
            if all(k in mine and (v is None or mine[k] == v) for k, v in labels.items()):
                out.append(Actual(c.id, c.name, mine.get(L.SERVICE, ""), L.number_of(mine),
                                  mine.get(L.CONFIG_HASH, ""), c.status.status, mine.get(L.PROJECT, ""),
                                  c.status.exit_code if c.status.status == "exited" else None))
        return out

    async def image_id(self, ref: str) -> str | None:
        await trio.lowlevel.checkpoint()
        return self.images.get(ref) or self.images.get(ref.removesuffix(":latest"))

    async def create_container(self, name: str, body: Mapping[str, Any]) -> str:
        self._check("create", name)
        await trio.lowlevel.checkpoint()
        if any(c.name == name for c in self.containers.values()):
            msg = f'Conflict. The container name "/{name}" is already in use'
            raise BackendError(msg, 409)
        cid = f"{next(self._ids):064x}"
        self.containers[cid] = FakeContainer(cid, name, dict(body))
        return cid

    async def start_container(self, ref: str) -> None:
        c = self._get(ref)
        self._check("start", c.name)
        await trio.lowlevel.checkpoint()
        c.status = ContainerStatus("running", 0, "starting" if "Healthcheck" in c.body else "")
        c.started_at = trio.current_time()

    async def stop_container(self, ref: str, timeout: int | None) -> None:
        c = self._get(ref)
        self._check("stop", c.name)
        await trio.lowlevel.checkpoint()
        if c.status.status == "running":
            c.status = ContainerStatus("exited", 143)
            c.started_at = None

    async def remove_container(self, ref: str, *, volumes: bool = False) -> None:
        c = self._get(ref)
        self._check("remove", c.name)
        await trio.lowlevel.checkpoint()
        del self.containers[c.id]

    async def rename_container(self, ref: str, new_name: str) -> None:
        c = self._get(ref)
        self._check("rename", c.name)
        await trio.lowlevel.checkpoint()
        c.name = new_name

    async def container_status(self, ref: str) -> ContainerStatus:
        c = self._get(ref)
        await trio.lowlevel.checkpoint()
        script = self.after_start.get(c.labels.get(L.SERVICE, ""))
        if script and c.started_at is not None:
            elapsed = trio.current_time() - c.started_at
            for delay, status in script:
                if elapsed >= delay:
                    c.status = status
        return c.status

    async def ensure_network(self, name: str, labels: Mapping[str, str], *, driver: str, internal: bool, external: bool) -> bool:
        self._check("ensure_network", name)
        await trio.lowlevel.checkpoint()
        if name in self.networks:
            return False
        if external:
            msg = f"network {name} declared as external, but could not be found"
            raise BackendError(msg, 404)
        self.networks[name] = dict(labels)
        return True

    async def remove_network(self, name: str) -> bool:
        self._check("remove_network", name)
        await trio.lowlevel.checkpoint()
        return self.networks.pop(name, None) is not None

    async def ensure_volume(self, name: str, labels: Mapping[str, str], *, driver: str, driver_opts: Mapping[str, str], external: bool) -> bool:
        self._check("ensure_volume", name)
        await trio.lowlevel.checkpoint()
        if name in self.volumes:
            return False
        if external:
            msg = f"volume {name} declared as external, but could not be found"
            raise BackendError(msg, 404)
        self.volumes[name] = dict(labels)
        return True

    async def remove_volume(self, name: str) -> bool:
        self._check("remove_volume", name)
        await trio.lowlevel.checkpoint()
        return self.volumes.pop(name, None) is not None
