"""The stats routes over a real socket: engine on the fake runtime, sampler on a fake host."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
import trio.testing

from supervisor.api.router import Router
from supervisor.api.routes_stats import add_stats_routes, parse_unix_time
from supervisor.engine.cgroups import CgroupLayout, CgroupVersion
from supervisor.engine.engine import Engine, EngineConfig
from supervisor.engine.fake import FakeProgram, FakeRuntime
from supervisor.engine.paths import EnginePaths
from supervisor.engine.prepare import BundleContext
from supervisor.errors import InvalidArgument
from supervisor.events.bus import EventBus
from supervisor.stats.sampler import StatsSampler, Target
from tests.shell.api_wire import Client, parse_head, read_until, running_server
from tests.shell.stats_fakes import LAYOUT, FakeHost
from tests.shell.test_engine import FakeMounter, StubImages, spec


class Rig:
    def __init__(self, engine: Engine, host: FakeHost, sampler: StatsSampler, path: str) -> None:
        self.engine, self.host, self.sampler, self.path = engine, host, sampler, path

    async def get(self, target: str) -> tuple[int, dict[str, str], bytes]:
        client = await Client.connect(self.path)
        try:
            response, body = await client.request("GET", target)
        finally:
            await client.aclose()
        return response.status_code, {k.decode().lower(): v.decode() for k, v in response.headers}, body


def targets(engine: Engine) -> list[Target]:
    return [
        Target(c.id, c.name, c.record.spec.image, f"/berth/{c.id}", c.state.pid)
        for c in engine.list()
        if c.state.running
    ]


@pytest.fixture
async def rig(nursery: trio.Nursery, tmp_path: Path, autojump_clock: trio.testing.MockClock) -> AsyncIterator[Rig]:
    runtime = FakeRuntime(nursery, lambda cid: FakeProgram(exit_after=None))
    paths = EnginePaths(tmp_path / "data", tmp_path / "exec")
    for d in paths.all_dirs():
        d.mkdir(parents=True, exist_ok=True)
    engine = Engine(
        EngineConfig(paths=paths), runtime, StubImages(), EventBus(),  # type: ignore[arg-type]
        BundleContext(cgroup_layout=CgroupLayout(version=CgroupVersion.V2)), FakeMounter(),
    )
    await nursery.start(engine.run)
    host = FakeHost()
    sampler = StatsSampler(lambda: targets(engine), LAYOUT, files=host)
    await nursery.start(sampler.run)
    router = Router()
    add_stats_routes(router, engine, sampler)
    async with running_server(router) as path:
        yield Rig(engine, host, sampler, path)


async def running(rig: Rig, name: str = "web") -> str:
    c = await rig.engine.create(spec(), name)
    await rig.engine.start(c.id)
    rig.host.add_container(c.id, c.state.pid)
    return c.id


async def test_no_stream_answers_at_once_with_precpu(rig: Rig, autojump_clock: trio.testing.MockClock) -> None:
    """stream=false: immediate once two samples exist; Docker's shape, Content-Type application/json."""
    cid = await running(rig)
    await trio.sleep(2.5)
    t0 = trio.current_time()
    status, headers, body = await rig.get("/v1.50/containers/web/stats?stream=false")
    assert trio.current_time() - t0 < 0.5  # no waiting for fresh ticks
    assert status == 200 and headers["content-type"] == "application/json"
    js = json.loads(body)
    assert js["name"] == "/web" and js["id"] == cid
    assert js["preread"] != "0001-01-01T00:00:00Z"
    assert js["precpu_stats"]["system_cpu_usage"] == 1000 * 10_000_000
    assert js["networks"]["eth0"]["rx_bytes"] == 100
    assert js["memory_stats"]["limit"] == 8388608 * 1024


async def test_one_shot_has_empty_precpu(rig: Rig, autojump_clock: trio.testing.MockClock) -> None:
    await running(rig)
    await trio.sleep(1.5)
    status, _, body = await rig.get("/containers/web/stats?stream=0&one-shot=1")
    js = json.loads(body)
    assert status == 200 and js["preread"] == "0001-01-01T00:00:00Z"
    assert "system_cpu_usage" not in js["precpu_stats"]


async def test_stream_and_one_shot_is_400(rig: Rig, autojump_clock: trio.testing.MockClock) -> None:
    await running(rig)
    status, _, body = await rig.get("/containers/web/stats?stream=1&one-shot=1")
    assert status == 400
    assert json.loads(body)["message"] == "cannot have stream=true and one-shot=true"


