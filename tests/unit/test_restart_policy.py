"""Restart policy text parsing and Docker's validation messages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.engine.model import RestartPolicy
from supervisor.errors import InvalidArgument
from supervisor.restart.policy import (
    format_restart_policy,
    is_none,
    parse_restart_policy,
    validate_restart_policy,
)

UNKNOWN = (
    "invalid restart policy: unknown policy '{}'; use one of "
    "'no', 'always', 'on-failure', or 'unless-stopped'"
)
ONLY_ON_FAILURE = "invalid restart policy: maximum retry count can only be used with 'on-failure'"
ONLY_ON_FAILURE_NEG = ONLY_ON_FAILURE + " and cannot be negative"
NEGATIVE = "invalid restart policy: maximum retry count cannot be negative"
NOT_INTEGER = "invalid restart policy format: maximum retry count must be an integer"
NO_NAME = "invalid restart policy format: no policy provided before colon"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", RestartPolicy("no", 0)),
        ("no", RestartPolicy("no", 0)),
        ("always", RestartPolicy("always", 0)),
        ("unless-stopped", RestartPolicy("unless-stopped", 0)),
        ("on-failure", RestartPolicy("on-failure", 0)),
        ("on-failure:0", RestartPolicy("on-failure", 0)),
        ("on-failure:5", RestartPolicy("on-failure", 5)),
        ("on-failure:+5", RestartPolicy("on-failure", 5)),
        ("on-failure:", RestartPolicy("on-failure", 0)),
        ("always:", RestartPolicy("always", 0)),
        ("always:0", RestartPolicy("always", 0)),
    ],
)
def test_parse_accepts_docker_forms(text: str, expected: RestartPolicy) -> None:
    """The CLI/compose forms parse as docker/cli's ParseRestartPolicy does."""
    assert parse_restart_policy(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sometimes", UNKNOWN.format("sometimes")),
        ("Always", UNKNOWN.format("Always")),
        ("on-failure:x", NOT_INTEGER),
        ("on-failure: 3", NOT_INTEGER),
        ("on-failure:1_0", NOT_INTEGER),
        ("on-failure:1:2", NOT_INTEGER),
        ("on-failure:99999999999999999999", NOT_INTEGER),
        (":3", NO_NAME),
        (":", NO_NAME),
        ("on-failure:-1", NEGATIVE),
        ("always:3", ONLY_ON_FAILURE),
        ("unless-stopped:1", ONLY_ON_FAILURE),
        ("no:1", ONLY_ON_FAILURE),
        ("always:-1", ONLY_ON_FAILURE_NEG),
    ],
)
def test_parse_refuses_with_docker_message(text: str, message: str) -> None:
    """Each bad form gets Docker's exact message."""
    with pytest.raises(InvalidArgument) as info:
        parse_restart_policy(text)
    assert str(info.value) == message
    assert info.value.http_status == 400


@pytest.mark.parametrize(
    "policy",
    [RestartPolicy("", 5), RestartPolicy("", -5), RestartPolicy("on-failure", 123)],
)
def test_validate_accepts_legacy_and_counts(policy: RestartPolicy) -> None:
    """The legacy empty name takes any count (Docker's backward compatibility)."""
    validate_restart_policy(policy)


def test_validate_refuses_auto_remove_with_a_policy() -> None:
    """--rm with a restart policy is Docker's "can't create 'AutoRemove'" error."""
    with pytest.raises(
        InvalidArgument, match="can't create 'AutoRemove' container with restart policy"
    ):
        validate_restart_policy(RestartPolicy("always"), auto_remove=True)
    validate_restart_policy(RestartPolicy("no"), auto_remove=True)


def test_is_none() -> None:
    """Both "no" and the legacy empty name mean never restart."""
    assert is_none(RestartPolicy("no")) and is_none(RestartPolicy(""))
    assert not is_none(RestartPolicy("always"))


@pytest.mark.parametrize(
    ("policy", "text"),
    [
        (RestartPolicy("no"), "no"),
        (RestartPolicy(""), "no"),
        (RestartPolicy("on-failure", 0), "on-failure"),
        (RestartPolicy("on-failure", 3), "on-failure:3"),
        (RestartPolicy("unless-stopped"), "unless-stopped"),
    ],
)
def test_format(policy: RestartPolicy, text: str) -> None:
    """The canonical text form omits a zero count."""
    assert format_restart_policy(policy) == text


valid_policies = st.one_of(
    st.sampled_from(["no", "always", "unless-stopped"]).map(RestartPolicy),
    st.integers(min_value=0, max_value=2**63 - 1).map(lambda n: RestartPolicy("on-failure", n)),
)


@given(valid_policies)
def test_parse_format_round_trip(policy: RestartPolicy) -> None:
    """parse(format(p)) == p for every valid policy."""
    assert parse_restart_policy(format_restart_policy(policy)) == policy


@given(st.text())
def test_parse_never_crashes(text: str) -> None:
    """Arbitrary text parses or raises InvalidArgument, nothing else."""
    try:
        policy = parse_restart_policy(text)
    except InvalidArgument:
        return
    assert policy.name in ("no", "always", "unless-stopped", "on-failure")
