"""run/create flags become Docker's create body."""

from __future__ import annotations

from typing import Any

import pytest

from supervisor.cli import runspec
from supervisor.errors import InvalidArgument


def build(**opts: Any) -> dict[str, Any]:
    return runspec.build_create(
        opts,
        "busybox",
        ("sleep", "1"),
        {"HOME": "/root"},
        opts.pop("files", {}) if "files" in opts else {},
    ).body


def test_minimal_body() -> None:
    """Defaults as the docker CLI sends them."""
    body = build()
    assert body["Image"] == "busybox" and body["Cmd"] == ["sleep", "1"]
    assert body["AttachStdout"] and body["AttachStderr"] and not body["AttachStdin"]
    assert body["Entrypoint"] is None and body["Env"] == [] and body["Labels"] == {}
    assert body["HostConfig"] == {
        "Binds": None,
        "NetworkMode": "default",
        "PortBindings": {},
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        "AutoRemove": False,
        "LogConfig": {"Type": "", "Config": {}},
    }
    assert body["NetworkingConfig"] == {"EndpointsConfig": {"default": {}}}


def test_every_flag_lands_somewhere() -> None:
    """Each supported flag maps into the body (none silently vanish)."""
    body = build(
        name="web",
        env=("A=1", "HOME"),
        workdir="/w",
        user="1:2",
        hostname="h",
        label=("k=v", "flag"),
        memory="512m",
        memory_swap="1g",
        memory_reservation="256m",
        cpus="1.5",
        cpu_shares=512,
        cpu_period=100000,
        cpu_quota=50000,
        cpuset_cpus="0-1",
        cpuset_mems="0",
        pids_limit=100,
        init=True,
        stop_signal="SIGINT",
        stop_timeout=3,
        restart="on-failure:3",
        entrypoint="/bin/sh",
        tty=True,
        interactive=True,
        ulimit=("nofile=1024:2048",),
        cap_add=("NET_ADMIN",),
        cap_drop=("ALL",),
        privileged=True,
        read_only=True,
        tmpfs=("/run:rw,size=64m", "/tmp"),
        dns=("1.1.1.1",),
        add_host=("db:10.0.0.2", "x=10.0.0.3"),
        shm_size="64m",
        network="mynet",
        network_alias=("api",),
        publish=("8080:80", "127.0.0.1:53:53/udp"),
        expose=("9000-9001",),
        volume=("/data", "/src:/dst:ro"),
        log_driver="json-file",
        log_opt=("max-size=10m",),
        group_add=("audio",),
        security_opt=("no-new-privileges",),
        sysctl=("net.core.somaxconn=1024",),
        pid="host",
        ipc="private",
        health_cmd="true",
        health_interval="5s",
        health_retries=2,
    )
    host = body["HostConfig"]
    assert body["Env"] == ["A=1", "HOME=/root"]
    assert body["Labels"] == {"k": "v", "flag": ""}
    assert (body["WorkingDir"], body["User"], body["Hostname"]) == ("/w", "1:2", "h")
    assert body["Tty"] and body["OpenStdin"] and body["StdinOnce"] and body["AttachStdin"]
    assert body["StopSignal"] == "SIGINT" and body["StopTimeout"] == 3
    assert body["Entrypoint"] == ["/bin/sh"]
    assert body["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}, "9000/tcp": {}, "9001/tcp": {}}
    assert body["Volumes"] == {"/data": {}}
    assert body["Healthcheck"] == {
        "Test": ["CMD-SHELL", "true"],
        "Interval": 5 * 10**9,
        "Timeout": 0,
        "StartPeriod": 0,
        "StartInterval": 0,
        "Retries": 2,
    }
    assert host["Binds"] == ["/src:/dst:ro"]
    assert host["PortBindings"] == {
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}],
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "53"}],
    }
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert (
        host["Memory"] == 512 * 2**20
        and host["MemorySwap"] == 2**30
        and host["MemoryReservation"] == 256 * 2**20
    )
    assert (
        host["NanoCpus"] == 1_500_000_000
        and host["CpuShares"] == 512
        and host["CpuPeriod"] == 100000
    )
    assert host["CpuQuota"] == 50000 and host["CpusetCpus"] == "0-1" and host["CpusetMems"] == "0"
    assert host["PidsLimit"] == 100 and host["Init"] is True and host["ShmSize"] == 64 * 2**20
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
    assert host["CapAdd"] == ["NET_ADMIN"] and host["CapDrop"] == ["ALL"]
    assert host["Privileged"] and host["ReadonlyRootfs"]
    assert host["Tmpfs"] == {"/run": "rw,size=64m", "/tmp": ""}
    assert host["Dns"] == ["1.1.1.1"] and host["ExtraHosts"] == ["db:10.0.0.2", "x:10.0.0.3"]
    assert host["NetworkMode"] == "mynet" and body["NetworkingConfig"] == {
        "EndpointsConfig": {"mynet": {"Aliases": ["api"]}}
    }
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "10m"}}
    assert host["GroupAdd"] == ["audio"] and host["SecurityOpt"] == ["no-new-privileges"]
    assert (
        host["Sysctls"] == {"net.core.somaxconn": "1024"}
        and host["PidMode"] == "host"
        and host["IpcMode"] == "private"
    )


