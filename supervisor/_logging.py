"""structlog configuration for the daemon's own logs, done once at start.

Human-readable on a tty, JSON lines otherwise (what a log collector wants).
Log lines and bus events are separate streams with separate purposes: these
are for the operator, events are for clients.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure(*, json: bool | None = None, level: str = "info") -> None:
    """Configure structlog for the daemon.

    Args:
        json: force JSON (True) or console (False) output; None picks by tty.
        level: the minimum level name to print.
    """
    if json is None:
        json = not sys.stderr.isatty()
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    """Return the logger for one module."""
    return structlog.get_logger(name)  # type: ignore[no-any-return]
