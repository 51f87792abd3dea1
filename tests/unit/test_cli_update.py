"""berth update sends docker's update body."""

from __future__ import annotations

import json

import httpx

from tests.unit.test_cli_commands import Daemon, invoke


def test_update_sends_policy_and_resources() -> None:
    daemon = Daemon({("POST", "/containers/web/update"): httpx.Response(200, json={"Warnings": []})})
    result = invoke(daemon, "update", "--restart", "on-failure:3", "-m", "64m", "--cpus", "0.5",
                    "--pids-limit", "20", "web")
    assert result.exit_code == 0, result.output
    assert result.output == "web\n"
    body = json.loads(daemon.requests[0].content)
    assert body == {
        "Memory": 64 * 1024 * 1024, "NanoCpus": 500_000_000, "PidsLimit": 20,
        "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
    }


def test_update_without_flags_or_with_bad_values_fails() -> None:
    daemon = Daemon()
    assert invoke(daemon, "update", "web").exit_code != 0
    assert invoke(daemon, "update", "--restart", "on-failure:x", "web").exit_code != 0
    assert daemon.requests == []