def test_empty_entrypoint_resets() -> None:
    """--entrypoint '' clears the image's entrypoint."""
    assert build(entrypoint="")["Entrypoint"] == [""]


def test_env_and_label_files() -> None:
    """Files first, then flags; KEY alone is looked up in the environment."""
    files = {"e.env": "# c\n\nA=1\nHOME\nMISSING\nB= spaced \n", "l.txt": "x=1\n"}
    req = runspec.build_create(
        {"env_file": ("e.env",), "env": ("A=2",), "label_file": ("l.txt",), "label": ("y=2",)},
        "i",
        (),
        {"HOME": "/root"},
        files,
    )
    assert req.body["Env"] == ["A=1", "HOME=/root", "B= spaced ", "A=2"]
    assert req.body["Labels"] == {"x": "1", "y": "2"}
    assert req.body["Cmd"] is None


@pytest.mark.parametrize(
    ("spec", "pairs"),
    [
        ("80", [("80/tcp", {"HostIp": "", "HostPort": ""})]),
        ("8080:80/udp", [("80/udp", {"HostIp": "", "HostPort": "8080"})]),
        ("127.0.0.1::80", [("80/tcp", {"HostIp": "127.0.0.1", "HostPort": ""})]),
        ("[::1]:8080:80", [("80/tcp", {"HostIp": "::1", "HostPort": "8080"})]),
        (
            "8000-8001:80-81",
            [
                ("80/tcp", {"HostIp": "", "HostPort": "8000"}),
                ("81/tcp", {"HostIp": "", "HostPort": "8001"}),
            ],
        ),
        ("8000-8010:80", [("80/tcp", {"HostIp": "", "HostPort": "8000-8010"})]),
    ],
)
def test_publish(spec: str, pairs: list[tuple[str, dict[str, str]]]) -> None:
    """-p grammar as nat.ParsePortSpec."""
    assert runspec.parse_publish(spec) == pairs


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ({"publish": ("x:80",)}, "invalid host"),
        ({"publish": ("80/foo",)}, "invalid proto"),
        ({"publish": ("8000-8002:80-81",)}, "invalid ranges"),
        ({"memory": "5x"}, "memory"),
        ({"cpus": "abc"}, "--cpus"),
        ({"restart": "sometimes"}, "unknown policy"),
        ({"restart": "always:3"}, "only be used with 'on-failure'"),
        ({"restart": "always", "rm": True}, "--restart and --rm"),
        ({"ulimit": ("nofile",)}, "invalid ulimit"),
        ({"ulimit": ("nofile=10:5",)}, "soft limit"),
        ({"log_opt": ("novalue",)}, "--log-opt"),
        ({"no_healthcheck": True, "health_cmd": "x"}, "conflicts"),
        ({"health_interval": "-1s"}, "cannot be negative"),
        ({"health_interval": "5"}, "--health-interval"),
    ],
)
def test_invalid_flags(opts: dict[str, Any], message: str) -> None:
    """Bad values are InvalidArgument naming what was wrong."""
    with pytest.raises(InvalidArgument, match=message):
        runspec.build_create(opts, "busybox", (), {}, {})


def test_env_file_rejects_whitespace_in_name() -> None:
    """A variable name with spaces is an error with file and line."""
    with pytest.raises(InvalidArgument, match=r"e\.env:1"):
        runspec.parse_env_file("BAD KEY=1\n", {}, "e.env")


def test_no_healthcheck() -> None:
    """--no-healthcheck is Test [NONE]."""
    assert build(no_healthcheck=True)["Healthcheck"] == {"Test": ["NONE"]}
