"""top parsing, the OOM tracker, the Prometheus collector and the CLI's stats rows."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from supervisor.errors import InvalidArgument, RuntimeFailed
from supervisor.stats import cgroup_v1
from supervisor.stats.docker_json import stats_json
from supervisor.stats.metrics import (
    DaemonGauges,
    build_registry,
    exposition,
    working_set,
)
from supervisor.stats.model import NetCounters, Sample, SystemCpu, Target
from supervisor.stats.oom import OomTracker
from supervisor.stats.sampler import Latest
from supervisor.stats.top import parse_ps_output, ps_argv, validate_ps_args

FIX = Path(__file__).parent.parent / "fixtures" / "cgroupfs"

PS = """UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root         101       1  0 10:01 ?        00:00:00 sleep 1000
root           -       -  0 10:01 ?        00:00:00 -
root         102     101  0 10:01 pts/0    00:00:00 sh -c echo hi
"""


def test_parse_ps_output_filters_and_merges_command() -> None:
    """Only the container's pids (and their thread lines); CMD keeps its spaces."""
    out = parse_ps_output(PS, [101, 102])
    assert out["Titles"] == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert out["Processes"] == [
        ["root", "101", "1", "0", "10:01", "?", "00:00:00", "sleep 1000"],
        ["root", "-", "-", "0", "10:01", "?", "00:00:00", "-"],
        ["root", "102", "101", "0", "10:01", "pts/0", "00:00:00", "sh -c echo hi"],
    ]


def test_parse_ps_output_errors() -> None:
    with pytest.raises(RuntimeFailed, match="Couldn't find PID field"):
        parse_ps_output("USER CMD\nroot x\n", [1])
    with pytest.raises(RuntimeFailed, match="Unexpected pid"):
        parse_ps_output("PID CMD\nabc x\n", [1])


def test_ps_args() -> None:
    """Docker splits ps_args on single spaces and appends -q with the pids; only pid= renames pass."""
    assert ps_argv("-ef", [3, 4]) == ["ps", "-ef", "-q3,4"]
    assert ps_argv("aux", [3], with_pids=False) == ["ps", "aux"]
    validate_ps_args("-o pid=PID,cmd")
    with pytest.raises(InvalidArgument, match='specifying "user=PID" is not allowed'):
        validate_ps_args("-o user=PID")


def test_oom_tracker() -> None:
    """A kill is reported once whether the notification or the counter comes first."""
    t = OomTracker()
    key = ("c", 10)
    assert not t.counter(key, 0)
    assert t.notified(key, 0)  # v1 notification before the counter moved
    assert not t.counter(key, 1)  # the same kill seen through the counter
    assert t.counter(key, 2)  # a second kill
    assert t.counter(("c", 11), 1)  # a new run starts from 0
    t.retain([("c", 11)])
    assert t.counter(key, 1)


class FakeSampler:
    ticks = 3
    errors = 0

    def __init__(self, entries: list[Latest]) -> None:
        self.entries = entries

    def all_latest(self) -> list[Latest]:
        return self.entries


def latest() -> Latest:
    texts = {p.name: p.read_text() for p in (FIX / "v1" / "container").iterdir()}
    s = Sample(1, SystemCpu(100, 2), cgroup_v1.usage_from_texts(texts), {"eth0": NetCounters(rx_bytes=10, tx_bytes=20)})
    return Latest(Target("abc", "web", "busybox", "/berth/abc", 42), s, None)


def test_metrics_exposition_uses_cadvisor_names() -> None:
    """cAdvisor names and labels; unlimited specs read 0; daemon gauges included; no global registry."""
    registry = build_registry(
        FakeSampler([latest()]),  # type: ignore[arg-type]
        DaemonGauges(containers_by_state=lambda: {"running": 1, "exited": 2}, events_published=lambda: 7),
    )
    text = exposition(registry).decode()
    labels = 'id="/berth/abc",image="busybox",name="web"'
    assert f'container_cpu_usage_seconds_total{{cpu="total",{labels}}} 0.255491363' in text
    assert f"container_memory_usage_bytes{{{labels}}} 946176.0" in text
    assert f"container_memory_working_set_bytes{{{labels}}} {946176 - 126976}.0" in text
    assert f"container_spec_memory_limit_bytes{{{labels}}} 6.7108864e+07" in text
    net = 'id="/berth/abc",image="busybox",interface="eth0",name="web"'
    assert f"container_network_receive_bytes_total{{{net}}} 10.0" in text
    assert f"container_network_transmit_bytes_total{{{net}}} 20.0" in text
    assert f"container_processes{{{labels}}} 2.0" in text
    assert "# TYPE container_fs_reads_bytes_total counter" in text
    assert 'berth_containers{state="exited"} 2.0' in text
    assert "berth_events_published_total 7.0" in text
    assert "process_resident_memory_bytes" in text


def test_working_set() -> None:
    assert working_set(100, {"inactive_file": 30}) == 70
    assert working_set(100, {"total_inactive_file": 300}) == 0


def _stats_js(name: str = "web") -> dict:
    e = latest()
    return stats_json(e.cur, None, container_id="abc" * 10, name=name, mem_total=8 << 30)


def test_stats_row_matches_docker_columns() -> None:
    from supervisor.cli.stats import stats_row

    row = stats_row("web", _stats_js())
    assert row["ID"] == ("abc" * 10)[:12] and row["Name"] == "web"
    assert row["MemUsage"] == "800KiB / 64MiB"  # 946176 - 126976 inactive_file
    assert row["MemPerc"] == "1.22%"
    assert row["NetIO"] == "10B / 20B" and row["BlockIO"] == "0B / 0B" and row["PIDs"] == "2"
    assert stats_row("x", None)["CPUPerc"] == "--"


def test_stats_no_stream_command() -> None:
    """``berth stats --no-stream NAME`` asks stream=0 and prints docker's table."""
    from supervisor.cli.main import cli
    from supervisor.cli.state import CliState
    from supervisor.cli.stats import stats_command

    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path.endswith("/json"):
            return httpx.Response(200, json={"Id": "abc"})
        return httpx.Response(200, json=_stats_js())

    if "stats" not in cli.commands:
        cli.add_command(stats_command)
    state = CliState(transport=httpx.MockTransport(handler))
    result = CliRunner().invoke(cli, ["stats", "--no-stream", "web"], obj=state)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split("   ")[0] == "CONTAINER ID"
    assert "MEM USAGE / LIMIT" in lines[0] and "web" in lines[1] and "800KiB / 64MiB" in lines[1]
    assert any("stream=0" in u for u in seen)
    result = CliRunner().invoke(cli, ["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "web"], obj=state)
    assert result.output == "web 2\n"
    assert json.loads(json.dumps(_stats_js()))["name"] == "/web"


def test_sparkline() -> None:
    from supervisor.cli.stats import sparkline

    assert sparkline([0, 50, 100], top=100) == "▁▅█"
    assert len(sparkline(list(range(1000)), width=40)) == 40
    assert sparkline([]) == ""
