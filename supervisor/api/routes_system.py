"""Tier 0 routes: ``/_ping`` and ``/version`` (docker-api.md §1).

Every CLI command starts with ``HEAD /_ping`` and docker-py/compose start with
an unversioned ``GET /version``, so both answer from prebuilt data. Also the
worked example of a route module: build a Router, add handlers, return
Responses, raise BerthErrors.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable
from typing import Any

from supervisor.api.request import SERVER_VERSION, TEXT, Request, Response
from supervisor.api.router import API_VERSION, MIN_API_VERSION, Router

_PING_HEADERS = (
    ("Cache-Control", "no-cache, no-store, must-revalidate"),
    ("Pragma", "no-cache"),
    ("Swarm", "inactive"),
)
# moby pingHandler: HEAD sets Content-Type/Content-Length 0 by hand; GET writes "OK".
_PING_HEAD = Response(200, b"", TEXT, _PING_HEADERS)
_PING_GET = Response(200, b"OK", TEXT, _PING_HEADERS)

_GO_ARCH = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "arm",
    "i686": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def version_body(
    *,
    kernel: str,
    machine: str,
    version: str = SERVER_VERSION,
    git_commit: str = "berth",
    build_time: str = "",
    runtime: str = "",
) -> dict[str, Any]:
    """The ``GET /version`` body (Go's types.Version); every Details value is a string.

    Args:
        kernel: ``uname -r``.
        machine: ``uname -m``; mapped to Go's GOARCH names (x86_64 -> amd64).
        version, git_commit, build_time: what ``docker version`` prints for the server.
        runtime: goes where Docker has GoVersion (e.g. "python3.11.2").
    """
    arch = _GO_ARCH.get(machine, machine)
    details = {
        "ApiVersion": API_VERSION,
        "Arch": arch,
        "BuildTime": build_time,
        "Experimental": "false",
        "GitCommit": git_commit,
        "GoVersion": runtime,
        "KernelVersion": kernel,
        "MinAPIVersion": MIN_API_VERSION,
        "Os": "linux",
    }
    return {
        "Platform": {"Name": "berth"},
        "Components": [{"Name": "Engine", "Version": version, "Details": details}],
        "Version": version,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": git_commit,
        "GoVersion": runtime,
        "Os": "linux",
        "Arch": arch,
        "KernelVersion": kernel,
        "Experimental": False,
        "BuildTime": build_time,
    }


def host_version_body() -> dict[str, Any]:
    """``version_body`` for this machine (reads uname once per call; cache it)."""
    uname = platform.uname()
    v = sys.version_info
    return version_body(
        kernel=uname.release, machine=uname.machine, runtime=f"python{v.major}.{v.minor}.{v.micro}"
    )


def add_system_routes(router: Router, *, version_info: Callable[[], dict[str, Any]]) -> None:
    """Register ``HEAD|GET /_ping`` and ``GET /version``.

    Args:
        version_info: returns the /version body, e.g. a cached ``host_version_body``.
    """

    async def ping_head(req: Request) -> Response:
        return _PING_HEAD

    async def ping_get(req: Request) -> Response:
        return _PING_GET

    async def get_version(req: Request) -> Response:
        return Response.json(version_info())

    router.add("HEAD", "/_ping", ping_head)
    router.add("GET", "/_ping", ping_get)
    router.add("GET", "/version", get_version)


__all__ = ["add_system_routes", "host_version_body", "version_body"]
