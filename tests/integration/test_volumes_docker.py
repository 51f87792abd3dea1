"""Volumes, binds, tmpfs and --volumes-from with the real docker CLI and docker-py on a berth daemon.

These pass once the volume service is wired into the engine (see /tmp/volumes-wiring.patch).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import HAVE_DOCKER, Daemon

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not HAVE_DOCKER, reason="docker CLI not installed"),
]


@pytest.fixture
def cleanup(daemon: Daemon) -> Iterator[list[str]]:
    """Names of containers (``c:NAME``) and volumes (``v:NAME``) to remove after the test."""
    items: list[str] = []
    yield items
    for item in reversed(items):
        kind, _, name = item.partition(":")
        if kind == "c":
            daemon.docker("rm", "-f", "-v", name, check=False)
        else:
            daemon.docker("volume", "rm", "-f", name, check=False)


@pytest.fixture
def host_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="berth-vol-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def volume_names(daemon: Daemon) -> set[str]:
    return set(daemon.docker("volume", "ls", "-q").stdout.split())


def test_named_volume_keeps_data_and_is_protected_while_used(daemon: Daemon, cleanup: list[str]) -> None:
    cleanup += ["v:data1", "c:writer"]
    daemon.docker("run", "--name", "writer", "-v", "data1:/data", "busybox", "sh", "-c", "echo x > /data/f")
    assert daemon.docker("run", "--rm", "-v", "data1:/data", "busybox", "cat", "/data/f").stdout == "x\n"
    ls = daemon.docker("volume", "ls").stdout.splitlines()
    assert ls[0].split() == ["DRIVER", "VOLUME", "NAME"] and any(line.split() == ["local", "data1"] for line in ls)
    info = json.loads(daemon.docker("volume", "inspect", "data1").stdout)[0]
    assert info["Mountpoint"] == str(daemon.data_root / "volumes" / "data1" / "_data")
    assert (Path(info["Mountpoint"]) / "f").read_text() == "x\n"
    mounts = daemon.inspect("writer")["Mounts"]
    assert mounts == [{"Type": "volume", "Name": "data1", "Source": info["Mountpoint"], "Destination": "/data",
                       "Driver": "local", "Mode": "z", "RW": True, "Propagation": ""}]  # fmt: skip
    busy = daemon.docker("volume", "rm", "data1", check=False)
    assert busy.returncode == 1 and "remove data1: volume is in use - [" in busy.stderr
    daemon.docker("rm", "writer")
    assert daemon.docker("volume", "rm", "data1").stdout == "data1\n"
    missing = daemon.docker("volume", "inspect", "data1", check=False)
    assert missing.returncode == 1 and "no such volume" in missing.stderr


def test_anonymous_volume_removed_by_rm_v(daemon: Daemon, cleanup: list[str]) -> None:
    cleanup.append("c:anon")
    daemon.docker("create", "--name", "anon", "-v", "/scratch", "busybox", "true")
    (mount,) = daemon.inspect("anon")["Mounts"]
    assert len(mount["Name"]) == 64 and mount["Name"] in volume_names(daemon)
    daemon.docker("rm", "-v", "anon")
    assert mount["Name"] not in volume_names(daemon)


def test_new_volume_is_filled_from_the_image(daemon: Daemon, cleanup: list[str]) -> None:
    cleanup.append("v:etcvol")
    daemon.docker("run", "--rm", "-v", "etcvol:/etc", "busybox", "true")
    listing = daemon.docker("run", "--rm", "-v", "etcvol:/x", "busybox", "ls", "/x").stdout.split()
    assert "passwd" in listing and "group" in listing


def test_bind_mount_ro_and_rw(daemon: Daemon, host_dir: Path) -> None:
    (host_dir / "in").write_text("from host\n")
    ro = daemon.docker(
        "run", "--rm", "-v", f"{host_dir}:/h:ro", "busybox", "sh", "-c", "cat /h/in; touch /h/new", check=False
    )
    assert ro.stdout == "from host\n" and ro.returncode != 0 and "Read-only file system" in ro.stderr
    daemon.docker("run", "--rm", "-v", f"{host_dir}:/h", "busybox", "sh", "-c", "echo hi > /h/out")
    assert (host_dir / "out").read_text() == "hi\n"
    made = host_dir / "made" / "by-v"
    daemon.docker("run", "--rm", "-v", f"{made}:/m", "busybox", "true")
    assert made.is_dir()


def test_mount_flag_kinds(daemon: Daemon, cleanup: list[str], host_dir: Path) -> None:
    cleanup.append("v:mvol")
    out = daemon.docker(
        "run", "--rm", "--mount", "type=volume,source=mvol,target=/m,volume-nocopy",
        "--mount", f"type=bind,source={host_dir},target=/b,readonly",
        "--mount", "type=tmpfs,target=/t,tmpfs-size=2m",
        "busybox", "sh", "-c", "grep -E ' /(m|b|t) ' /proc/mounts | cut -d' ' -f2-4",
    ).stdout.splitlines()
    kinds = {line.split()[0]: line.split()[1:] for line in out}
    assert kinds["/t"][0] == "tmpfs" and "size=2048k" in kinds["/t"][1]
    assert kinds["/b"][1].startswith("ro,") and kinds["/m"][1].startswith("rw,")
    missing = daemon.docker(
        "run", "--rm", "--mount", "type=bind,source=/nonexistent-berth,target=/x", "busybox", "true", check=False
    )
    assert missing.returncode != 0
    assert 'invalid mount config for type "bind": bind source path does not exist: /nonexistent-berth' in missing.stderr


def test_tmpfs_flag(daemon: Daemon) -> None:
    line = daemon.docker("run", "--rm", "--tmpfs", "/run:size=1m", "busybox", "grep", " /run ", "/proc/mounts").stdout
    assert line.split()[2] == "tmpfs" and "size=1024k" in line


def test_volumes_from(daemon: Daemon, cleanup: list[str]) -> None:
    cleanup.append("c:vsrc")
    daemon.docker("create", "--name", "vsrc", "-v", "/shared", "busybox", "true")
    daemon.docker("run", "--rm", "--volumes-from", "vsrc", "busybox", "sh", "-c", "echo hi > /shared/f")
    ro = daemon.docker(
        "run", "--rm", "--volumes-from", "vsrc:ro", "busybox", "sh", "-c", "cat /shared/f; touch /shared/g",
        check=False,
    )
    assert ro.stdout == "hi\n" and ro.returncode != 0


def test_daemon_paths_refused(daemon: Daemon) -> None:
    out = daemon.docker("run", "--rm", "-v", f"{daemon.data_root}:/x", "busybox", "true", check=False)
    assert out.returncode != 0 and "berth.allow-daemon-paths=true" in out.stderr


def test_volume_create_ls_filters_prune(daemon: Daemon, cleanup: list[str]) -> None:
    cleanup += ["v:pv1", "v:pv2"]
    assert daemon.docker("volume", "create", "--label", "team=a", "pv1").stdout == "pv1\n"
    daemon.docker("volume", "create", "pv2")
    assert daemon.docker("volume", "ls", "-q", "--filter", "label=team=a").stdout == "pv1\n"
    assert daemon.docker("volume", "ls", "--format", "{{.Name}} {{.Driver}}", "-f", "name=pv2").stdout == "pv2 local\n"
    daemon.docker("create", "--name", "pruneme", "-v", "/anon", "busybox", "true")
    (anon,) = [m["Name"] for m in daemon.inspect("pruneme")["Mounts"]]
    daemon.docker("rm", "pruneme")  # without -v: the anonymous volume stays
    assert anon in volume_names(daemon)
    out = daemon.docker("volume", "prune", "-f").stdout
    assert anon in out and "pv1" not in out
    assert {"pv1", "pv2"} <= volume_names(daemon)
    daemon.docker("volume", "prune", "-af", "--filter", "label=team=a")
    assert "pv1" not in volume_names(daemon) and "pv2" in volume_names(daemon)


def test_docker_py_run_with_volumes(daemon: Daemon, cleanup: list[str]) -> None:
    import docker

    cleanup.append("v:pyvol")
    client = docker.DockerClient(base_url=daemon.host, timeout=30)
    try:
        client.containers.run("busybox", "sh -c 'echo py > /v/f'", volumes={"pyvol": {"bind": "/v", "mode": "rw"}}, remove=True)
        out = client.containers.run("busybox", "cat /v/f", volumes=["pyvol:/v:ro"], remove=True)
        assert out == b"py\n"
        vol = client.volumes.get("pyvol")
        assert vol.attrs["Driver"] == "local" and vol.name == "pyvol"
        assert "pyvol" in [v.name for v in client.volumes.list()]
    finally:
        client.close()


def test_berth_cli_volume_commands(daemon: Daemon, cleanup: list[str]) -> None:
    cleanup.append("v:bv1")
    assert daemon.berth("volume", "create", "bv1", "--label", "k=v").stdout == "bv1\n"
    assert "bv1" in daemon.berth("volume", "ls", "-q").stdout.split()
    assert json.loads(daemon.berth("volume", "inspect", "bv1").stdout)[0]["Labels"] == {"k": "v"}
    assert daemon.berth("volume", "rm", "bv1").stdout == "bv1\n"
    out = daemon.berth("run", "--rm", "--mount", "type=tmpfs,target=/t", "busybox", "grep", " /t ", "/proc/mounts").stdout
    assert "tmpfs" in out


def test_no_mounts_left_behind(daemon: Daemon) -> None:
    with open("/proc/self/mountinfo") as f:
        assert not [line for line in f if str(daemon.data_root / "volumes") in line]
    assert os.path.isdir(daemon.data_root / "volumes")
