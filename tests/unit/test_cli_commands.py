"""Every verb sends docker's request and prints docker's output (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from supervisor.cli.main import cli
from supervisor.cli.state import CliState

CID = "a" * 64
Handler = Callable[[httpx.Request], httpx.Response]


class Daemon:
    """Records requests; answers from a route table keyed by (method, path)."""

    def __init__(
        self, routes: dict[tuple[str, str], httpx.Response | Handler] | None = None
    ) -> None:
        self.routes = routes or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/v1.50")
        answer = self.routes.get((request.method, path))
        if answer is None:
            return httpx.Response(204)
        return answer(request) if callable(answer) else answer

    def calls(self) -> list[tuple[str, str, str]]:
        return [(r.method, r.url.path, r.url.query.decode()) for r in self.requests]


def err(status: int, message: str) -> httpx.Response:
    return httpx.Response(
        status, json={"message": message}, headers={"Content-Type": "application/json"}
    )


def invoke(daemon: Daemon, *args: str, stdin: bytes | None = None) -> Result:
    state = CliState(
        host="unix:///nonexistent/berth.sock",
        transport=httpx.MockTransport(daemon),
        clock=lambda: 1006.0,
        environ={},
    )
    return CliRunner().invoke(cli, list(args), obj=state, input=stdin)


@pytest.mark.parametrize(
    ("args", "method", "path", "query"),
    [
        (("stop", "web"), "POST", "/v1.50/containers/web/stop", ""),
        (
            ("stop", "-t", "3", "-s", "SIGINT", "web"),
            "POST",
            "/v1.50/containers/web/stop",
            "signal=SIGINT&t=3",
        ),
        (("stop", "--time", "0", "web"), "POST", "/v1.50/containers/web/stop", "t=0"),
        (("restart", "-t", "2", "web"), "POST", "/v1.50/containers/web/restart", "t=2"),
        (("kill", "web"), "POST", "/v1.50/containers/web/kill", ""),
        (("kill", "-s", "HUP", "web"), "POST", "/v1.50/containers/web/kill", "signal=HUP"),
        (("pause", "web"), "POST", "/v1.50/containers/web/pause", ""),
        (("unpause", "web"), "POST", "/v1.50/containers/web/unpause", ""),
        (("start", "web"), "POST", "/v1.50/containers/web/start", ""),
        (("rm", "web"), "DELETE", "/v1.50/containers/web", ""),
        (("rm", "-f", "-v", "web"), "DELETE", "/v1.50/containers/web", "force=1&v=1"),
    ],
)
def test_simple_verbs(args: tuple[str, ...], method: str, path: str, query: str) -> None:
    """Lifecycle verbs send one request and echo the name."""
    daemon = Daemon()
    result = invoke(daemon, *args)
    assert result.exit_code == 0, result.output
    assert daemon.calls() == [(method, path, query)]
    assert result.stdout == "web\n"


def test_errors_are_collected_and_exit_1() -> None:
    """Every name is tried; failures go to stderr with docker's prefix; exit 1."""
    daemon = Daemon({("POST", "/containers/x/stop"): err(404, "No such container: x")})
    result = invoke(daemon, "stop", "x", "web")
    assert result.exit_code == 1
    assert result.stdout == "web\n"
    assert result.stderr == "Error response from daemon: No such container: x\n"


def test_stop_already_stopped_is_success() -> None:
    """304 Not Modified counts as success, as in docker."""
    daemon = Daemon({("POST", "/containers/web/stop"): httpx.Response(304)})
    assert invoke(daemon, "stop", "web").exit_code == 0


def test_rm_force_missing_exits_0() -> None:
    """rm -f on a missing container prints the error but succeeds."""
    daemon = Daemon({("DELETE", "/containers/x"): err(404, "No such container: x")})
    result = invoke(daemon, "rm", "-f", "x")
    assert result.exit_code == 0
    assert "No such container: x" in result.stderr


def test_daemon_down() -> None:
    """No daemon: docker's hint, exit 1."""
    result = CliRunner().invoke(
        cli, ["-H", "unix:///nonexistent/berth.sock", "ps"], obj=CliState(environ={})
    )
    assert result.exit_code == 1
    assert (
        result.stderr
        == "Cannot connect to the berth daemon at unix:///nonexistent/berth.sock: is the daemon running?\n"
    )


