"""Logs on real containers through a real daemon: docker CLI, docker-py and berth's CLI.

These pass once the engine wires supervisor.logs in (ContainerLog as the
output sink, the logs route registered, ``berth logs`` in the CLI group).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import Daemon

pytestmark = pytest.mark.integration


def test_docker_logs_streams_and_log_path(daemon: Daemon) -> None:
    """stdout/stderr come back separately; LogPath is the json-file; rotation defaults are visible."""
    daemon.docker("run", "--name", "lg1", "busybox", "sh", "-c", "echo out; echo err >&2; printf frag")
    result = daemon.docker("logs", "lg1")
    assert result.stdout == "out\nfrag"
    assert result.stderr == "err\n"
    info = daemon.inspect("lg1")
    path = Path(info["LogPath"])
    assert path.name == f"{info['Id']}-json.log"
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert all(list(e) == ["log", "stream", "time"] for e in entries)
    # stdout and stderr are separate pipes: their relative order is not fixed.
    assert {(e["stream"], e["log"]) for e in entries} == {("stdout", "out\n"), ("stderr", "err\n"), ("stdout", "frag")}
    config = info["HostConfig"]["LogConfig"]
    assert config["Type"] == "json-file"
    assert config["Config"]["max-size"] == "20m" and config["Config"]["max-file"] == "5"
    tail = daemon.docker("logs", "--tail", "1", "-t", "lg1")
    assert tail.stdout.endswith(" frag") and tail.stdout.startswith("20")
    daemon.docker("rm", "lg1")


def test_follow_across_rotation(daemon: Daemon) -> None:
    """docker logs -f on a container that rotates its small log many times gets every line, then ends."""
    daemon.docker(
        "run", "-d", "--name", "lg2", "--log-opt", "max-size=1k", "--log-opt", "max-file=3",
        "busybox", "sh", "-c", "sleep 1; i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo line $i; usleep 3000; done",
    )
    follow = daemon.docker("logs", "-f", "lg2", timeout=60)
    assert follow.stdout.splitlines() == [f"line {i}" for i in range(1, 301)]
    files = sorted(p.name for p in Path(daemon.inspect("lg2")["LogPath"]).parent.iterdir() if "-json.log" in p.name)
    assert len(files) == 3
    daemon.docker("rm", "lg2")


def test_compressed_rotation_and_tail(daemon: Daemon) -> None:
    daemon.docker(
        "run", "--name", "lg3", "--log-opt", "max-size=2k", "--log-opt", "max-file=4",
        "--log-opt", "compress=true", "busybox", "sh", "-c", "seq 1 400",
    )
    time.sleep(0.5)  # compression runs in the background
    directory = Path(daemon.inspect("lg3")["LogPath"]).parent
    assert any(p.name.endswith(".gz") for p in directory.iterdir())
    assert daemon.docker("logs", "--tail", "3", "lg3").stdout == "398\n399\n400\n"
    everything = daemon.docker("logs", "lg3").stdout.splitlines()
    assert everything == [str(i) for i in range(401 - len(everything), 401)]
    daemon.docker("rm", "lg3")


def test_bad_log_opts_and_driver_none(daemon: Daemon) -> None:
    bad = daemon.docker("create", "--log-opt", "max-file=0", "busybox", "true", check=False)
    assert bad.returncode != 0 and "max-file cannot be less than 1" in bad.stderr
    daemon.docker("run", "--name", "lg4", "--log-driver", "none", "busybox", "echo", "hi")
    none = daemon.docker("logs", "lg4", check=False)
    assert none.returncode != 0 and "does not support reading" in none.stderr
    daemon.docker("rm", "lg4")


def test_docker_py_logs(daemon: Daemon) -> None:
    import docker

    client = docker.DockerClient(base_url=daemon.host)
    try:
        out = client.containers.run("busybox", ["sh", "-c", "echo a; sleep 0.2; echo b >&2"], name="lg5")
        assert out == b"a\n"
        c = client.containers.get("lg5")
        assert c.logs() == b"a\nb\n"
        assert c.logs(stderr=False) == b"a\n"
        c.remove()
    finally:
        client.close()


def test_berth_logs_merges_names(daemon: Daemon) -> None:
    daemon.docker("run", "--name", "lg6", "busybox", "sh", "-c", "echo first; sleep 0.2")
    daemon.docker("run", "--name", "lg7", "busybox", "sh", "-c", "echo second")
    result = daemon.berth("logs", "lg6", "lg7")
    assert result.stdout.splitlines() == ["lg6  | first", "lg7  | second"]
    daemon.docker("rm", "lg6", "lg7")


def test_follow_restarts(daemon: Daemon) -> None:
    """berth logs -F follows across restarts until the container is stopped by hand."""
    daemon.docker(
        "run", "-d", "--name", "lg8", "--restart", "always", "busybox", "sh", "-c", "echo tick; sleep 0.3",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "supervisor", "-H", daemon.host, "logs", "-F", "lg8"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        time.sleep(3)
        daemon.docker("stop", "lg8")
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out.decode().count("tick") >= 3
    daemon.docker("rm", "-f", "lg8")
