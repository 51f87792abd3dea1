"""One error family for the whole daemon.

Each class is named by what the caller can do about it and carries the HTTP
status the API answers with (like h11's ``error_status_hint``). The core raises
these directly; the API edge turns them into Docker's ``{"message": ...}``
bodies, and anything else that escapes a handler becomes a 500.
"""

from __future__ import annotations


class BerthError(Exception):
    """Base of every error berth reports to a client."""

    http_status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidArgument(BerthError):
    """The request itself is wrong: fix the input and try again."""

    http_status = 400


class Forbidden(BerthError):
    """The operation is never allowed on this object (a pre-defined network, say)."""

    http_status = 403


class NotFound(BerthError):
    """The named object does not exist."""

    http_status = 404


class ImageNotFound(NotFound):
    """No such image; the message always contains "No such image" for docker-py."""


class Conflict(BerthError):
    """The object is in a state that forbids the operation (running, in use, name taken)."""

    http_status = 409


class NotModified(BerthError):
    """Nothing to do: already started, already stopped. Docker answers 304."""

    http_status = 304


class NotImplementedFeature(BerthError):
    """berth does not do this (yet); the message says what to do instead."""

    http_status = 501


class Unavailable(BerthError):
    """The daemon cannot take the request now (shutting down)."""

    http_status = 503


class RuntimeFailed(BerthError):
    """The OCI runtime or the kernel refused an operation."""

    http_status = 500


class InvalidTransition(BerthError):
    """A state change that the container state table does not allow."""

    http_status = 409
