"""docker-compose 1.29.2 (docker-py 6.1.3) drives berth: up, ps, logs, down.

The client lives in a virtualenv built once under /tmp (docker-api.md §5:
PyYAML 5.4.1 built with cython<3 and --no-build-isolation, requests<2.32).
If it cannot be built (no package index, say) the tests are skipped and say why.
The file with the default project network needs berth's networks API.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

VENV = Path("/tmp/berth-docker-compose-1.29.2")
BINARY = VENV / "bin" / "docker-compose"


def _build() -> str | None:
    """Build the venv (once); None when ready, else why not."""
    if BINARY.exists():
        return None
    steps = [
        [sys.executable, "-m", "venv", str(VENV)],
        [str(VENV / "bin/pip"), "install", "-q", "cython<3", "wheel", "setuptools<70"],
        [str(VENV / "bin/pip"), "install", "-q", "--no-build-isolation", "PyYAML==5.4.1"],
        [str(VENV / "bin/pip"), "install", "-q", "docker==6.1.3", "requests<2.32", "docker-compose==1.29.2"],
    ]
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            subprocess.run(["rm", "-rf", str(VENV)], check=False)
            return f"cannot build the docker-compose 1.29.2 venv ({' '.join(step[:3])}): {result.stderr.strip()[-300:]}"
    return None


@pytest.fixture(scope="session")
def docker_compose() -> Path:
    reason = _build()
    if reason is not None:
        pytest.skip(reason)
    return BINARY


def run(binary: Path, daemon, cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_HOST": daemon.host, "COMPOSE_INTERACTIVE_NO_CLI": "1"}
    env.pop("COMPOSE_PROJECT_NAME", None)
    result = subprocess.run([str(binary), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"docker-compose {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def _cycle(binary: Path, daemon, directory: Path, project: str) -> None:
    try:
        up = run(binary, daemon, directory, "-p", project, "up", "-d")
        assert f"Creating {project}_hello_1" in up.stderr
        ps = run(binary, daemon, directory, "-p", project, "ps").stdout
        assert f"{project}_hello_1" in ps and "Up" in ps
        logs = run(binary, daemon, directory, "-p", project, "logs", "--no-color").stdout
        assert "hello from docker-compose" in logs
        again = run(binary, daemon, directory, "-p", project, "up", "-d")
        assert f"{project}_hello_1 is up-to-date" in again.stderr
    finally:
        down = run(binary, daemon, directory, "-p", project, "down", check=False)
    assert down.returncode == 0, down.stderr
    left = daemon.docker("ps", "-a", "--filter", f"label=com.docker.compose.project={project}", "-q").stdout
    assert left.strip() == ""


def test_simple_file_without_networks(docker_compose: Path, daemon, tmp_path: Path) -> None:
    """A service with network_mode: none goes up, is listed, logs, and goes down."""
    (tmp_path / "docker-compose.yml").write_text(textwrap.dedent("""
        version: "2.4"
        services:
          hello:
            image: busybox
            command: ["sh", "-c", "echo hello from docker-compose; exec sleep 600"]
            network_mode: none
            stop_signal: SIGKILL
        """))
    _cycle(docker_compose, daemon, tmp_path, "dcnone")


def test_simple_file_with_default_network(docker_compose: Path, daemon, tmp_path: Path) -> None:
    """The usual file: the project network proj_default is created and removed (needs networks)."""
    (tmp_path / "docker-compose.yml").write_text(textwrap.dedent("""
        version: "3.8"
        services:
          hello:
            image: busybox
            command: ["sh", "-c", "echo hello from docker-compose; exec sleep 600"]
            stop_signal: SIGKILL
        """))
    _cycle(docker_compose, daemon, tmp_path, "dcnet")