async def test_not_running_gives_docker_empty_object(rig: Rig, autojump_clock: trio.testing.MockClock) -> None:
    await rig.engine.create(spec(), "idle")
    status, _, body = await rig.get("/containers/idle/stats?stream=false")
    js = json.loads(body)
    assert status == 200 and js["name"] == "/idle" and js["read"] == "0001-01-01T00:00:00Z"
    assert js["memory_stats"] == {} and js["blkio_stats"]["io_service_bytes_recursive"] is None


async def test_stream_sends_one_object_per_tick_without_content_type(rig: Rig, autojump_clock: trio.testing.MockClock) -> None:
    """Chunked, no Content-Type, first object's precpu empty, next ones chained by preread."""
    await running(rig)
    await trio.sleep(1.5)
    stream = await trio.open_unix_socket(rig.path)
    await stream.send_all(b"GET /containers/web/stats HTTP/1.1\r\nHost: x\r\n\r\n")
    buf = bytearray()
    head = await read_until(stream, b"\r\n\r\n", buf)
    status, headers = parse_head(head)
    assert "200" in status and "content-type" not in headers
    assert headers["transfer-encoding"] == "chunked"
    objects: list[dict] = []
    t0 = trio.current_time()
    while len(objects) < 3:
        buf += await stream.receive_some(65536)
        text = buf.decode(errors="replace")
        objects = [json.loads(line) for line in text.split("\r\n") if line.startswith("{")]
    await stream.aclose()
    assert objects[0]["preread"] == "0001-01-01T00:00:00Z"
    assert objects[1]["preread"] == objects[0]["read"]
    assert objects[2]["preread"] == objects[1]["read"]
    assert trio.current_time() - t0 <= 2.0


async def test_history_and_bad_since(rig: Rig, autojump_clock: trio.testing.MockClock) -> None:
    await running(rig)
    await trio.sleep(4.5)
    status, _, body = await rig.get("/containers/web/stats/history")
    points = json.loads(body)
    assert status == 200 and len(points) in (4, 5)  # the first tick after start joins within 1 s
    assert set(points[0]) >= {"cpu_percent", "memory_used", "memory_limit", "net_rx_bytes", "net_tx_bytes",
                              "block_read_bytes", "block_write_bytes", "pids"}
    since = points[2]["timestamp"] - 0.25  # half-way between two points (floats are not exact)
    status, _, body = await rig.get(f"/containers/web/stats/history?since={since:.9f}")
    assert len(json.loads(body)) == len(points) - 2
    status, _, body = await rig.get("/containers/web/stats/history?since=yesterday")
    assert status == 400 and "since" in json.loads(body)["message"]


async def test_top_of_stopped_container_is_409(rig: Rig, autojump_clock: trio.testing.MockClock) -> None:
    c = await rig.engine.create(spec(), "idle")
    status, _, body = await rig.get("/containers/idle/top")
    assert status == 409
    assert json.loads(body)["message"] == f"container {c.id} is not running"


async def test_metrics_text(rig: Rig, autojump_clock: trio.testing.MockClock) -> None:
    await running(rig)
    await trio.sleep(1.5)
    status, headers, body = await rig.get("/metrics")
    text = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'container_memory_usage_bytes{id="/berth/' in text and 'name="web"' in text
    assert 'berth_containers{state="running"} 1.0' in text


def test_parse_unix_time() -> None:
    assert parse_unix_time("since", "12.5") == 12_500_000_000
    assert parse_unix_time("since", "") is None
    with pytest.raises(InvalidArgument, match='"until"'):
        parse_unix_time("until", "-1")


async def test_metrics_over_tcp(nursery: trio.Nursery) -> None:
    """``--metrics-addr``: the same exposition over plain TCP."""
    from supervisor.stats.metrics import build_registry, serve_metrics_tcp

    host = FakeHost()
    sampler = StatsSampler(list, LAYOUT, files=host)
    port = await nursery.start(serve_metrics_tcp, "127.0.0.1", 0, build_registry(sampler))
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await stream.send_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while chunk := await stream.receive_some(65536):
        data += chunk
    assert data.startswith(b"HTTP/1.0 200 OK") and b"process_cpu_seconds_total" in data