def test_error_without_json_message() -> None:
    """A plain-text error body is printed verbatim; an empty one explains itself."""
    daemon = Daemon(
        {
            ("POST", "/containers/a/pause"): httpx.Response(500, text="boom"),
            ("POST", "/containers/b/pause"): httpx.Response(500),
        }
    )
    result = invoke(daemon, "pause", "a", "b")
    assert "Error response from daemon: boom" in result.stderr
    assert "request returned Internal Server Error" in result.stderr


SUMMARY = {
    "Id": CID,
    "Names": ["/web"],
    "Image": "busybox",
    "ImageID": "sha256:" + "b" * 64,
    "Command": "sleep 1",
    "Created": 1000,
    "State": "running",
    "Status": "Up 4 seconds",
    "Ports": [],
    "Labels": {},
    "Mounts": [],
}


@pytest.mark.parametrize(
    ("args", "query"),
    [
        ((), ""),
        (("-a",), "all=1"),
        (("-s",), "size=1"),
        (("-n", "2"), "limit=2"),
        (("-l",), "limit=1"),
        (
            ("--filter", "status=exited", "-f", "label=a=b", "-f", "status=created"),
            "filters="
            + httpx.QueryParams(
                {"f": '{"status":{"exited":true,"created":true},"label":{"a=b":true}}'}
            )["f"],
        ),
    ],
)
def test_ps_queries(args: tuple[str, ...], query: str) -> None:
    """ps flags become docker's query parameters."""
    daemon = Daemon({("GET", "/containers/json"): httpx.Response(200, json=[])})
    result = invoke(daemon, "ps", *args)
    assert result.exit_code == 0, result.output
    assert daemon.requests[0].url.params == httpx.QueryParams(query)


def test_ps_output_modes() -> None:
    """Default table, -q, --format json, custom template."""
    daemon = Daemon({("GET", "/containers/json"): httpx.Response(200, json=[SUMMARY])})
    table = invoke(daemon, "ps").stdout
    assert table.splitlines()[0].startswith(
        "CONTAINER ID   IMAGE     COMMAND     CREATED         STATUS"
    )
    assert (
        table.splitlines()[1]
        == 'aaaaaaaaaaaa   busybox   "sleep 1"   6 seconds ago   Up 4 seconds             web'
    )
    assert invoke(daemon, "ps", "-q").stdout == "aaaaaaaaaaaa\n"
    assert invoke(daemon, "ps", "-q", "--no-trunc").stdout == CID + "\n"
    assert json.loads(invoke(daemon, "ps", "--format", "json").stdout)["Names"] == "web"
    assert invoke(daemon, "ps", "--format", "{{.Names}}:{{.State}}").stdout == "web:running\n"
    bad = invoke(daemon, "ps", "--format", "{{.Nope}}")
    assert bad.exit_code == 1 and "template parsing error" in bad.stderr


def test_ps_bad_filter_is_usage_error() -> None:
    """A filter without '=' is a flag error: exit 125 like docker."""
    result = invoke(Daemon(), "ps", "--filter", "nope")
    assert result.exit_code == 125
    assert "bad format of filter" in result.stderr


INSPECT = {
    "Id": CID,
    "Name": "/web",
    "State": {"Status": "running"},
    "Config": {"Labels": {"k": "v"}},
}


def test_inspect_json_and_format() -> None:
    """Indented JSON array by default; -f renders a template per object."""
    daemon = Daemon({("GET", "/containers/web/json"): httpx.Response(200, json=INSPECT)})
    result = invoke(daemon, "inspect", "web")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [INSPECT]
    assert result.stdout.startswith('[\n    {\n        "Id"')
    formatted = invoke(
        daemon,
        "inspect",
        "-f",
        '{{.State.Status}} {{index .Config.Labels "k"}} {{json .Config}}',
        "web",
    )
    assert formatted.stdout == 'running v {"Labels":{"k":"v"}}\n'


