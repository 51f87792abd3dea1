"""Route table: (method, path regex) -> handler, with Docker's version prefix.

moby registers every route twice, bare and under ``/v{version}``, and checks
the version only once a route matched (an unknown path is a 404 whatever its
prefix). A version outside [1.24, 1.50] is a 400 with moby's exact words.
An unknown method on a known path is also "page not found": moby points
gorilla's MethodNotAllowedHandler at the same not-found handler, and the CLI
retries ``HEAD /_ping`` as ``GET`` on any status other than 200/500.

Pure: no I/O. Patterns are matched against the decoded path without the
version prefix and must match it whole.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from supervisor.errors import InvalidArgument, NotFound

if TYPE_CHECKING:
    from supervisor.api.request import Request, Response

Handler = Callable[["Request"], Awaitable["Response | None"]]

API_VERSION = "1.50"
MIN_API_VERSION = "1.24"

_VERSIONED = re.compile(r"/v([0-9.]+)(/.*)", re.DOTALL)
_REGEX_SPECIALS = frozenset(".^$*+?{}[]\\|()")


def version_tuple(version: str) -> tuple[int, ...]:
    """Parse "1.50" into (1, 50) the way moby's versions.compare does (junk parts count as 0)."""
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def _compare(a: str, b: str) -> int:
    ta, tb = version_tuple(a), version_tuple(b)
    width = max(len(ta), len(tb))
    ta += (0,) * (width - len(ta))
    tb += (0,) * (width - len(tb))
    return (ta > tb) - (ta < tb)


_MIN_T = version_tuple(MIN_API_VERSION)
_MAX_T = version_tuple(API_VERSION)


def check_version(version: str) -> None:
    """Raise InvalidArgument unless MIN_API_VERSION <= version <= API_VERSION."""
    if _compare(version, MIN_API_VERSION) < 0:
        msg = (
            f"client version {version} is too old. Minimum supported API version is "
            f"{MIN_API_VERSION}, please upgrade your client to a newer version"
        )
        raise InvalidArgument(msg)
    if _compare(version, API_VERSION) > 0:
        msg = f"client version {version} is too new. Maximum supported API version is {API_VERSION}"
        raise InvalidArgument(msg)


def split_version(path: str) -> tuple[str | None, str]:
    """Split "/v1.41/containers/json" into ("1.41", "/containers/json"); no prefix -> (None, path)."""
    if path.startswith("/v"):
        m = _VERSIONED.fullmatch(path)
        if m is not None:
            return m.group(1), m.group(2)
    return None, path


def _literal_prefix(pattern: str) -> str:
    """The leading part of a pattern that is plain text: a cheap pre-filter before the regex."""
    for i, ch in enumerate(pattern):
        if ch in _REGEX_SPECIALS:
            return pattern[:i]
    return pattern


@dataclass(frozen=True, slots=True)
class Route:
    """One registered route."""

    method: str
    pattern: str
    handler: Handler
    regex: re.Pattern[str]
    prefix: str


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """The outcome of a successful lookup."""

    route: Route
    params: dict[str, str]
    api_version: str  # "1.50" when the path had no prefix
    path: str  # without the version prefix


class Router:
    """Routes by method and full-path regex, in registration order."""

    def __init__(self) -> None:
        self._routes: dict[str, list[Route]] = {}

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        """Register ``handler`` for ``method`` on paths matching ``pattern`` as a whole.

        Args:
            method: "GET", "POST", "HEAD", ... (HEAD is only served where declared).
            pattern: a regex over the path without the version prefix, with named
                groups for parameters, e.g. r"/containers/(?P<id>[^/]+)/start".
            handler: ``async def handler(req) -> Response | None``.

        Raises:
            ValueError: the pattern is not a valid regex or does not start with "/".
        """
        if not pattern.startswith("/"):
            msg = f"route pattern must start with '/': {pattern!r}"
            raise ValueError(msg)
        try:
            regex = re.compile(pattern, re.DOTALL)
        except re.error as exc:
            msg = f"invalid route pattern {pattern!r}: {exc}"
            raise ValueError(msg) from exc
        route = Route(method.upper(), pattern, handler, regex, _literal_prefix(pattern))
        self._routes.setdefault(route.method, []).append(route)

    def match(self, method: str, path: str) -> RouteMatch:
        """Find the route for a request path (still carrying its version prefix, if any).

        Raises:
            NotFound: "page not found" (unknown path, or a method the path lacks).
            InvalidArgument: the route exists but the version is out of range.
        """
        version, bare = split_version(path)
        for route in self._routes.get(method, ()):
            if not bare.startswith(route.prefix):
                continue
            m = route.regex.fullmatch(bare)
            if m is not None:
                if version is None:
                    version = API_VERSION
                else:
                    check_version(version)
                return RouteMatch(route, m.groupdict(), version, bare)
        msg = "page not found"
        raise NotFound(msg)

    def routes(self) -> list[Route]:
        """Every registered route, for diagnostics and tests."""
        return [r for rs in self._routes.values() for r in rs]


def at_least(version: str, minimum: str) -> bool:
    """True if API ``version`` >= ``minimum`` (moby's versions.GreaterThanOrEqualTo)."""
    return _compare(version, minimum) >= 0


__all__ = [
    "API_VERSION",
    "MIN_API_VERSION",
    "Handler",
    "Route",
    "RouteMatch",
    "Router",
    "at_least",
    "check_version",
    "split_version",
    "version_tuple",
]
