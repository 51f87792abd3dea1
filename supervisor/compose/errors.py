"""The one error a service file can produce: what is wrong, where (file:line), which key."""

from __future__ import annotations

from collections.abc import Sequence

from supervisor.errors import InvalidArgument


class ComposeError(InvalidArgument):
    """A service file is invalid; nothing was created or changed.

    ``errors`` holds every problem found, each one line naming the file, the
    line, and the key path (``compose.yml:7: services.worker.restart: ...``).
    """

    def __init__(self, message: str | Sequence[str]) -> None:
        errors = (message,) if isinstance(message, str) else tuple(message)
        super().__init__("\n".join(errors))
        self.errors = errors
