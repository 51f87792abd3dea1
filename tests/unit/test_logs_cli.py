"""``berth logs``: docker's request and output for one name, compose-style merge for several."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner, Result

from supervisor.cli.hijack import encode_frame
from supervisor.cli.logs import build_params, colour_of, logs_command, split_timestamp
from supervisor.cli.state import BerthGroup, CliState


@click.group(cls=BerthGroup)
def group() -> None:
    """Test group."""


group.add_command(logs_command)


def daemon(logs: dict[str, bytes], tty: dict[str, bool] | None = None, seen: list[httpx.Request] | None = None) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        parts = request.url.path.removeprefix("/v1.50").split("/")
        name = parts[2]
        if parts[3] == "json":
            return httpx.Response(200, json={"Id": name, "Config": {"Tty": (tty or {}).get(name, False)}})
        return httpx.Response(200, content=logs[name], headers={"Content-Type": "application/vnd.docker.multiplexed-stream"})

    return handler


def invoke(handler: Any, *args: str) -> Result:
    state = CliState(host="unix:///nonexistent.sock", transport=httpx.MockTransport(handler), clock=lambda: 1_700_000_000.0)
    return CliRunner().invoke(group, ["logs", *args], obj=state)


def test_single_name_plain_output_and_query() -> None:
    """One name: docker's query, stdout and stderr to their own streams, no prefix."""
    seen: list[httpx.Request] = []
    body = encode_frame(1, b"hello\n") + encode_frame(2, b"oops\n")
    result = invoke(daemon({"web": body}, seen=seen), "web", "--tail", "5", "--since", "10m", "-t")
    assert result.exit_code == 0, result.output
    assert result.stdout == "hello\n"
    assert result.stderr == "oops\n"
    query = dict(seen[-1].url.params)
    assert query == {"stdout": "1", "stderr": "1", "tail": "5", "since": str(1_700_000_000 - 600), "timestamps": "1"}


def test_follow_restarts_flag() -> None:
    params = build_params(
        follow=False, follow_restarts=True, tail="all", since=None, until="2023-11-14T22:13:20Z",
        timestamps=False, details=True, now=dt.datetime.fromtimestamp(0, dt.UTC),
    )
    assert params == {
        "stdout": "1", "stderr": "1", "tail": "all", "follow": "1", "follow_restarts": "1",
        "until": "1700000000.000000000", "details": "1",
    }


def test_several_names_merged_in_time_order() -> None:
    """Several names: timestamps requested, lines merged by time, prefixed, stamps stripped."""
    seen: list[httpx.Request] = []
    a = encode_frame(1, b"2023-01-01T00:00:01.000000000Z a1\n") + encode_frame(1, b"2023-01-01T00:00:03.000000000Z a2\n")
    b = encode_frame(1, b"2023-01-01T00:00:02.000000000Z b1\n")
    result = invoke(daemon({"api": a, "db1": b}, seen=seen), "api", "db1")
    assert result.exit_code == 0, result.output
    assert result.stdout == "api  | a1\ndb1  | b1\napi  | a2\n"
    assert all(dict(r.url.params).get("timestamps") == "1" for r in seen if r.url.path.endswith("/logs"))


def test_several_names_keep_timestamps_with_t() -> None:
    a = encode_frame(1, b"2023-01-01T00:00:01.000000000Z a1\n")
    b = encode_frame(2, b"2023-01-01T00:00:00.000000000Z b1\n")
    result = invoke(daemon({"a": a, "b": b}), "-t", "a", "b")
    assert result.stderr == "b  | 2023-01-01T00:00:00.000000000Z b1\n"
    assert result.stdout == "a  | 2023-01-01T00:00:01.000000000Z a1\n"


def test_tty_container_raw() -> None:
    result = invoke(daemon({"t": b"raw\r\n"}, tty={"t": True}), "t")
    assert result.stdout_bytes == b"raw\r\n"


def test_error_in_stream() -> None:
    body = encode_frame(1, b"x\n") + encode_frame(3, b"Error grabbing logs: boom")
    result = invoke(daemon({"web": body}), "web")
    assert result.exit_code == 1
    assert "Error grabbing logs: boom" in result.stderr


def test_bad_since() -> None:
    result = invoke(daemon({"web": b""}), "web", "--since", "2023-13-45")
    assert result.exit_code == 125
    assert "not a valid RFC 3339" in result.stderr


@pytest.mark.parametrize("name", ["web", "db", "a-very-long-name"])
def test_colour_is_stable(name: str) -> None:
    assert colour_of(name) == colour_of(name)


def test_split_timestamp() -> None:
    assert split_timestamp(b"2023-01-01T00:00:00.000000000Z hi there\n") == ("2023-01-01T00:00:00.000000000Z", b"hi there\n")
    assert split_timestamp(b"nostamp") == ("", b"nostamp")
