"""Container inspect and list shapes: keys clients index, types from the API spec, STATUS text."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.api.container_views import (
    command_text,
    encode_config,
    encode_host_config,
    inspect,
    status_text,
    summary,
)
from supervisor.engine.model import (
    ContainerRecord,
    ContainerSpec,
    HealthConfig,
    LogConfig,
    Resources,
    RestartPolicy,
    State,
    Ulimit,
)
from supervisor.images.model import Image

S = 1_000_000_000
CID = "c0ffee" + "0" * 58
IMAGE_ID = "sha256:" + "ab" * 32
NOW = 1_700_000_000 * S
LOG = f"/var/lib/berth/containers/{CID}/{CID}-json.log"
SPEC_PATH = Path("/work/shared/reference/docker-engine-api-v1.50.yaml")


def record(
    spec: ContainerSpec | None = None, state: State | None = None, name: str = "web"
) -> ContainerRecord:
    spec = spec or ContainerSpec(image="busybox", image_id=IMAGE_ID, cmd=("sh", "-c", "echo hi"))
    return ContainerRecord(
        id=CID, name=name, created=NOW - 60 * S, spec=spec, state=state or State()
    )


RUNNING = State(running=True, pid=42, started_at=NOW - 5 * S)
FULL_SPEC = ContainerSpec(
    image="busybox:latest",
    image_id=IMAGE_ID,
    cmd=("-c", "sleep 1"),
    entrypoint=("/bin/sh",),
    env=("A=1", "PATH=/bin"),
    working_dir="/srv",
    user="1000",
    hostname="web-1",
    labels={"com.docker.compose.project": "proj"},
    tty=True,
    open_stdin=True,
    stop_signal="SIGINT",
    stop_timeout=3,
    healthcheck=HealthConfig(("CMD", "true"), interval=S, retries=3),
    exposed_ports=("80/tcp", "53/udp"),
    volumes=("/data",),
    shell=("/bin/bash", "-c"),
    init=True,
    cap_add=("NET_ADMIN",),
    network_mode="proj_default",
    binds=("proj_data:/data:rw",),
    port_bindings={"80/tcp": ({"HostIp": "", "HostPort": "8080"},)},
    dns=("1.1.1.1",),
    extra_hosts=("db:10.0.0.2",),
    tmpfs={"/run": ""},
    sysctls={"net.core.somaxconn": "1024"},
    restart_policy=RestartPolicy("on-failure", 3),
    log_config=LogConfig("json-file", {"max-size": "10m"}),
    resources=Resources(memory=64 * 2**20, pids_limit=10, ulimits=(Ulimit("nofile", 1, 2),)),
    console_size=(30, 100),
)


# --- keys the clients index -------------------------------------------------------------


def test_inspect_has_every_key_clients_index() -> None:
    """docker-py, compose and the CLI index these directly; a missing key is a KeyError."""
    body = inspect(record(FULL_SPEC, RUNNING), image=None, now_ns=NOW, log_path=LOG)
    assert body["Id"] == CID and body["Name"] == "/web"
    assert body["Image"].startswith("sha256:") and body["Image"].split(":")[1] == "ab" * 32
    assert body["State"]["Status"] == "running"
    assert body["HostConfig"]["LogConfig"]["Type"] == "json-file"
    assert body["Config"]["Labels"] == {"com.docker.compose.project": "proj"}
    for key in ("Env", "Cmd", "Entrypoint", "Image", "Tty", "OpenStdin"):
        assert key in body["Config"]
    assert body["Mounts"] == []
    assert body["NetworkSettings"]["Ports"] == {
        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
        "53/udp": None,
    }
    assert list(body["NetworkSettings"]["Networks"]) == ["proj_default"]
    for key in ("Running", "Paused", "Restarting", "ExitCode", "StartedAt", "FinishedAt"):
        assert key in body["State"]
    assert body["LogPath"] == LOG
    assert body["HostsPath"] == f"/var/lib/berth/containers/{CID}/hosts"
    assert (body["Path"], body["Args"]) == ("/bin/sh", ["-c", "sleep 1"])


def test_inspect_zero_values() -> None:
    """A never-started container shows Go's zero times, no ports, the short id as hostname."""
    body = inspect(record(), image=None, now_ns=NOW, log_path=LOG)
    assert body["State"]["StartedAt"] == body["State"]["FinishedAt"] == "0001-01-01T00:00:00Z"
    assert body["State"]["Status"] == "created"
    assert body["Created"] == "2023-11-14T22:12:20Z"
    assert body["NetworkSettings"]["Ports"] == {}
    assert body["Config"]["Hostname"] == CID[:12]
    assert body["HostConfig"]["PidsLimit"] is None
    assert body["HostConfig"]["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert body["ExecIDs"] is None and body["Config"]["OnBuild"] is None
    assert "Healthcheck" not in body["Config"] and "Health" not in body["State"]


def test_inspect_image_id_from_image_when_spec_lacks_it() -> None:
    """Image falls back to the image's id, always sha256-prefixed."""
    rec = record(ContainerSpec(image="busybox", cmd=("sh",)))
    body = inspect(rec, image=Image(id=IMAGE_ID), now_ns=NOW, log_path=LOG)
    assert body["Image"] == IMAGE_ID


def test_extra_merges_one_level() -> None:
    """extra adds keys to State but replaces NetworkSettings.Networks whole."""
    health = {"Status": "healthy", "FailingStreak": 0, "Log": []}
    nets = {"proj_default": {"IPAddress": "172.18.0.2"}}
    body = inspect(
        record(FULL_SPEC, RUNNING), image=None, now_ns=NOW, log_path=LOG,
        extra={"State": {"Health": health}, "NetworkSettings": {"Networks": nets}, "SizeRw": 5},
    )  # fmt: skip
    assert body["State"]["Health"] == health and body["State"]["Running"] is True
    assert body["NetworkSettings"]["Networks"] == nets
    assert "Ports" in body["NetworkSettings"]
    assert body["SizeRw"] == 5


def test_summary_shape() -> None:
    """The ps row: names with a slash, int Created, Command quoted like moby."""
    row = summary(record(FULL_SPEC, RUNNING), image_id=IMAGE_ID, now_ns=NOW, health="healthy")
    assert row["Id"] == CID and row["Names"] == ["/web"]
    assert row["Image"] == "busybox:latest" and row["ImageID"] == IMAGE_ID
    assert row["Command"] == "/bin/sh -c 'sleep 1'"
    assert row["Created"] == NOW // S - 60
    assert row["State"] == "running" and row["Status"] == "Up 5 seconds (healthy)"
    assert row["HostConfig"] == {"NetworkMode": "proj_default"}
    assert list(row["NetworkSettings"]["Networks"]) == ["proj_default"]
    assert row["Labels"] == {"com.docker.compose.project": "proj"}
    assert row["Mounts"] == []
    assert sorted(row["Ports"], key=lambda p: p["PrivatePort"]) == [
        {"PrivatePort": 53, "Type": "udp"},
        {"PrivatePort": 80, "Type": "tcp", "IP": "0.0.0.0", "PublicPort": 8080},
    ]


def test_summary_image_falls_back_to_id_when_reference_moved() -> None:
    """If the reference now names another image, moby lists the container's image id."""
    row = summary(record(), image_id="sha256:" + "cd" * 32, now_ns=NOW)
    assert row["Image"] == IMAGE_ID
    assert summary(record(), image_id=None, now_ns=NOW)["Image"] == IMAGE_ID


def test_summary_ports_from_extra() -> None:
    """Real (ephemeral) host ports from networking replace the spec's."""
    extra = {"NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "32768"}]}}}
    row = summary(record(FULL_SPEC, RUNNING), image_id=IMAGE_ID, now_ns=NOW, extra=extra)
    assert row["Ports"] == [
        {"PrivatePort": 80, "Type": "tcp", "IP": "0.0.0.0", "PublicPort": 32768}
    ]
    assert "Ports" not in row["NetworkSettings"]


@pytest.mark.parametrize(
    ("state", "health", "text"),
    [
        (State(), None, "Created"),
        (State(running=True, started_at=NOW - 5 * S), None, "Up 5 seconds"),
        (State(running=True, started_at=NOW - 5 * S), "none", "Up 5 seconds"),
        (State(running=True, started_at=NOW - 5 * S), "healthy", "Up 5 seconds (healthy)"),
        (State(running=True, started_at=NOW - 5 * S), "unhealthy", "Up 5 seconds (unhealthy)"),
        (State(running=True, started_at=NOW - 5 * S), "starting", "Up 5 seconds (health: starting)"),
        (State(running=True, paused=True, started_at=NOW - 120 * S), "healthy", "Up 2 minutes (Paused)"),
        (State(running=True, restarting=True, exit_code=1, started_at=NOW - 10 * S,
               finished_at=NOW - 3 * S), None, "Restarting (1) 3 seconds ago"),
        (State(started_at=NOW - 10 * S, finished_at=NOW - 2 * S), None, "Exited (0) 2 seconds ago"),
        (State(started_at=NOW - 10 * S, finished_at=NOW - 3600 * S, exit_code=137), None,
         "Exited (137) About an hour ago"),
        (State(removing=True, started_at=1), None, "Removal In Progress"),
        (State(dead=True, started_at=1), None, "Dead"),
        (State(started_at=NOW - 10 * S), None, ""),
    ],
)  # fmt: skip
def test_status_text(state: State, health: str | None, text: str) -> None:
    """moby State.String, one row per branch (docker-semantics §5.2)."""
    assert status_text(state, now_ns=NOW, health=health) == text


@pytest.mark.parametrize(
    ("argv", "text"),
    [((), ""), (("sh",), "sh"), (("sh", "-c", "echo hi"), "sh -c 'echo hi'"), (("a", "b"), "a b")],
)
def test_command_text(argv: tuple[str, ...], text: str) -> None:
    """Args containing a space are single-quoted, as moby's transformContainer does."""
    assert command_text(argv) == text


def test_bodies_are_json() -> None:
    """Everything encodes with the stdlib json module (no tuples-as-keys, no dataclasses)."""
    rec = record(FULL_SPEC, RUNNING)
    json.dumps(inspect(rec, image=None, now_ns=NOW, log_path=LOG))
    json.dumps(summary(rec, image_id=IMAGE_ID, now_ns=NOW))


# --- types against the Engine API spec ---------------------------------------------------


@functools.cache
def _definitions() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    if not SPEC_PATH.exists():
        pytest.skip("API spec not available")
    return yaml.safe_load(SPEC_PATH.read_text())["definitions"]  # type: ignore[no-any-return]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = _definitions()[schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}}
        for part in schema["allOf"]:
            merged["properties"].update(_resolve(part).get("properties", {}))
        return merged
    return schema


_PY_TYPES: dict[str, Any] = {
    "string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list,
    "object": dict,
}  # fmt: skip
# Go pointers moby leaves nil (so real Docker sends null) that the spec forgets to mark x-nullable.
_GO_POINTERS = frozenset({"MemorySwappiness"})


def _check(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    """Type errors of ``value`` against a swagger schema; unknown keys are errors too."""
    schema = _resolve(schema)
    kind = schema.get("type")
    if value is None:
        ok = kind in ("array", "object", None) or schema.get("x-nullable", False)
        ok = ok or path.rsplit(".", 1)[-1] in _GO_POINTERS
        return [] if ok else [f"{path}: null for {kind}"]
    if kind is None:
        return []
    if not isinstance(value, _PY_TYPES[kind]) or (kind == "integer" and isinstance(value, bool)):
        return [f"{path}: {type(value).__name__} for {kind}"]
    errors: list[str] = []
    if kind == "array" and "items" in schema:
        for i, item in enumerate(value):
            errors += _check(item, schema["items"], f"{path}[{i}]")
    if kind == "object":
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if props and key in props:
                errors += _check(item, props[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                errors += _check(item, extra, f"{path}.{key}")
            elif props:
                errors.append(f"{path}.{key}: not in the API spec")
    return errors


@pytest.mark.parametrize("state", [State(), RUNNING, State(started_at=S, finished_at=2 * S)])
@pytest.mark.parametrize("spec", [ContainerSpec(image="x", cmd=("a",)), FULL_SPEC])
def test_inspect_matches_api_spec(spec: ContainerSpec, state: State) -> None:
    """ContainerInspectResponse field types and names, as the v1.50 spec defines them."""
    body = inspect(record(spec, state), image=None, now_ns=NOW, log_path=LOG)
    assert _check(body, {"$ref": "#/definitions/ContainerInspectResponse"}, "inspect") == []


@pytest.mark.parametrize("state", [State(), RUNNING])
@pytest.mark.parametrize("spec", [ContainerSpec(image="x", cmd=("a",)), FULL_SPEC])
def test_summary_matches_api_spec(spec: ContainerSpec, state: State) -> None:
    """ContainerSummary field types and names, as the v1.50 spec defines them."""
    body = summary(record(spec, state), image_id=IMAGE_ID, now_ns=NOW, health="starting")
    assert _check(body, {"$ref": "#/definitions/ContainerSummary"}, "summary") == []


def test_encoders_match_api_spec() -> None:
    """encode_config / encode_host_config are ContainerConfig / HostConfig."""
    assert _check(encode_config(FULL_SPEC), {"$ref": "#/definitions/ContainerConfig"}, "c") == []
    assert _check(encode_host_config(FULL_SPEC), {"$ref": "#/definitions/HostConfig"}, "h") == []


@settings(max_examples=50)
@given(
    st.builds(
        State,
        running=st.booleans(), paused=st.booleans(), restarting=st.booleans(),
        removing=st.booleans(), dead=st.booleans(), exit_code=st.integers(0, 255),
        started_at=st.integers(0, NOW), finished_at=st.integers(0, NOW),
        restart_count=st.integers(0, 10),
    ),
    st.sampled_from([None, "none", "starting", "healthy", "unhealthy"]),
)  # fmt: skip
def test_any_state_renders(state: State, health: str | None) -> None:
    """Every flag combination yields a schema-valid body and a Docker status word."""
    rec = record(FULL_SPEC, state)
    assert _check(inspect(rec, image=None, now_ns=NOW, log_path=LOG),
                  {"$ref": "#/definitions/ContainerInspectResponse"}, "i") == []  # fmt: skip
    row = summary(rec, image_id=IMAGE_ID, now_ns=NOW, health=health)
    assert row["State"] == state.status.value
    assert row["Status"].startswith(("Up ", "Restarting (", "Exited (", "Created", "Dead",
                                     "Removal In Progress")) or row["Status"] == ""  # fmt: skip


def test_docker_py_container_model_reads_inspect() -> None:
    """docker-py 7.2's Container model reads name, status, labels, health without KeyError."""
    from docker.models.containers import Container  # type: ignore[import-untyped]

    health = {"Status": "healthy", "FailingStreak": 0, "Log": []}
    body = inspect(record(FULL_SPEC, RUNNING), image=None, now_ns=NOW, log_path=LOG,
                   extra={"State": {"Health": health}})  # fmt: skip
    container = Container(attrs=body)
    assert container.name == "web" and container.status == "running"
    assert container.labels == {"com.docker.compose.project": "proj"}
    assert container.health == "healthy"
    assert container.short_id == CID[:12]
    assert container.attrs["HostConfig"]["LogConfig"]["Type"] in ("json-file", "journald")
    assert (
        Container(attrs=inspect(record(), image=None, now_ns=NOW, log_path=LOG)).health == "unknown"
    )
