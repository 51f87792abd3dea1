"""Tests for supervisor.events.filters: query parsing and Docker's matching rules."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.errors import InvalidArgument
from supervisor.events.filters import (
    EventFilter,
    familiar_name,
    format_timestamp,
    parse_filters,
    parse_timestamp,
    validate_window,
)
from supervisor.events.model import Event, EventType

CID = "4f3c2b1a" * 8
NET = "9e8d7c6b" * 8


def ev(
    type: EventType = EventType.CONTAINER,
    action: str = "start",
    actor_id: str = CID,
    attributes: dict[str, str] | None = None,
    scope: str = "local",
) -> Event:
    attrs = {"name": "web_1", "image": "busybox:1.36", "com.docker.compose.project": "proj"}
    return Event(type, action, actor_id, attrs if attributes is None else attributes, 1, 1, scope)


# ---- parse_filters -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, {}),
        ("", {}),
        ("{}", {}),
        ('{"type":{"container":true}}', {"type": ["container"]}),
        ('{"type":["container","image"]}', {"type": ["container", "image"]}),
        ('{"type":["a","a"]}', {"type": ["a"]}),
        ('{"label":{"a=b":true,"c":true}}', {"label": ["a=b", "c"]}),
        ('{"type":{"container":false}}', {"type": []}),
        ('{"type":null}', {"type": []}),
        ('{"bogus":["x"]}', {"bogus": ["x"]}),
    ],
)
def test_parse_filters_accepts_map_and_list_forms(
    raw: str | None, expected: dict[str, list[str]]
) -> None:
    """Both Docker's map form and the docker 1.12 list form parse to the same dict."""
    assert parse_filters(raw) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("{", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('"type"', "must be a JSON object"),
        ('{"type":"container"}', "invalid filter 'type'"),
        ('{"type":{"container":1}}', "must map to true or false"),
        ('{"type":[1]}', "values must be strings"),
        ('{"type":[["x"]]}', "values must be strings"),
        ('{"type":3}', "invalid filter 'type'"),
    ],
)
def test_parse_filters_rejects_bad_shapes(raw: str, fragment: str) -> None:
    """Malformed filters are a 400 with a message that says what was wrong."""
    with pytest.raises(InvalidArgument, match=fragment):
        parse_filters(raw)


@given(st.text(max_size=40))
def test_parse_filters_only_raises_invalid_argument(raw: str) -> None:
    """Arbitrary text either parses or raises InvalidArgument, nothing else."""
    try:
        result = parse_filters(raw)
    except InvalidArgument:
        return
    assert all(isinstance(v, list) for v in result.values())


def test_unknown_key_is_rejected_with_dockers_message() -> None:
    """An unknown key is ``invalid filter 'x'``."""
    with pytest.raises(InvalidArgument, match=r"^invalid filter 'bogus'$"):
        EventFilter.from_query('{"bogus":["x"]}')


# ---- matching ------------------------------------------------------------------

