"""Restart policies and health checks on real containers (issue 3)."""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.conftest import Daemon

pytestmark = pytest.mark.integration


def _wait_for(predicate, timeout: float = 20.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)


def _actions(d: Daemon, name: str, since: int) -> list[str]:
    out = d.docker("events", "--since", str(since), "--until", str(int(time.time()) + 1),
                   "--filter", f"container={name}", "--format", "{{.Action}}").stdout
    return out.split("\n")[:-1]


def test_on_failure_gives_up_after_max_retries(daemon: Daemon) -> None:
    since = int(time.time()) - 1
    daemon.docker("run", "-d", "--name", "of", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 3")
    try:
        _wait_for(lambda: daemon.inspect("of")["State"]["Status"] == "exited" and daemon.inspect("of")["RestartCount"] == 2)
        time.sleep(0.5)
        info = daemon.inspect("of")
        assert info["RestartCount"] == 2 and info["State"]["ExitCode"] == 3
        assert info["State"]["StopReason"].startswith("retries exhausted")
        actions = _actions(daemon, "of", since)
        assert actions == ["create", "start", "die", "start", "die", "start", "die"]  # no "restart"
    finally:
        daemon.docker("rm", "-f", "of")


def test_restarting_status_and_stop_during_backoff(daemon: Daemon) -> None:
    daemon.docker("run", "-d", "--name", "bo", "--restart", "always", "--label", "berth.restart.delay=3s",
                  "busybox", "sh", "-c", "exit 4")
    try:
        _wait_for(lambda: daemon.inspect("bo")["State"]["Restarting"])
        status = daemon.docker("ps", "--filter", "name=bo", "--format", "{{.Status}}").stdout
        assert status.startswith("Restarting (4)")
        t0 = time.monotonic()
        daemon.docker("stop", "bo")
        assert time.monotonic() - t0 < 2  # no signal, no timeout: the pending restart is cancelled
        state = daemon.inspect("bo")["State"]
        assert state["Status"] == "exited" and state["StopReason"] == "stopped by hand"
        time.sleep(3.5)
        assert daemon.inspect("bo")["State"]["Status"] == "exited"
    finally:
        daemon.docker("rm", "-f", "bo")


def test_manual_start_resets_restart_count(daemon: Daemon) -> None:
    daemon.docker("run", "-d", "--name", "rc", "--restart", "on-failure:1", "busybox", "sh", "-c", "sleep 0.2; exit 1")
    try:
        _wait_for(lambda: daemon.inspect("rc")["RestartCount"] == 1 and not daemon.inspect("rc")["State"]["Running"])
        daemon.docker("start", "rc")
        assert daemon.inspect("rc")["RestartCount"] == 0
    finally:
        daemon.docker("rm", "-f", "rc")


def test_hup_does_not_count_as_manual_stop(daemon: Daemon) -> None:
    daemon.docker("run", "-d", "--name", "hup", "--restart", "unless-stopped", "busybox", "sh", "-c",
                  "trap 'exit 0' HUP; while :; do sleep 0.1; done")
    try:
        time.sleep(0.3)
        pid = daemon.inspect("hup")["State"]["Pid"]
        daemon.docker("kill", "-s", "HUP", "hup")
        # The HUP ended the process, but it was no manual stop: unless-stopped restarts it.
        _wait_for(lambda: daemon.inspect("hup")["State"]["Running"] and daemon.inspect("hup")["State"]["Pid"] not in (0, pid))
        assert daemon.inspect("hup")["RestartCount"] == 1
    finally:
        daemon.docker("rm", "-f", "hup")


def test_invalid_policy_and_labels_are_refused(daemon: Daemon) -> None:
    out = daemon.docker("run", "-d", "--restart", "sometimes", "busybox", "true", check=False)
    assert out.returncode == 125 and "sometimes" in out.stderr
    out = daemon.docker("run", "-d", "--label", "berth.restart.delay=soon", "busybox", "true", check=False)
    assert out.returncode == 125 and "berth.restart.delay" in out.stderr
    out = daemon.docker("run", "-d", "--label", "berth.restart.limit=0/10s", "busybox", "true", check=False)
    assert out.returncode == 125 and "berth.restart.limit" in out.stderr
    out = daemon.docker("run", "--rm", "--restart", "always", "busybox", "true", check=False)
    assert out.returncode == 125


def test_start_limit_gives_up(daemon: Daemon) -> None:
    daemon.docker("run", "-d", "--name", "lim", "--restart", "always",
                  "--label", "berth.restart.limit=2/60s", "--label", "berth.restart.delay=10ms",
                  "busybox", "sh", "-c", "exit 1")
    try:
        _wait_for(lambda: daemon.inspect("lim")["State"]["Status"] == "exited" and daemon.inspect("lim")["State"]["StopReason"] != "")
        state = daemon.inspect("lim")
        assert state["State"]["StopReason"].startswith("start limit hit") and state["RestartCount"] == 2
    finally:
        daemon.docker("rm", "-f", "lim")


def test_health_transitions_events_and_ps(daemon: Daemon) -> None:
    since = int(time.time()) - 1
    daemon.docker("run", "-d", "--name", "hc", "--health-cmd", "test -f /tmp/ok", "--health-interval", "300ms",
                  "--health-retries", "2", "busybox", "sh", "-c", "touch /tmp/ok; sleep 1.5; rm /tmp/ok; sleep 1000")
    try:
        assert "(health: starting)" in daemon.docker("ps", "--filter", "name=hc", "--format", "{{.Status}}").stdout
        _wait_for(lambda: daemon.inspect("hc")["State"]["Health"]["Status"] == "healthy")
        assert "(healthy)" in daemon.docker("ps", "--filter", "name=hc", "--format", "{{.Status}}").stdout
        assert daemon.docker("ps", "-q", "--filter", "health=healthy").stdout.strip() != ""
        _wait_for(lambda: daemon.inspect("hc")["State"]["Health"]["Status"] == "unhealthy")
        health = daemon.inspect("hc")["State"]["Health"]
        assert health["FailingStreak"] >= 2 and 1 <= len(health["Log"]) <= 5
        assert health["Log"][-1]["ExitCode"] == 1
        actions = [a for a in _actions(daemon, "hc", since) if a.startswith("health_status")]
        assert actions == ["health_status: healthy", "health_status: unhealthy"]
    finally:
        daemon.docker("rm", "-f", "hc")


def test_probe_runs_as_container_user_and_cwd(daemon: Daemon) -> None:
    daemon.docker("run", "-d", "--name", "hu", "-u", "65534", "-w", "/tmp", "--health-cmd", "id -u; pwd",
                  "--health-interval", "200ms", "busybox", "sleep", "1000")
    try:
        _wait_for(lambda: daemon.inspect("hu")["State"]["Health"]["Log"])
        output = daemon.inspect("hu")["State"]["Health"]["Log"][0]["Output"]
        assert output == "65534\n/tmp\n"
    finally:
        daemon.docker("rm", "-f", "hu")


def test_restart_on_unhealthy(daemon: Daemon) -> None:
    daemon.docker("run", "-d", "--name", "ru", "--restart", "on-failure:1", "--label", "berth.restart-on-unhealthy=true",
                  "--health-cmd", "false", "--health-interval", "300ms", "--health-retries", "1",
                  "--stop-timeout", "1", "busybox", "sleep", "1000")
    try:
        _wait_for(lambda: daemon.inspect("ru")["RestartCount"] == 1, timeout=30)
        # on-failure:1: the second unhealthy run is left running, unhealthy.
        _wait_for(lambda: daemon.inspect("ru")["State"]["Health"]["Status"] == "unhealthy", timeout=30)
        time.sleep(1.5)
        info = daemon.inspect("ru")
        assert info["RestartCount"] == 1 and info["State"]["Running"]
    finally:
        daemon.docker("rm", "-f", "ru")


def test_boot_rules_per_policy(daemon_factory) -> None:
    d: Daemon = daemon_factory()
    d.start()
    d.import_busybox()
    run = ("busybox", "sleep", "1000")
    d.docker("run", "-d", "--name", "alw", "--restart", "always", *run)
    d.docker("stop", "-t", "0", "alw")  # stopped by hand: always still comes back at boot
    d.docker("run", "-d", "--name", "uls", "--restart", "unless-stopped", *run)
    d.docker("stop", "-t", "0", "uls")  # stopped by hand: stays down
    d.docker("run", "-d", "--name", "uls2", "--restart", "unless-stopped", *run)  # running at shutdown
    d.docker("run", "-d", "--name", "onf", "--restart", "on-failure:5", *run)  # killed by shutdown: 137
    d.docker("run", "--name", "onf0", "--restart", "on-failure", "busybox", "true")  # exit 0
    d.docker("run", "-d", "--name", "nop", *run)
    d.docker("create", "--name", "never", "--restart", "always", *run)
    d.stop()
    d.start()
    status = {n: d.inspect(n)["State"]["Status"] for n in ("alw", "uls", "uls2", "onf", "onf0", "nop", "never")}
    assert status == {
        "alw": "running", "uls": "exited", "uls2": "running", "onf": "running",
        "onf0": "exited", "nop": "exited", "never": "created",
    }
    assert json.loads(d.docker("inspect", "-f", "{{json .RestartCount}}", "alw").stdout) == 0
    d.docker("rm", "-f", "alw", "uls", "uls2", "onf", "onf0", "nop", "never")
