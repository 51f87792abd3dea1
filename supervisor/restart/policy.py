"""Restart policies: the ``--restart`` text syntax and Docker's validation rules.

Rules:

1. The text form is ``name[:max-retries]`` and is split at the FIRST colon,
   as docker/cli's ``ParseRestartPolicy`` does (``strings.Cut``): ``":3"`` has
   no name, ``"on-failure:1:2"`` has a count that is not an integer, and an
   empty count (``"on-failure:"``) means 0.
2. The model is then checked with the daemon's rules (moby
   ``container.ValidateRestartPolicy``): a retry count is only meaningful
   with ``on-failure`` and never negative; unknown names are refused with the
   list of known ones. The legacy empty name is accepted with any count for
   backward compatibility, as Docker does, and means ``no``.
3. The error strings are Docker's, word for word, because scripts and
   compose front-ends match on them.

Parsing and validation are separate so that the API (which receives
``{Name, MaximumRetryCount}`` already split) uses the same rules as the CLI.
"""

from __future__ import annotations

import re

from supervisor.engine.model import RestartPolicy
from supervisor.errors import InvalidArgument

NO = "no"
ALWAYS = "always"
ON_FAILURE = "on-failure"
UNLESS_STOPPED = "unless-stopped"
POLICY_NAMES = (NO, ALWAYS, ON_FAILURE, UNLESS_STOPPED)

# strconv.Atoi: optional sign, ASCII digits only (no spaces, no underscores).
_ATOI = re.compile(r"[+-]?[0-9]+")


def is_none(policy: RestartPolicy) -> bool:
    """True for ``no`` and the legacy empty name: the container is never restarted."""
    return policy.name in ("", NO)


def validate_restart_policy(policy: RestartPolicy, *, auto_remove: bool = False) -> None:
    """Apply dockerd's rules to an already split policy (the API's HostConfig.RestartPolicy).

    Raises:
        InvalidArgument: with Docker's message.
    """
    name, count = policy.name, policy.maximum_retry_count
    if name == "":
        pass  # legacy "no"; any count is accepted for backward compatibility
    elif name in (NO, ALWAYS, UNLESS_STOPPED):
        if count > 0:
            msg = "invalid restart policy: maximum retry count can only be used with 'on-failure'"
            raise InvalidArgument(msg)
        if count < 0:
            msg = (
                "invalid restart policy: maximum retry count can only be used with "
                "'on-failure' and cannot be negative"
            )
            raise InvalidArgument(msg)
    elif name == ON_FAILURE:
        if count < 0:
            msg = "invalid restart policy: maximum retry count cannot be negative"
            raise InvalidArgument(msg)
    else:
        msg = (
            f"invalid restart policy: unknown policy '{name}'; use one of "
            "'no', 'always', 'on-failure', or 'unless-stopped'"
        )
        raise InvalidArgument(msg)
    if auto_remove and not is_none(policy):
        msg = "can't create 'AutoRemove' container with restart policy"
        raise InvalidArgument(msg)


def parse_restart_policy(text: str) -> RestartPolicy:
    """Parse ``no|always|unless-stopped|on-failure[:N]`` (``--restart``, compose ``restart:``).

    The empty string is the default policy ``no``.

    Raises:
        InvalidArgument: with docker/cli's or dockerd's message.
    """
    if text == "":
        return RestartPolicy()
    name, colon, count_text = text.partition(":")
    if colon and name == "":
        msg = "invalid restart policy format: no policy provided before colon"
        raise InvalidArgument(msg)
    count = 0
    if count_text != "":
        if not _ATOI.fullmatch(count_text):
            msg = "invalid restart policy format: maximum retry count must be an integer"
            raise InvalidArgument(msg)
        count = int(count_text)
        if not -(2**63) <= count < 2**63:  # Atoi's range error
            msg = "invalid restart policy format: maximum retry count must be an integer"
            raise InvalidArgument(msg)
    policy = RestartPolicy(name=name, maximum_retry_count=count)
    validate_restart_policy(policy)
    return policy


def format_restart_policy(policy: RestartPolicy) -> str:
    """The canonical text form: ``on-failure:3``, ``on-failure`` (unlimited), ``always``, ``no``."""
    if is_none(policy):
        return NO
    if policy.name == ON_FAILURE and policy.maximum_retry_count > 0:
        return f"{ON_FAILURE}:{policy.maximum_retry_count}"
    return policy.name