MATCH_TABLE: list[tuple[str, dict[str, list[str]], Event, bool]] = [
    ("no filters", {}, ev(), True),
    ("empty key filters nothing", {"type": []}, ev(), True),
    ("type exact", {"type": ["container"]}, ev(), True),
    ("type other", {"type": ["image"]}, ev(), False),
    ("type OR", {"type": ["image", "container"]}, ev(), True),
    ("type no prefix", {"type": ["cont"]}, ev(), False),
    ("scope exact", {"scope": ["local"]}, ev(), True),
    ("scope other", {"scope": ["swarm"]}, ev(), False),
    ("event exact", {"event": ["start"]}, ev(), True),
    ("event not prefix", {"event": ["sta"]}, ev(), False),
    ("event OR", {"event": ["die", "start"]}, ev(), True),
    (
        "health_status prefix",
        {"event": ["health_status"]},
        ev(action="health_status: healthy"),
        True,
    ),
    ("exec_create prefix", {"event": ["exec_create"]}, ev(action="exec_create: sh -c true"), True),
    ("exec_start prefix", {"event": ["exec_start"]}, ev(action="exec_start: sh"), True),
    ("exec_die exact only", {"event": ["exec_die"]}, ev(action="exec_die"), True),
    ("exec_die no prefix", {"event": ["exec"]}, ev(action="exec_die"), False),
    # moby#25798: one fuzzy value makes every event value a prefix match.
    ("fuzzy mode spreads", {"event": ["health_status", "st"]}, ev(action="start"), True),
    (
        "full health action exact",
        {"event": ["health_status: healthy"]},
        ev(action="health_status: healthy"),
        True,
    ),
    (
        "health other status",
        {"event": ["health_status: unhealthy"]},
        ev(action="health_status: healthy"),
        False,
    ),
    ("container full id", {"container": [CID]}, ev(), True),
    ("container id prefix", {"container": [CID[:12]]}, ev(), True),
    ("container name exact", {"container": ["web_1"]}, ev(), True),
    ("container name prefix", {"container": ["web"]}, ev(), True),
    ("container other", {"container": ["db"]}, ev(), False),
    ("container OR", {"container": ["db", "web"]}, ev(), True),
    ("container no substring", {"container": ["eb_1"]}, ev(), False),
    # Docker applies the container check to every type: a network event for web fails it.
    (
        "container vs network event",
        {"container": ["web"]},
        ev(
            EventType.NETWORK,
            "connect",
            NET,
            {"container": CID, "name": "bridge", "type": "bridge"},
        ),
        False,
    ),
    (
        "network name",
        {"network": ["bridge"]},
        ev(
            EventType.NETWORK,
            "connect",
            NET,
            {"container": CID, "name": "bridge", "type": "bridge"},
        ),
        True,
    ),
    (
        "volume id prefix",
        {"volume": ["dat"]},
        ev(EventType.VOLUME, "create", "data", {"driver": "local"}),
        True,
    ),
    (
        "daemon name",
        {"daemon": ["host1"]},
        ev(EventType.DAEMON, "reload", "ABCD", {"name": "host1"}),
        True,
    ),
    ("label presence", {"label": ["com.docker.compose.project"]}, ev(), True),
    ("label equality", {"label": ["com.docker.compose.project=proj"]}, ev(), True),
    ("label wrong value", {"label": ["com.docker.compose.project=other"]}, ev(), False),
    ("label missing", {"label": ["com.example"]}, ev(), False),
    (
        "label AND all match",
        {"label": ["com.docker.compose.project=proj", "name=web_1"]},
        ev(),
        True,
    ),
    (
        "label AND one fails",
        {"label": ["com.docker.compose.project=proj", "com.docker.compose.oneoff=False"]},
        ev(),
        False,
    ),
    ("label empty value", {"label": ["k="]}, ev(attributes={"k": ""}), True),
    ("label value with =", {"label": ["k=a=b"]}, ev(attributes={"k": "a=b"}), True),
    ("label no attributes", {"label": ["k"]}, ev(attributes={}), False),
    ("image attr exact", {"image": ["busybox:1.36"]}, ev(), True),
    ("image tag stripped", {"image": ["busybox"]}, ev(), True),
    ("image other tag", {"image": ["busybox:latest"]}, ev(), False),
    (
        "image fully qualified attr",
        {"image": ["busybox"]},
        ev(attributes={"image": "docker.io/library/busybox:latest"}),
        True,
    ),
    (
        "image event by id",
        {"image": ["sha256:" + "a" * 64]},
        ev(EventType.IMAGE, "delete", "sha256:" + "a" * 64, {"name": "sha256:" + "a" * 64}),
        True,
    ),
    (
        "image event by name attr",
        {"image": ["alpine"]},
        ev(EventType.IMAGE, "pull", "alpine:3.19", {"name": "alpine"}),
        True,
    ),
    (
        "image event ignores image attr",
        {"image": ["busybox"]},
        ev(EventType.IMAGE, "tag", "sha256:" + "b" * 64, {"name": "alpine:3", "image": "busybox"}),
        False,
    ),
    ("image no prefix", {"image": ["busy"]}, ev(), False),
    (
        "AND across keys ok",
        {"type": ["container"], "event": ["start"], "label": ["com.docker.compose.project=proj"]},
        ev(),
        True,
    ),
    ("AND across keys fails", {"type": ["container"], "event": ["die"]}, ev(), False),
]


@pytest.mark.parametrize(
    ("case", "filters", "event", "expected"), MATCH_TABLE, ids=[row[0] for row in MATCH_TABLE]
)
def test_matches_follows_dockers_rules(
    case: str, filters: dict[str, list[str]], event: Event, expected: bool
) -> None:
    """Each row is one rule of moby's daemon/events/filter.go."""
    assert EventFilter.from_dict(filters).matches(event) is expected


