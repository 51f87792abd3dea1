"""docker-py 7.2.0 against a berth daemon."""

from __future__ import annotations

import docker
import pytest

from tests.integration.conftest import Daemon

pytestmark = pytest.mark.integration


@pytest.fixture
def client(daemon: Daemon):
    c = docker.DockerClient(base_url=daemon.host, timeout=30)
    yield c
    c.close()


def test_ping_and_version(client) -> None:
    assert client.ping() is True
    assert client.version()["ApiVersion"] == "1.50"


def test_run_detached_list_get_stop_remove(client) -> None:
    ct = client.containers.run("busybox", "sleep 300", detach=True, name="pyrun", labels={"app": "x"})
    try:
        assert ct.name == "pyrun" and ct.image.tags == ["busybox:latest"]
        assert "pyrun" in [c.name for c in client.containers.list()]
        assert [c.id for c in client.containers.list(filters={"label": ["app=x"]})] == [ct.id]
        got = client.containers.get("pyrun")
        assert got.status == "running" and got.labels == {"app": "x"}
        got.stop(timeout=1)
        got.reload()
        assert got.status == "exited" and got.attrs["State"]["ExitCode"] == 137
    finally:
        client.containers.get(ct.id).remove(force=True)
    assert "pyrun" not in [c.name for c in client.containers.list(all=True)]


def test_errors_map_to_docker_py_exceptions(client) -> None:
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("no-such-container")
    with pytest.raises(docker.errors.ImageNotFound):
        client.containers.create("no-such-image:1", "true")
    with pytest.raises(docker.errors.APIError) as info:
        client.containers.create("busybox", "true", mem_limit="1k")
    assert info.value.status_code == 400


def test_wait_and_images(client) -> None:
    ct = client.containers.run("busybox", ["sh", "-c", "exit 6"], detach=True)
    try:
        assert ct.wait(timeout=30)["StatusCode"] == 6
    finally:
        ct.remove()
    tags = {t for image in client.images.list() for t in image.tags}
    assert {"busybox:latest", "host:latest"} <= tags


def test_run_with_ports_and_volumes(client, daemon: Daemon) -> None:
    """docker-py's containers.run(ports=..., volumes=...): a published port serves, a volume keeps data."""
    import urllib.request

    client.containers.run("busybox", ["sh", "-c", "echo kept > /data/f"], volumes={"pyvol": {"bind": "/data", "mode": "rw"}}, remove=True)
    web = client.containers.run(
        "busybox", ["sh", "-c", "mkdir /www && cat /data/f > /www/index.html && exec httpd -f -p 80 -h /www"],
        detach=True, ports={"80/tcp": ("127.0.0.1", None)}, volumes={"pyvol": {"bind": "/data", "mode": "ro"}},
    )
    try:
        web.reload()
        port = web.attrs["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]
        for _ in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as reply:
                    assert reply.read() == b"kept\n"
                    break
            except OSError:
                import time

                time.sleep(0.1)
        else:
            raise AssertionError("published port never answered")
    finally:
        web.remove(force=True)
        client.volumes.get("pyvol").remove()
