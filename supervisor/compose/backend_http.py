"""``Backend`` over the Docker Engine API (httpx.AsyncClient; works under trio).

The same requests docker compose sends (docker-api.md §5), so the compose
code drives berth, and would drive a real Docker daemon, identically. The
daemon's own ServiceSupervisor uses it against its own socket; ``berth
compose`` uses it from the CLI inside ``trio.run``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import httpx

from supervisor.cli.client import API_VERSION, parse_host
from supervisor.compose import labels as L
from supervisor.compose.plan import Actual
from supervisor.compose.reconcile import BackendError, ContainerStatus

USER_AGENT = "berth-compose/0.1.0"


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text.strip() or f"HTTP {response.status_code}"
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return f"HTTP {response.status_code}"


def _exit_code(status: str) -> int | None:
    """``Exited (3) 2 minutes ago`` → 3 (the list summary has no ExitCode field)."""
    m = re.match(r"Exited \((-?[0-9]+)\)", status)
    return int(m.group(1)) if m else None


class HttpBackend:
    """The engine behind a Docker-API socket. Close it with ``aclose`` (or ``async with``)."""

    def __init__(self, host: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        endpoint = parse_host(host)
        base_url = "http://berth"
        if transport is None:
            if endpoint.socket_path is not None:
                transport = httpx.AsyncHTTPTransport(uds=endpoint.socket_path)
            else:
                transport = httpx.AsyncHTTPTransport()
        if endpoint.address is not None:
            base_url = f"http://{endpoint.address[0]}:{endpoint.address[1]}"
        self.host = endpoint.host
        self._http = httpx.AsyncClient(
            transport=transport, base_url=base_url, timeout=None, headers={"User-Agent": USER_AGENT}
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> HttpBackend:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _call(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
        body: Any = None, ok: tuple[int, ...] = (),
    ) -> httpx.Response:
        try:
            response = await self._http.request(
                method, f"/v{API_VERSION}{path}", params=params,
                json=body if body is not None else None,
            )
        except httpx.TransportError as exc:
            msg = f"cannot reach the engine at {self.host}: {exc}"
            raise BackendError(msg, 503) from exc
        if response.status_code >= 400 and response.status_code not in ok:
            raise BackendError(_message(response), response.status_code)
        return response

    async def list_containers(self, labels: Mapping[str, str | None]) -> list[Actual]:
        filters = json.dumps({"label": [k if v is None else f"{k}={v}" for k, v in labels.items()]})
        response = await self._call("GET", "/containers/json", params={"all": "1", "filters": filters})
        out = []
        for item in response.json() or []:
            item_labels = item.get("Labels") or {}
            names = item.get("Names") or [""]
            out.append(Actual(
                id=item["Id"],
                name=min(names, key=len).lstrip("/"),
                service=item_labels.get(L.SERVICE, ""),
                number=L.number_of(item_labels),
                config_hash=item_labels.get(L.CONFIG_HASH, ""),
                state=str(item.get("State") or ""),
                project=item_labels.get(L.PROJECT, ""),
                exit_code=_exit_code(str(item.get("Status") or "")),
            ))
        return out

    async def image_id(self, ref: str) -> str | None:
        response = await self._call("GET", f"/images/{ref}/json", ok=(404,))
        if response.status_code == 404:
            return None
        return str(response.json()["Id"])

    async def create_container(self, name: str, body: Mapping[str, Any]) -> str:
        response = await self._call("POST", "/containers/create", params={"name": name}, body=dict(body))
        return str(response.json()["Id"])

    async def start_container(self, ref: str) -> None:
        await self._call("POST", f"/containers/{ref}/start")

    async def stop_container(self, ref: str, timeout: int | None) -> None:
        params = {"t": str(timeout)} if timeout is not None else None
        await self._call("POST", f"/containers/{ref}/stop", params=params, ok=(404,))

    async def remove_container(self, ref: str, *, volumes: bool = False) -> None:
        await self._call(
            "DELETE", f"/containers/{ref}", params={"force": "1", "v": "1" if volumes else "0"}, ok=(404,)
        )

    async def rename_container(self, ref: str, new_name: str) -> None:
        await self._call("POST", f"/containers/{ref}/rename", params={"name": new_name})

    async def container_status(self, ref: str) -> ContainerStatus:
        data = (await self._call("GET", f"/containers/{ref}/json")).json()
        state = data.get("State") or {}
        health = state.get("Health") or {}
        return ContainerStatus(
            status=str(state.get("Status") or ""),
            exit_code=int(state.get("ExitCode") or 0),
            health=str(health.get("Status") or ""),
        )

    async def ensure_network(
        self, name: str, labels: Mapping[str, str], *, driver: str, internal: bool, external: bool
    ) -> bool:
        found = await self._call("GET", f"/networks/{name}", ok=(404,))
        if found.status_code != 404:
            return False
        if external:
            msg = f"network {name} declared as external, but could not be found"
            raise BackendError(msg, 404)
        body: dict[str, Any] = {
            "Name": name, "CheckDuplicate": True, "Labels": dict(labels), "Attachable": True,
        }
        if driver:
            body["Driver"] = driver
        if internal:
            body["Internal"] = True
        await self._call("POST", "/networks/create", body=body)
        return True

    async def remove_network(self, name: str) -> bool:
        response = await self._call("DELETE", f"/networks/{name}", ok=(404,))
        return response.status_code != 404

    async def ensure_volume(
        self, name: str, labels: Mapping[str, str], *, driver: str, driver_opts: Mapping[str, str], external: bool
    ) -> bool:
        found = await self._call("GET", f"/volumes/{name}", ok=(404,))
        if found.status_code != 404:
            return False
        if external:
            msg = f"volume {name} declared as external, but could not be found"
            raise BackendError(msg, 404)
        body: dict[str, Any] = {"Name": name, "Labels": dict(labels)}
        if driver:
            body["Driver"] = driver
        if driver_opts:
            body["DriverOpts"] = dict(driver_opts)
        await self._call("POST", "/volumes/create", body=body)
        return True

    async def remove_volume(self, name: str) -> bool:
        response = await self._call("DELETE", f"/volumes/{name}", ok=(404,))
        return response.status_code != 404
