"""berth compose against a real daemon: up, ps, logs, reconcile, down (no networks needed).

The files use ``network_mode: none`` so these pass before the networks API lands.
The compose commands are registered here the way the lead registers them in
cli/main.py (``cli.add_command`` for each of ``compose.COMMANDS``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from supervisor.compose.backend_http import HttpBackend
from supervisor.compose.service import ServiceSupervisor

RUNNER = (
    "from supervisor.cli.main import cli\n"
    "from supervisor.cli.compose import COMMANDS\n"
    "for c in COMMANDS: cli.add_command(c)\n"
    "cli(prog_name='berth')\n"
)

FILE = """
name: it
services:
  db:
    image: busybox
    command: ["sh", "-c", "echo db ready; touch /tmp/ok; exec sleep 600"]
    network_mode: none
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 300ms
      start_interval: 100ms
      start_period: 5s
  migrate:
    image: busybox
    command: ["sh", "-c", "echo migrated"]
    network_mode: none
  app:
    image: busybox
    command: ["sh", "-c", "echo app says ${GREETING:-hi}; exec sleep 600"]
    network_mode: none
    stop_signal: SIGKILL
    labels: {tier: front}
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
"""


def berth(daemon, *args: str, cwd: Path, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, "-H", daemon.host, *args],
        capture_output=True, text=True, cwd=cwd, timeout=120, env=env,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"berth {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def names(daemon, project: str) -> list[str]:
    out = daemon.docker("ps", "-a", "--filter", f"label=com.docker.compose.project={project}", "--format", "{{.Names}}").stdout
    return sorted(out.split())


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(FILE))
    return tmp_path


def test_up_ps_logs_down(daemon, project_dir: Path) -> None:
    """The whole cycle: up waits for conditions, a second up touches nothing, edits recreate, down cleans."""
    try:
        up = berth(daemon, "compose", "up", "-d", cwd=project_dir)
        assert "Container it-app-1  Started" in up.stderr
        assert "Container db  Healthy" in up.stderr and "Container migrate  Exited" in up.stderr
        assert names(daemon, "it") == ["it-app-1", "it-db-1", "it-migrate-1"]
        app = daemon.inspect("it-app-1")
        labels = app["Config"]["Labels"]
        assert labels["com.docker.compose.service"] == "app" and labels["tier"] == "front"
        assert labels["com.docker.compose.project.working_dir"] == str(project_dir)
        assert labels["com.docker.compose.project.config_files"] == str(project_dir / "compose.yaml")

        ps = berth(daemon, "compose", "ps", cwd=project_dir).stdout
        assert ps.splitlines()[0].split() == ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]
        assert any(line.startswith("it-app-1") and " app " in line and "Up" in line for line in ps.splitlines())

        logs = berth(daemon, "compose", "logs", cwd=project_dir).stdout
        assert logs.splitlines() == ["it-db-1       | db ready", "it-migrate-1  | migrated", "it-app-1      | app says hi"]
        only = berth(daemon, "compose", "logs", "--tail", "1", "db", cwd=project_dir).stdout
        assert only.strip() == "it-db-1  | db ready"  # one container: the prefix is its name plus one space

        again = berth(daemon, "compose", "up", "-d", cwd=project_dir)
        assert "Created" not in again.stderr and "Started" not in again.stderr
        assert daemon.inspect("it-app-1")["Id"] == app["Id"]

        env = {"GREETING": "hello", "PATH": "/usr/bin:/bin"}
        changed = berth(daemon, "compose", "up", "-d", cwd=project_dir, env=env)
        assert "Container it-app-1  Recreated" in changed.stderr
        assert "it-db-1" not in changed.stderr.replace("Container db ", "")
        assert daemon.inspect("it-app-1")["Id"] != app["Id"]
        assert names(daemon, "it") == ["it-app-1", "it-db-1", "it-migrate-1"]

        berth(daemon, "compose", "stop", "app", cwd=project_dir)
        assert daemon.inspect("it-app-1")["State"]["Running"] is False
        berth(daemon, "compose", "start", "app", cwd=project_dir)
        assert daemon.inspect("it-app-1")["State"]["Running"] is True
    finally:
        down = berth(daemon, "down", cwd=project_dir, check=False)
    assert down.returncode == 0, down.stderr
    assert names(daemon, "it") == []


def test_invalid_file_changes_nothing(daemon, tmp_path: Path) -> None:
    """A bad file exits 1 with file:line: key: reason and creates nothing."""
    (tmp_path / "compose.yml").write_text("services:\n  w:\n    image: busybox\n    restart: sometimes\n")
    result = berth(daemon, "compose", "up", "-d", cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "compose.yml:4: services.w.restart: 'sometimes' is not one of no, always, on-failure[:N], unless-stopped"
    )
    assert names(daemon, tmp_path.name.lower()) == []


def test_missing_image_reported(daemon, tmp_path: Path) -> None:
    """A service on a missing image fails clearly; the others still come up."""
    (tmp_path / "compose.yml").write_text(
        "name: mi\nservices:\n"
        "  ok: {image: busybox, command: [sleep, '600'], network_mode: none, stop_signal: SIGKILL}\n"
        "  bad: {image: nosuchimage, network_mode: none}\n"
    )
    try:
        result = berth(daemon, "compose", "up", "-d", cwd=tmp_path, check=False)
        assert result.returncode == 1
        assert "service 'bad': image 'nosuchimage' not found" in result.stderr
        assert names(daemon, "mi") == ["mi-ok-1"]
    finally:
        berth(daemon, "compose", "down", cwd=tmp_path, check=False)


async def test_service_supervisor_over_the_socket(daemon, tmp_path: Path) -> None:
    """The daemon's ServiceSupervisor, driven through the real API: boot, reload, removal."""
    files = tmp_path / "services"
    files.mkdir()
    (files / "svc.yml").write_text(
        "services:\n  one: {image: busybox, command: [sleep, '600'], network_mode: none, stop_signal: SIGKILL}\n"
    )
    events: list[dict[str, str]] = []
    async with HttpBackend(daemon.host) as backend:
        sup = ServiceSupervisor([files], backend, lambda t, a, i, attrs: events.append(dict(attrs)), environ={})
        result = await sup.reload()
        assert result.ok, result.error
        assert result.changes == ("svc: Container svc-one-1  Created", "svc: Container svc-one-1  Started")
        (files / "svc.yml").write_text("services:\n  one: {image: busybox, restart: sometimes}\n")
        bad = await sup.reload()
        assert not bad.ok and "svc.yml:2: services.one.restart" in bad.error
        (files / "svc.yml").unlink()
        gone = await sup.reload()
        assert gone.ok and "svc: Container svc-one-1  Removed" in gone.changes
    assert [e["ok"] for e in events] == ["true", "false", "true"]
    assert names(daemon, "svc") == []


