"""The berth CLI against a berth daemon: the same verbs as docker."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import Daemon

pytestmark = pytest.mark.integration


def test_run_foreground_returns_exit_code(daemon: Daemon) -> None:
    out = daemon.berth("run", "--rm", "busybox", "sh", "-c", "echo hi; echo oops >&2; exit 5", check=False)
    assert out.returncode == 5 and out.stdout == "hi\n" and "oops" in out.stderr


def test_lifecycle_and_tables(daemon: Daemon) -> None:
    cid = daemon.berth("run", "-d", "--name", "bweb", "-l", "k=v", "busybox", "sleep", "300").stdout.strip()
    try:
        assert len(cid) == 64
        table = daemon.berth("ps").stdout.splitlines()
        assert table[0].split()[:2] == ["CONTAINER", "ID"]
        assert any(line.startswith(cid[:12]) and line.rstrip().endswith("bweb") for line in table)
        rows = [json.loads(line) for line in daemon.berth("ps", "--format", "json").stdout.splitlines()]
        assert [r["Names"] for r in rows] == ["bweb"]
        assert daemon.berth("inspect", "-f", "{{.State.Status}} {{index .Config.Labels \"k\"}}", "bweb").stdout.strip() == "running v"
        daemon.berth("pause", "bweb")
        daemon.berth("unpause", "bweb")
        daemon.berth("kill", "-s", "KILL", "bweb")
        assert daemon.berth("wait", "bweb").stdout.strip() == "137"
        daemon.berth("start", "bweb")
        daemon.berth("stop", "-t", "0", "bweb")
        daemon.berth("rename", "bweb", "bweb2")
        daemon.berth("rm", "bweb2")
    finally:
        daemon.berth("rm", "-f", "bweb", "bweb2", check=False)


def test_errors_go_to_stderr_with_nonzero_exit(daemon: Daemon) -> None:
    out = daemon.berth("stop", "nope-nope", check=False)
    assert out.returncode == 1 and "No such container: nope-nope" in out.stderr
    out = daemon.berth("run", "--rm", "busybox", "--bogus-flag", check=False)
    assert out.returncode != 0


def test_images_import_tag_rmi_and_events(daemon: Daemon) -> None:
    tar = daemon.root / "busybox.tar"
    image_id = daemon.berth("import", str(tar), "bbox:7").stdout.strip()
    assert image_id.startswith("sha256:")
    assert "bbox" in daemon.berth("images").stdout
    daemon.berth("tag", "bbox:7", "bbox:8")
    assert set(daemon.berth("images", "-q", "bbox").stdout.split()) == {image_id[7:19]}
    daemon.berth("rmi", "bbox:8", "bbox:7")
    out = daemon.berth("events", "--since", "1m", "--until", "0s", "--filter", "type=image").stdout
    assert "image import" in out or "image tag" in out


def test_version_and_info(daemon: Daemon) -> None:
    assert "1.50" in daemon.berth("version").stdout
    assert daemon.berth("info").returncode == 0
