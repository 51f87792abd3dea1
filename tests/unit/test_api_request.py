"""Request helpers and Response builders: moby's parsing rules for query values and bodies."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.api.request import (
    Request,
    Response,
    parse_bool,
    parse_filters,
    parse_int,
    parse_json_object,
)
from supervisor.errors import InvalidArgument


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", False),
        ("0", False),
        ("no", False),
        ("false", False),
        ("none", False),
        ("False", False),
        ("FALSE", False),
        ("None", False),
        (" no ", False),
        ("1", True),
        ("true", True),
        ("True", True),
        ("yes", True),
        ("on", True),
        ("2", True),
        ("anything", True),
    ],
)
def test_parse_bool_like_moby(value, expected):
    """Lowercased and trimmed; "", 0, no, false, none are false, anything else true."""
    assert parse_bool(value) is expected


@pytest.mark.parametrize(
    ("query", "name", "default", "expected"),
    [
        ("", "all", False, False),
        ("", "stream", True, True),  # absent -> default
        ("stream=", "stream", True, False),  # present but empty -> false (BoolValueOrDefault)
        ("all=True", "all", False, True),
        ("all=0", "all", True, False),
        ("v=False&force=1", "force", False, True),
    ],
)
def test_query_bool(query, name, default, expected):
    assert Request("GET", "/x", query_string=query).query_bool(name, default) is expected


def test_query_str_and_int():
    req = Request("GET", "/x", query_string="t=10&limit=-1&name=a%2Fb&name=second&empty=&signal=")
    assert req.query_str("name") == "a/b"
    assert req.query_str("missing") is None
    assert req.query_str("missing", "d") == "d"
    assert req.query_int("t", 5) == 10
    assert req.query_int("limit", 0) == -1
    assert req.query_int("empty", 7) == 7
    assert req.query_int("missing", 7) == 7


@pytest.mark.parametrize("value", ["ten", "1.5", "1_000", " 1", "0x10", "-"])
def test_parse_int_rejects_junk_naming_the_parameter(value):
    with pytest.raises(InvalidArgument, match='invalid value for "t"'):
        parse_int("t", value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("{}", {}),
        ("null", {}),
        ('{"status":{"exited":true}}', {"status": ["exited"]}),
        ('{"label":["a=b","c=d"]}', {"label": ["a=b", "c=d"]}),
        ('{"label":["a","a"]}', {"label": ["a"]}),
        (
            '{"type":{"container":true},"event":{"die":true,"start":false}}',
            {"type": ["container"], "event": ["die", "start"]},
        ),
        ('{"name":[]}', {"name": []}),
    ],
)
def test_parse_filters_both_forms(text, expected):
    assert parse_filters(text) == expected


@pytest.mark.parametrize(
    "text",
    ["{x", "[]", '"s"', '{"a":"b"}', '{"a":[1]}', '{"a":{"b":"yes"}}', '{"a":3}'],
)
def test_parse_filters_rejects_bad_shapes(text):
    with pytest.raises(InvalidArgument, match="invalid filter"):
        parse_filters(text)


@given(st.text())
def test_parse_filters_never_crashes(text):
    """Arbitrary text gives filters or InvalidArgument, nothing else."""
    try:
        result = parse_filters(text)
    except InvalidArgument:
        return
    assert all(isinstance(v, list) for v in result.values())


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b"", {}), (b"  \n", {}), (b"null", {}), (b'{"Image":"busybox"}', {"Image": "busybox"})],
)
def test_parse_json_object(body, expected):
    assert parse_json_object(body) == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"Image":', "invalid JSON: Expecting value"),
        (b"[1,2]", "invalid JSON: expected an object, got array"),
        (b'"text"', "invalid JSON: expected an object, got string"),
        (b"\xff\xfe\x00", "invalid JSON"),
    ],
)
def test_parse_json_object_errors(body, message):
    with pytest.raises(InvalidArgument) as info:
        parse_json_object(body)
    assert str(info.value).startswith(message)


def test_response_builders():
    r = Response.json({"Id": "x"}, status=201)
    assert (r.status, r.content_type, json.loads(r.body)) == (201, "application/json", {"Id": "x"})
    assert r.body.endswith(b"\n")
    e = Response.error(404, "No such container: x")
    assert (e.content_type, json.loads(e.body)) == (
        "application/json",
        {"message": "No such container: x"},
    )
    assert Response.empty() == Response(204)
    t = Response.text("OK")
    assert (t.body, t.content_type) == (b"OK", "text/plain; charset=utf-8")


def test_request_basics():
    req = Request(
        "POST",
        "/containers/abc/start",
        api_version="1.41",
        params={"id": "abc"},
        headers={"user-agent": "Docker-Client/28.2.2 (linux)"},
    )
    assert req.params["id"] == "abc"
    assert req.user_agent == "Docker-Client/28.2.2 (linux)"
    assert req.api_at_least("1.41") and not req.api_at_least("1.42")
    assert Request("GET", "/x").user_agent == ""
