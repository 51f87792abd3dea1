"""Routing: version prefixes and range, full-path regexes, not-found rules."""

from __future__ import annotations

import pytest

from supervisor.api.hijack import hijack_head, needs_output_delay
from supervisor.api.router import Router, at_least, check_version, split_version
from supervisor.api.routes_system import version_body
from supervisor.errors import InvalidArgument, NotFound


async def h_start(req):
    return None


async def h_image(req):
    return None


async def h_ping(req):
    return None


@pytest.fixture
def router():
    r = Router()
    r.add("POST", r"/containers/(?P<id>[^/]+)/start", h_start)
    r.add("GET", r"/images/(?P<name>.+)/json", h_image)
    r.add("HEAD", r"/_ping", h_ping)
    return r


@pytest.mark.parametrize(
    ("path", "version", "bare"),
    [
        ("/_ping", None, "/_ping"),
        ("/v1.50/_ping", "1.50", "/_ping"),
        ("/v1.24/containers/json", "1.24", "/containers/json"),
        ("/volumes", None, "/volumes"),
        ("/v1.50", None, "/v1.50"),
    ],
)
def test_split_version(path, version, bare):
    assert split_version(path) == (version, bare)


@pytest.mark.parametrize("version", ["1.24", "1.30", "1.41", "1.5", "1.50"])
def test_supported_versions(version):
    if version == "1.5":  # 1.5 < 1.24 numerically, as in moby
        with pytest.raises(InvalidArgument, match="too old"):
            check_version(version)
    else:
        check_version(version)


def test_version_messages_are_mobys():
    with pytest.raises(InvalidArgument) as old:
        check_version("1.12")
    assert str(old.value) == (
        "client version 1.12 is too old. Minimum supported API version is 1.24, "
        "please upgrade your client to a newer version"
    )
    with pytest.raises(InvalidArgument) as new:
        check_version("1.51")
    assert str(new.value) == "client version 1.51 is too new. Maximum supported API version is 1.50"
    with pytest.raises(InvalidArgument, match="too new"):
        check_version("2")


def test_at_least():
    assert at_least("1.50", "1.42") and at_least("1.42", "1.42") and not at_least("1.41", "1.42")
    assert at_least("1.100", "1.50")


def test_match_with_and_without_prefix(router):
    m = router.match("POST", "/v1.41/containers/web/start")
    assert (m.route.handler, m.params, m.api_version, m.path) == (
        h_start,
        {"id": "web"},
        "1.41",
        "/containers/web/start",
    )
    m = router.match("POST", "/containers/web/start")
    assert m.api_version == "1.50"


def test_image_names_greedy(router):
    m = router.match("GET", "/v1.50/images/docker.io/library/busybox:latest/json")
    assert m.params == {"name": "docker.io/library/busybox:latest"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/containers/web/start"),  # wrong method is also page not found
        ("POST", "/containers/web/start/extra"),
        ("POST", "/containers//start"),
        ("GET", "/_ping"),  # only HEAD declared here
        ("GET", "/v1.12/nothing"),  # unknown route beats a bad version
    ],
)
def test_not_found(router, method, path):
    with pytest.raises(NotFound, match="page not found"):
        router.match(method, path)


def test_version_checked_only_for_known_routes(router):
    with pytest.raises(InvalidArgument, match="too old"):
        router.match("HEAD", "/v1.12/_ping")


def test_add_rejects_bad_patterns():
    r = Router()
    with pytest.raises(ValueError, match="must start with"):
        r.add("GET", "containers", h_start)
    with pytest.raises(ValueError, match="invalid route pattern"):
        r.add("GET", "/containers/(", h_start)


def test_hijack_heads():
    assert hijack_head(upgrade=True, content_type="application/vnd.docker.raw-stream") == (
        b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
        b"Connection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: 1.50\r\n"
        b"Server: Docker/28.2.2-berth (linux)\r\nOstype: linux\r\nDocker-Experimental: false\r\n\r\n"
    )
    assert hijack_head(upgrade=False, content_type="x").startswith(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
    )


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        ("docker-sdk-python/7.2.0", True),
        ("docker-compose/1.29.2 docker-py/6.1.3 Linux/6.1.0", True),
        ("Docker-Client/28.2.2 (linux)", False),
        ("", False),
        ("berth/0.1", False),
    ],
)
def test_output_delay_only_for_docker_py(ua, expected):
    assert needs_output_delay(ua) is expected


def test_version_body_details_are_strings():
    body = version_body(kernel="6.1.0-18-amd64", machine="aarch64")
    assert body["Arch"] == "arm64"
    assert body["ApiVersion"] == "1.50" and body["MinAPIVersion"] == "1.24"
    assert body["Experimental"] is False
    assert body["Components"][0]["Name"] == "Engine"
    assert all(isinstance(v, str) for v in body["Components"][0]["Details"].values())
