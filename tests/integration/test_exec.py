"""docker exec against berth: output, exit codes, user/cwd/env, stdin, detached, docker-py."""

from __future__ import annotations

import docker
import pytest

from tests.integration.conftest import Daemon

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def running(daemon: Daemon):
    daemon.docker("run", "-d", "--name", "exc", "busybox", "sleep", "1000")
    yield "exc"
    daemon.docker("rm", "-f", "exc")


def test_exec_output_and_exit_code(daemon: Daemon, running: str) -> None:
    out = daemon.docker("exec", running, "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert out.returncode == 3 and out.stdout == "out\n" and out.stderr == "err\n"


def test_exec_user_workdir_env_and_stdin(daemon: Daemon, running: str) -> None:
    out = daemon.docker("exec", "-u", "nobody", "-w", "/tmp", "-e", "A=b", running, "sh", "-c", 'echo "$(id -u) $(pwd) $A"')
    assert out.stdout == "65534 /tmp b\n"
    assert daemon.docker("exec", "-i", running, "cat", input=b"piped\n").stdout == "piped\n"


def test_exec_detached_and_errors(daemon: Daemon, running: str) -> None:
    assert daemon.docker("exec", "-d", running, "sleep", "0.1").returncode == 0
    daemon.docker("create", "--name", "exstopped", "busybox", "true")
    try:
        out = daemon.docker("exec", "exstopped", "true", check=False)
        assert out.returncode != 0 and "is not running" in out.stderr
    finally:
        daemon.docker("rm", "exstopped")


def test_docker_py_exec_run_never_loses_output(daemon: Daemon, running: str) -> None:
    client = docker.DockerClient(base_url=daemon.host)
    container = client.containers.get(running)
    for i in range(20):
        result = container.exec_run(["echo", f"n{i}"])
        assert result.exit_code == 0 and result.output == f"n{i}\n".encode()
    client.close()
