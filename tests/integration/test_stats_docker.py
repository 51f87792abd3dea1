"""docker stats / top and OOM against a real berth daemon (pass once the lead wires the sampler and routes)."""

from __future__ import annotations

import json
import time

import pytest

pytestmark = pytest.mark.integration


def _wired(daemon) -> None:  # type: ignore[no-untyped-def]
    import httpx

    with httpx.Client(transport=httpx.HTTPTransport(uds=str(daemon.socket)), base_url="http://berth") as c:
        if c.get("/metrics").status_code == 404:
            pytest.skip("stats routes not wired into the daemon yet")


def test_busy_loop_cpu_and_no_stream_table(daemon) -> None:  # type: ignore[no-untyped-def]
    """``docker stats --no-stream`` against berth: docker's columns, about one core for a busy loop."""
    _wired(daemon)
    daemon.docker("run", "-d", "--name", "st-busy", "busybox", "sh", "-c", "while :; do :; done")
    try:
        time.sleep(2.5)
        out = daemon.docker("stats", "--no-stream", "st-busy").stdout.splitlines()
        assert out[0].split()[:3] == ["CONTAINER", "ID", "NAME"]
        cpu = daemon.docker("stats", "--no-stream", "--format", "{{.CPUPerc}}", "st-busy").stdout.strip()
        assert 60 < float(cpu.rstrip("%")) < 140, cpu
        raw = json.loads(daemon.docker("stats", "--no-stream", "--format", "{{json .}}", "st-busy").stdout)
        assert raw["Name"] == "st-busy" and raw["PIDs"] == "1"
        top = daemon.docker("top", "st-busy").stdout.splitlines()
        assert top[0].split()[:3] == ["UID", "PID", "PPID"] and any("while" in line for line in top[1:])
    finally:
        daemon.docker("rm", "-f", "st-busy", check=False)


def test_dev_shm_memory(daemon) -> None:  # type: ignore[no-untyped-def]
    _wired(daemon)
    daemon.docker("run", "-d", "--name", "st-shm", "busybox", "sh", "-c",
                  "dd if=/dev/zero of=/dev/shm/x bs=1M count=60 && sleep 300")
    try:
        time.sleep(3)
        body = daemon.docker("stats", "--no-stream", "--format", "{{.MemUsage}}", "st-shm").stdout
        used = body.split("/")[0].strip()
        assert used.endswith("MiB") and 58 <= float(used[:-3]) <= 80, body
    finally:
        daemon.docker("rm", "-f", "st-shm", check=False)


def test_oom_kill_sets_oomkilled_and_emits_event(daemon) -> None:  # type: ignore[no-untyped-def]
    _wired(daemon)
    since = str(int(time.time()) - 1)
    daemon.docker("run", "--name", "st-oom", "-m", "10m", "--memory-swap", "10m", "busybox",
                  "sh", "-c", "tail /dev/zero", check=False, timeout=60)
    try:
        state = daemon.inspect("st-oom")["State"]
        assert state["OOMKilled"] is True and state["ExitCode"] == 137
        events = daemon.docker("events", "--since", since, "--until", str(int(time.time()) + 1),
                               "--filter", "event=oom", "--format", "{{.Actor.Attributes.name}}").stdout
        assert "st-oom" in events.split()
    finally:
        daemon.docker("rm", "-f", "st-oom", check=False)


def test_stream_first_frame_and_metrics(daemon) -> None:  # type: ignore[no-untyped-def]
    """docker-py's stream: first frame's precpu is empty, the next chains preread; /metrics lists it."""
    _wired(daemon)
    import docker

    daemon.docker("run", "-d", "--name", "st-stream", "busybox", "sleep", "300")
    client = docker.DockerClient(base_url=daemon.host)
    try:
        stream = client.api.stats("st-stream", decode=True, stream=True)
        first, second = next(stream), next(stream)
        assert first["preread"] == "0001-01-01T00:00:00Z" and first["name"] == "/st-stream"
        assert second["preread"] == first["read"]
        one = client.api.stats("st-stream", stream=False, one_shot=True)
        assert one["precpu_stats"].get("system_cpu_usage") is None
        resp = client.api._get(client.api._url("/metrics"))
        assert 'name="st-stream"' in resp.text and "container_memory_working_set_bytes" in resp.text
    finally:
        client.close()
        daemon.docker("rm", "-f", "st-stream", check=False)