def test_inspect_falls_through_object_kinds() -> None:
    """Without --type: container, image, network, volume; all 404 → 'No such object'."""
    daemon = Daemon(
        {
            (m, p): err(404, "nope")
            for m, p in [
                ("GET", "/containers/x/json"),
                ("GET", "/images/x/json"),
                ("GET", "/networks/x"),
                ("GET", "/volumes/x"),
            ]
        }
    )
    result = invoke(daemon, "inspect", "x")
    assert result.exit_code == 1
    assert result.stdout == "[]\n"
    assert result.stderr == "Error: No such object: x\n"
    assert [c[1] for c in daemon.calls()] == [
        "/v1.50/containers/x/json",
        "/v1.50/images/x/json",
        "/v1.50/networks/x",
        "/v1.50/volumes/x",
    ]
    typed = Daemon({("GET", "/images/busybox/json"): httpx.Response(200, json={"Id": "sha256:1"})})
    assert json.loads(invoke(typed, "inspect", "--type", "image", "busybox").stdout) == [
        {"Id": "sha256:1"}
    ]
    sized = Daemon({("GET", "/containers/web/json"): httpx.Response(200, json=INSPECT)})
    invoke(sized, "inspect", "-s", "--type", "container", "web")
    assert sized.calls() == [("GET", "/v1.50/containers/web/json", "size=1")]


def test_wait_prints_status_codes() -> None:
    """wait prints StatusCode per container."""
    daemon = Daemon(
        {
            ("POST", "/containers/web/wait"): httpx.Response(
                200, json={"StatusCode": 3, "Error": None}
            )
        }
    )
    result = invoke(daemon, "wait", "web")
    assert result.stdout == "3\n" and result.exit_code == 0
    assert daemon.calls() == [("POST", "/v1.50/containers/web/wait", "")]


def test_rename() -> None:
    """rename sends ?name= and prints nothing."""
    daemon = Daemon()
    result = invoke(daemon, "rename", "old", "new")
    assert result.exit_code == 0 and result.stdout == ""
    assert daemon.calls() == [("POST", "/v1.50/containers/old/rename", "name=new")]