def test_default_network_and_names(daemon, tmp_path: Path) -> None:
    """<project>_default is created, services reach each other by name, down removes it (needs networks)."""
    (tmp_path / "compose.yml").write_text(textwrap.dedent("""
        name: nt
        services:
          web:
            image: busybox
            command: [sh, -c, "mkdir -p /www && echo hi-from-web > /www/index.html && exec httpd -f -p 8080 -h /www"]
            stop_signal: SIGKILL
            healthcheck: {test: [CMD, wget, -q, -O, /dev/null, "http://127.0.0.1:8080/"], interval: 300ms, start_interval: 100ms}
          client:
            image: busybox
            command: [sh, -c, "wget -q -O- http://web:8080/; exec sleep 600"]
            stop_signal: SIGKILL
            depends_on: {web: {condition: service_healthy}}
        """))
    try:
        up = berth(daemon, "compose", "up", "-d", cwd=tmp_path)
        assert "Network nt_default  Created" in up.stderr
        deadline = time.monotonic() + 10
        while "hi-from-web" not in (logs := berth(daemon, "compose", "logs", "client", cwd=tmp_path).stdout):
            assert time.monotonic() < deadline, logs
            time.sleep(0.2)
    finally:
        down = berth(daemon, "compose", "down", cwd=tmp_path, check=False)
    assert "Network nt_default  Removed" in down.stderr, down.stderr
    assert json.loads(daemon.docker("network", "ls", "--format", "{{json .Name}}").stdout.replace("\n", ",").join("[]").replace(",]", "]")).count("nt_default") == 0
