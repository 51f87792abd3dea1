"""The /volumes routes over a real socket: Docker's statuses and bodies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from supervisor.api.router import Router
from supervisor.api.routes_volumes import add_volume_routes
from supervisor.events.bus import EventBus
from supervisor.volumes.service import VolumeService
from supervisor.volumes.store import VolumeStore
from tests.shell.api_wire import Client, running_server


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[Client, VolumeService]]:
    service = VolumeService(VolumeStore(tmp_path / "volumes"), EventBus())
    await service.load()
    router = Router()
    add_volume_routes(router, service)
    async with running_server(router) as path:
        client = await Client.connect(path)
        try:
            yield client, service
        finally:
            await client.aclose()


async def call(client: Client, method: str, target: str, body: object = None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    response, raw = await client.request(method, target, data)
    return response.status_code, (json.loads(raw) if raw else None)


async def test_volume_lifecycle_over_http(api: tuple[Client, VolumeService]) -> None:
    """create (201, idempotent), list with filters, inspect, 409 in use, delete, 404 after."""
    client, service = api
    status, vol = await call(client, "POST", "/v1.50/volumes/create", {"Name": "data", "Labels": {"a": "b"}})
    assert status == 201 and vol["Name"] == "data" and vol["Labels"] == {"a": "b"} and vol["Scope"] == "local"
    status, again = await call(client, "POST", "/volumes/create", {"Name": "data"})
    assert status == 201 and again == vol
    await call(client, "POST", "/volumes/create", {"Name": "other"})
    status, listing = await call(client, "GET", "/volumes")
    assert status == 200 and [v["Name"] for v in listing["Volumes"]] == ["data", "other"]
    assert listing["Warnings"] == []
    _, filtered = await call(client, "GET", '/volumes?filters={"label":["a=b"]}')
    assert [v["Name"] for v in filtered["Volumes"]] == ["data"]
    status, err = await call(client, "GET", '/volumes?filters={"bogus":["1"]}')
    assert status == 400 and err["message"] == "invalid filter 'bogus'"
    assert await call(client, "GET", "/volumes/data") == (200, vol)
    status, err = await call(client, "GET", "/volumes/nope")
    assert (status, err["message"]) == (404, "get nope: no such volume")
    status, err = await call(client, "POST", "/volumes/create", {"Name": "x1", "Driver": "nfs"})
    assert status == 400
    spec = type("S", (), {"binds": ("data:/d",), "volumes": (), "tmpfs": {}, "labels": {}})()
    await service.register("f" * 64, spec, volumes_from=lambda ref: ("", spec))  # type: ignore[arg-type]
    status, err = await call(client, "DELETE", "/volumes/data?force=1")
    assert (status, err["message"]) == (409, f"remove data: volume is in use - [{'f' * 64}]")
    assert (await call(client, "DELETE", "/volumes/other"))[0] == 204
    assert (await call(client, "DELETE", "/volumes/other"))[0] == 404
    assert (await call(client, "DELETE", "/volumes/other?force=1"))[0] == 204


async def test_prune_rules_by_api_version(api: tuple[Client, VolumeService]) -> None:
    """API 1.42+: named volumes survive unless all=true; older clients prune every unused volume."""
    client, _ = api
    await call(client, "POST", "/volumes/create", {"Name": "named"})
    assert await call(client, "POST", "/v1.50/volumes/prune") == (200, {"VolumesDeleted": [], "SpaceReclaimed": 0})
    assert (await call(client, "POST", "/v1.41/volumes/prune"))[1]["VolumesDeleted"] == ["named"]
    await call(client, "POST", "/volumes/create", {"Name": "named"})
    _, report = await call(client, "POST", '/volumes/prune?filters={"all":["true"]}')
    assert report["VolumesDeleted"] == ["named"]