def test_create_sends_body_and_prints_id() -> None:
    """create posts the body with ?name= and prints the full id and warnings."""
    daemon = Daemon(
        {
            ("POST", "/containers/create"): httpx.Response(
                201, json={"Id": CID, "Warnings": ["careful"]}
            )
        }
    )
    result = invoke(
        daemon,
        "create",
        "--name",
        "web",
        "-m",
        "512m",
        "--cpus",
        "1.5",
        "-e",
        "A=1",
        "busybox",
        "sh",
        "-c",
        "echo hi",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == CID + "\n"
    assert result.stderr == "WARNING: careful\n"
    request = daemon.requests[0]
    assert (request.method, request.url.path, request.url.query) == (
        "POST",
        "/v1.50/containers/create",
        b"name=web",
    )
    body = json.loads(request.content)
    assert body["Cmd"] == ["sh", "-c", "echo hi"] and body["Env"] == ["A=1"]
    assert (
        body["HostConfig"]["Memory"] == 512 * 2**20
        and body["HostConfig"]["NanoCpus"] == 1_500_000_000
    )
    assert body["AttachStdout"] is False


def test_run_detached_sequence() -> None:
    """run -d: create, start, print the id."""
    daemon = Daemon(
        {("POST", "/containers/create"): httpx.Response(201, json={"Id": CID, "Warnings": []})}
    )
    result = invoke(daemon, "run", "-d", "--rm", "busybox", "sleep", "5")
    assert result.exit_code == 0, result.output
    assert result.stdout == CID + "\n"
    assert [c[:2] for c in daemon.calls()] == [
        ("POST", "/v1.50/containers/create"),
        ("POST", f"/v1.50/containers/{CID}/start"),
    ]
    assert json.loads(daemon.requests[0].content)["HostConfig"]["AutoRemove"] is True


def test_run_missing_image() -> None:
    """A 404 for the image: docker's 'Unable to find image' line and exit 125."""
    daemon = Daemon({("POST", "/containers/create"): err(404, "No such image: busybox:latest")})
    result = invoke(daemon, "run", "-d", "busybox")
    assert result.exit_code == 125
    assert result.stderr.startswith("Unable to find image 'busybox:latest' locally\n")
    assert "Error response from daemon: No such image: busybox:latest" in result.stderr


def test_run_daemon_error_is_125_and_start_error_maps_to_127() -> None:
    """Create conflicts exit 125; 'executable file not found' at start exits 127."""
    conflict = Daemon(
        {
            ("POST", "/containers/create"): err(
                409, 'Conflict. The container name "/web" is already in use'
            )
        }
    )
    result = invoke(conflict, "run", "-d", "--name", "web", "busybox")
    assert (
        result.exit_code == 125 and "berth: Error response from daemon: Conflict." in result.stderr
    )
    missing = Daemon(
        {
            ("POST", "/containers/create"): httpx.Response(201, json={"Id": CID}),
            ("POST", f"/containers/{CID}/start"): err(
                400, 'exec: "nope": executable file not found in $PATH'
            ),
        }
    )
    assert invoke(missing, "run", "-d", "busybox", "nope").exit_code == 127


def test_run_bad_flag_value_exits_125() -> None:
    """Unconvertible values are flag errors (125) naming the flag; nothing is sent."""
    daemon = Daemon()
    result = invoke(daemon, "run", "-m", "lots", "busybox")
    assert result.exit_code == 125
    assert "--memory" in result.stderr and "invalid size" in result.stderr
    assert daemon.requests == []
    unknown = invoke(daemon, "run", "--no-such-flag", "busybox")
    assert unknown.exit_code == 125 and "No such option" in unknown.stderr


def test_images_table_and_quiet() -> None:
    """images: one row per tag; -a sends all=1; -q prints ids."""
    image = {
        "Id": "sha256:" + "e" * 64,
        "RepoTags": ["busybox:latest"],
        "Created": 1000 - 86400 * 3,
        "Size": 4261550,
        "SharedSize": -1,
        "Containers": -1,
    }
    daemon = Daemon({("GET", "/images/json"): httpx.Response(200, json=[image])})
    result = invoke(daemon, "images")
    assert result.stdout == (
        "REPOSITORY   TAG       IMAGE ID       CREATED      SIZE\n"
        "busybox      latest    eeeeeeeeeeee   3 days ago   4.26MB\n"
    )
    assert invoke(daemon, "images", "-q").stdout == "eeeeeeeeeeee\n"
    invoke(daemon, "images", "-a")
    assert daemon.calls()[-1] == ("GET", "/v1.50/images/json", "all=1")


def test_tag_and_rmi() -> None:
    """tag splits repo and tag; rmi prints Untagged/Deleted lines."""
    daemon = Daemon(
        {
            ("DELETE", "/images/x"): httpx.Response(
                200, json=[{"Untagged": "x:latest"}, {"Deleted": "sha256:1"}]
            )
        }
    )
    assert invoke(daemon, "tag", "busybox", "reg:5000/me/bb:v1").exit_code == 0
    assert daemon.calls()[0] == (
        "POST",
        "/v1.50/images/busybox/tag",
        "repo=reg%3A5000%2Fme%2Fbb&tag=v1",
    )
    result = invoke(daemon, "rmi", "-f", "x")
    assert result.stdout == "Untagged: x:latest\nDeleted: sha256:1\n"
    assert daemon.calls()[1] == ("DELETE", "/v1.50/images/x", "force=1")


def test_import_streams_the_tar(tmp_path: Any) -> None:
    """import: fromSrc=- with repo, tag, changes and message; the tar is the body."""
    tar = tmp_path / "rootfs.tar"
    tar.write_bytes(b"x" * 100_000)
    seen: dict[str, Any] = {}

    def create(request: httpx.Request) -> httpx.Response:
        seen["body"] = request.read()
        return httpx.Response(200, text='{"status":"sha256:abc"}\r\n')

    daemon = Daemon({("POST", "/images/create"): create})
    result = invoke(
        daemon, "import", "-c", 'CMD ["sh"]', "-c", "ENV A=1", "-m", "hi", str(tar), "me/rootfs:v1"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "sha256:abc\n"
    assert seen["body"] == b"x" * 100_000
    params = daemon.requests[0].url.params
    assert params.get_list("changes") == ['CMD ["sh"]', "ENV A=1"]
    assert (params["fromSrc"], params["repo"], params["tag"], params["message"]) == (
        "-",
        "me/rootfs",
        "v1",
        "hi",
    )


def test_import_from_stdin_and_in_band_error() -> None:
    """import - reads stdin; an in-band error fails with exit 1."""

    def create(request: httpx.Request) -> httpx.Response:
        assert request.read() == b"tardata"
        return httpx.Response(
            200, text='{"errorDetail":{"message":"not a tar"},"error":"not a tar"}\n'
        )

    result = invoke(Daemon({("POST", "/images/create"): create}), "import", "-", stdin=b"tardata")
    assert result.exit_code == 1 and result.stderr == "not a tar\n"


def test_events_format_and_query() -> None:
    """events: since/until converted, filters JSON, docker's line format."""
    event = {
        "Type": "container",
        "Action": "start",
        "Actor": {"ID": CID, "Attributes": {"name": "web", "image": "busybox"}},
        "scope": "local",
        "time": 1700000000,
        "timeNano": 1700000000123456789,
    }
    daemon = Daemon({("GET", "/events"): httpx.Response(200, text=json.dumps(event) + "\n")})
    result = invoke(
        daemon, "events", "--since", "10m", "--until", "1000", "--filter", "type=container"
    )
    assert result.exit_code == 0, result.output
    params = daemon.requests[0].url.params
    assert params["since"] == str(1006 - 600) and params["until"] == "1000"
    assert json.loads(params["filters"]) == {"type": {"container": True}}
    line = result.stdout.strip()
    assert line.endswith(f" container start {CID} (image=busybox, name=web)")
    assert ".123456789" in line
    assert (
        invoke(daemon, "events", "--format", "{{.Action}} {{.Actor.Attributes.name}}").stdout
        == "start web\n"
    )
    assert json.loads(invoke(daemon, "events", "--format", "json").stdout)["Action"] == "start"


def test_events_bad_since() -> None:
    """An unparsable --since is reported before any request."""
    daemon = Daemon()
    result = invoke(daemon, "events", "--since", "yesterday")
    assert result.exit_code == 125 and "failed to parse" in result.stderr
    assert daemon.requests == []


def test_version_and_info() -> None:
    """version prints client and server; info prints the key facts."""
    daemon = Daemon(
        {
            ("GET", "/version"): httpx.Response(
                200,
                json={
                    "Version": "0.1.0",
                    "ApiVersion": "1.50",
                    "MinAPIVersion": "1.24",
                    "Os": "linux",
                    "Arch": "amd64",
                },
            ),
            ("GET", "/info"): httpx.Response(
                200,
                json={
                    "Containers": 2,
                    "ContainersRunning": 1,
                    "Images": 3,
                    "MemTotal": 2087256064,
                    "NCPU": 4,
                },
            ),
        }
    )
    version = invoke(daemon, "version")
    assert (
        version.exit_code == 0 and "API version:      1.50 (minimum version 1.24)" in version.stdout
    )
    assert invoke(daemon, "version", "--format", "{{.Server.Version}}").stdout == "0.1.0\n"
    info = invoke(daemon, "info").stdout
    assert (
        " Containers: 2\n" in info
        and " Running: 1\n" in info
        and " Total Memory: 1.944GiB\n" in info
    )
    assert invoke(daemon, "info", "-f", "{{.NCPU}}").stdout == "4\n"


def test_daemon_subcommand_passes_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """berth daemon hands its options to supervisor.daemon.run_daemon."""
    import sys
    import types

    seen: dict[str, Any] = {}
    fake = types.ModuleType("supervisor.daemon")
    fake.run_daemon = lambda **kw: seen.update(kw)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "supervisor.daemon", fake)
    result = CliRunner().invoke(
        cli,
        ["daemon", "--data-root", "/tmp/d", "--runtime", "crun", "--log-level", "debug",
         "--log-opt", "max-size=1m", "--log-opt", "max-file=2", "--spare-netns", "0"],
        obj=CliState(environ={}),
        env={"BERTH_HOST": "unix:///tmp/b.sock"},
    )
    assert result.exit_code == 0, result.output
    assert seen == {
        "data_root": "/tmp/d",
        "exec_root": "/run/berth",
        "host": "unix:///tmp/b.sock",
        "runtime": "crun",
        "log_level": "debug",
        "log_opts": ("max-size=1m", "max-file=2"),
        "metrics_addr": None,
        "stats_interval": 1.0,
        "bridge_name": "",
        "bridge_subnet": "",
        "service_files": (),
        "nat": False,
        "spare_netns": 0,
    }
