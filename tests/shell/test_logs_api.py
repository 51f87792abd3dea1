"""GET /containers/{id}/logs over a real socket, with a fake engine around a real ContainerLog."""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import trio

from supervisor.api.router import Router
from supervisor.api.routes_logs import add_log_routes, details_prefix, parse_tail
from supervisor.api.stdcopy import FrameDecoder
from supervisor.engine.model import State
from supervisor.errors import NotFound
from supervisor.logs.container_log import ContainerLog
from tests.shell.api_wire import Client, header, running_server

T0 = 1_700_000_000_000_000_000


class FakeEngine:
    def __init__(self, containers: dict[str, Any]) -> None:
        self.containers = containers

    def get(self, ref: str) -> Any:
        try:
            return self.containers[ref]
        except KeyError:
            msg = f"No such container: {ref}"
            raise NotFound(msg) from None


def container(log: ContainerLog | None, *, tty: bool = False, running: bool = False) -> Any:
    return SimpleNamespace(
        record=SimpleNamespace(spec=SimpleNamespace(tty=tty)),
        state=State(running=running, started_at=1),
        log=log,
    )


@pytest.fixture
async def served(tmp_path: Path, nursery: trio.Nursery) -> Any:
    counter = itertools.count()
    log = ContainerLog(tmp_path, "abc", clock=lambda: T0 + next(counter) * 1_000_000_000, attrs={"tag": "web"})
    await nursery.start(log.run_writer)
    log.sink(1, b"out 1\n")
    log.sink(1, b"out 2\n")
    log.sink(2, b"err 1\n")
    log.end_run()
    while log.written_seq < log._queue.seq:
        await log.changed.wait()
    engine = FakeEngine({"abc": container(log), "tty": container(log, tty=True), "none": container(None)})
    router = Router()
    add_log_routes(router, engine)  # type: ignore[arg-type]
    async with running_server(router) as path:
        yield path, log
    await log.close()


async def get(path: str, target: str) -> tuple[Any, bytes]:
    client = await Client.connect(path)
    try:
        return await client.request("GET", target)
    finally:
        await client.aclose()


async def test_frames_and_content_type(served: Any) -> None:
    """Without a TTY every entry is one stdcopy frame; API >= 1.42 says multiplexed."""
    path, _ = served
    response, body = await get(path, "/v1.50/containers/abc/logs?stdout=1&stderr=1")
    assert response.status_code == 200
    assert header(response, "content-type") == "application/vnd.docker.multiplexed-stream"
    assert FrameDecoder().feed(body) == [(1, b"out 1\n"), (1, b"out 2\n"), (2, b"err 1\n")]
    response, _ = await get(path, "/v1.41/containers/abc/logs?stdout=1")
    assert header(response, "content-type") == "application/vnd.docker.raw-stream"


async def test_tty_is_raw(served: Any) -> None:
    path, _ = served
    _, body = await get(path, "/containers/tty/logs?stdout=1&stderr=1")
    assert body == b"out 1\nout 2\nerr 1\n"


async def test_timestamps_details_tail(served: Any) -> None:
    """timestamps=1 prefixes nine-digit RFC3339 + space; details adds attrs; tail counts entries."""
    path, _ = served
    _, body = await get(path, "/containers/abc/logs?stdout=1&stderr=1&timestamps=1&details=1&tail=1")
    assert FrameDecoder().feed(body) == [(2, b"2023-11-14T22:13:22.000000000Z tag=web err 1\n")]


async def test_since_until_wire_format(served: Any) -> None:
    path, _ = served
    _, body = await get(path, f"/containers/abc/logs?stdout=1&stderr=1&since={T0 // 10**9 + 1}&until=0")
    assert [p for _, p in FrameDecoder().feed(body)] == [b"out 2\n", b"err 1\n"]
    _, body = await get(path, f"/containers/abc/logs?stdout=1&until={T0 // 10**9}.5")
    assert [p for _, p in FrameDecoder().feed(body)] == [b"out 1\n"]


@pytest.mark.parametrize(
    ("target", "status", "message"),
    [
        ("/containers/abc/logs", 400, "Bad parameters: you must choose at least one stream"),
        ("/containers/nope/logs?stdout=1", 404, "No such container: nope"),
        ("/containers/none/logs?stdout=1", 501, "configured logging driver does not support reading"),
        ("/containers/abc/logs?stdout=1&since=yesterday", 400, "invalid timestamp"),
    ],
)
async def test_errors_before_headers(served: Any, target: str, status: int, message: str) -> None:
    path, _ = served
    response, body = await get(path, target)
    assert response.status_code == status
    assert message in body.decode()


async def test_follow_only_when_running(served: Any) -> None:
    """A stopped container's follow is history then EOF (Docker's rule)."""
    path, _ = served
    with trio.fail_after(5):
        _, body = await get(path, "/containers/abc/logs?stdout=1&follow=1")
    assert len(FrameDecoder().feed(body)) == 2


@pytest.mark.parametrize(("value", "tail"), [("all", None), ("", None), ("-3", None), ("0", 0), ("12", 12), ("x", None)])
def test_parse_tail(value: str, tail: int | None) -> None:
    assert parse_tail(value) == tail


def test_details_prefix() -> None:
    assert details_prefix(None) == b" "
    assert details_prefix({"b": "x y", "a": "1&2"}) == b"a=1%262,b=x+y "
