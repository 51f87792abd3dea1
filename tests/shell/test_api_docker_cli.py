"""The real docker CLI 28.2.2 against the server: version, a hijacked exec, a streamed wait."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile

import pytest
import trio

from supervisor.api.hijack import MULTIPLEXED_STREAM
from supervisor.api.request import Request, Response
from supervisor.api.router import Router
from supervisor.api.routes_system import add_system_routes, host_version_body
from supervisor.api.stdcopy import frame
from tests.shell.api_wire import running_server

DOCKER = shutil.which("docker")
pytestmark = pytest.mark.skipif(DOCKER is None, reason="docker CLI not installed")

CID = "c0ffee" * 10 + "abcd"


def make_router(seen: list[str]) -> Router:
    router = Router()
    add_system_routes(router, version_info=functools.cache(host_version_body))

    async def inspect(req: Request) -> Response:
        return Response.json(
            {
                "Id": CID,
                "Name": "/web",
                "State": {
                    "Status": "running",
                    "Running": True,
                    "Paused": False,
                    "Restarting": False,
                },
                "Config": {"Tty": False, "OpenStdin": False},
            }
        )

    async def exec_create(req: Request) -> Response:
        body = await req.json()
        seen.append(" ".join(body["Cmd"]))
        return Response.json({"Id": "e1"}, status=201)

    async def exec_start(req: Request) -> None:
        await req.json()
        conn = await req.hijack(MULTIPLEXED_STREAM)
        # The CLI half-closes at once (no stdin): keep writing regardless.
        assert await conn.receive_some() == b""
        await conn.send_all(frame(1, b"hello from exec\n"))
        await conn.send_all(frame(2, b"to stderr\n"))
        await conn.send_eof()

    async def exec_inspect(req: Request) -> Response:
        return Response.json({"ID": "e1", "Running": False, "ExitCode": 3, "ContainerID": CID})

    async def wait(req: Request) -> None:
        seen.append(f"wait condition={req.query_str('condition')}")
        stream = await req.start_stream()
        await trio.lowlevel.checkpoint()
        await stream.send(b'{"StatusCode":7,"Error":null}\n')

    router.add("GET", r"/containers/(?P<id>[^/]+)/json", inspect)
    router.add("POST", r"/containers/(?P<id>[^/]+)/exec", exec_create)
    router.add("POST", r"/exec/(?P<id>[^/]+)/start", exec_start)
    router.add("GET", r"/exec/(?P<id>[^/]+)/json", exec_inspect)
    router.add("POST", r"/containers/(?P<id>[^/]+)/wait", wait)
    return router


@pytest.fixture
async def cli():
    seen: list[str] = []
    config = tempfile.mkdtemp(prefix="berth-dockercfg-")
    try:
        async with running_server(make_router(seen)) as path:

            async def run(*args: str) -> trio.CompletedProcess[bytes]:
                env = {**os.environ, "DOCKER_CONFIG": config}
                env.pop("DOCKER_HOST", None)
                env.pop("DOCKER_CONTEXT", None)
                with trio.fail_after(20):
                    return await trio.run_process(
                        [DOCKER, "-H", f"unix://{path}", *args],
                        capture_stdout=True,
                        capture_stderr=True,
                        check=False,
                        env=env,
                    )

            run.seen = seen  # type: ignore[attr-defined]
            yield run
    finally:
        shutil.rmtree(config, ignore_errors=True)


async def test_docker_version_prints_server(cli):
    proc = await cli("version")
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr
    assert "Server: berth" in out
    assert "28.2.2-berth" in out
    assert "API version:      1.50 (minimum version 1.24)" in out
    assert "downgraded" not in out


async def test_docker_exec_hijack_output_and_exit_code(cli):
    proc = await cli("exec", "web", "ls", "-l")
    assert proc.stdout == b"hello from exec\n"
    assert proc.stderr == b"to stderr\n"
    assert proc.returncode == 3
    assert cli.seen == ["ls -l"]


async def test_docker_wait_streamed(cli):
    proc = await cli("wait", "web")
    assert (proc.returncode, proc.stdout) == (0, b"7\n")
    assert cli.seen == ["wait condition=None"]


async def test_docker_error_message(cli):
    proc = await cli("start", "web")
    assert proc.returncode == 1
    assert (
        proc.stderr.decode().strip()
        == "Error response from daemon: page not found\nError: failed to start containers: web"
    )