def test_docker_run_legacy_filter_selects_its_container() -> None:
    """The pre-1.30 `docker run` filter (list form) parses and matches."""
    raw = json.dumps({"container": [CID], "type": ["container"]})
    flt = EventFilter.from_query(raw)
    assert flt.matches(ev(action="die"))
    assert not flt.matches(ev(actor_id="0" * 64, attributes={"name": "other"}))


@pytest.mark.parametrize(
    ("image", "familiar"),
    [
        ("busybox", "busybox"),
        ("busybox:1.36", "busybox"),
        ("library/busybox:latest", "busybox"),
        ("docker.io/library/busybox:latest", "busybox"),
        ("index.docker.io/library/busybox", "busybox"),
        ("docker.io/foo/bar:1", "foo/bar"),
        ("foo/bar:1", "foo/bar"),
        ("localhost:5000/app:dev", "localhost:5000/app"),
        ("localhost/app", "localhost/app"),
        ("ghcr.io/org/app@sha256:" + "c" * 64, "ghcr.io/org/app"),
        ("busybox:1@sha256:" + "c" * 64, "busybox"),
        ("a" * 64, "a" * 64),
        ("UPPER:tag", "UPPER:tag"),
        ("", ""),
        ("not a ref!", "not a ref!"),
    ],
)
def test_familiar_name(image: str, familiar: str) -> None:
    """Tags and digests are stripped; docker.io/library/ is shortened; junk comes back as is."""
    assert familiar_name(image) == familiar


# ---- timestamps ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("0", 0),
        ("1700000000", 1_700_000_000_000_000_000),
        ("1700000000.5", 1_700_000_000_500_000_000),
        ("1700000000.000000001", 1_700_000_000_000_000_001),
        ("1700000000.1234567899", 1_700_000_000_123_456_789),
        ("1.05", 1_050_000_000),
        ("+3", 3_000_000_000),
        ("-1", -1_000_000_000),
        ("-1.5", -500_000_000),
        ("007", 7_000_000_000),
    ],
)
def test_parse_timestamp(value: str | None, expected: int | None) -> None:
    """sec[.nanos]: fraction right-padded to 9 digits, truncated past 9; "" is not given; 0 is the epoch."""
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "1.",
        ".5",
        "1.2.3",
        "1e9",
        " 1",
        "1 ",
        "1.-5",
        "1.+5",
        "--1",
        "99999999999999999999",
        "١٢",
    ],
)
def test_parse_timestamp_rejects_junk(value: str) -> None:
    """Anything but sec[.nanos] is a 400 naming the value."""
    with pytest.raises(InvalidArgument, match="invalid timestamp"):
        parse_timestamp(value)


@given(st.integers(min_value=0, max_value=2**62))
def test_format_then_parse_round_trips(ns: int) -> None:
    """parse_timestamp(format_timestamp(ns)) == ns."""
    assert parse_timestamp(format_timestamp(ns)) == ns


@given(
    st.integers(min_value=0, max_value=2**40),
    st.text(alphabet="0123456789", min_size=1, max_size=15),
)
def test_fraction_is_padded_or_truncated(sec: int, fraction: str) -> None:
    """The fraction is read as its first nine digits, right-padded with zeros."""
    expected = sec * 10**9 + int((fraction + "0" * 9)[:9])
    assert parse_timestamp(f"{sec}.{fraction}") == expected


@given(st.text(max_size=30))
def test_parse_timestamp_only_raises_invalid_argument(value: str) -> None:
    """Arbitrary text either parses or raises InvalidArgument."""
    try:
        parse_timestamp(value)
    except InvalidArgument:
        pass


def test_validate_window() -> None:
    """until before since is Docker's 400; every other combination is fine."""
    validate_window(None, None)
    validate_window(5, None)
    validate_window(None, 5)
    validate_window(5, 5)
    with pytest.raises(
        InvalidArgument, match=r"`since` time \(2.000000000\) cannot be after `until` time"
    ):
        validate_window(2_000_000_000, 1_000_000_000)


def test_model_and_filters_import_without_trio() -> None:
    """The pure core must not pull in trio."""
    import subprocess
    import sys

    code = (
        "import sys; import supervisor.events.filters, supervisor.events.model, supervisor.events;"
        "assert 'trio' not in sys.modules, sorted(m for m in sys.modules if 'trio' in m)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
