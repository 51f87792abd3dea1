"""Tests for supervisor.events.model: the Event and its two JSON forms."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.errors import InvalidArgument
from supervisor.events.model import (
    Event,
    EventType,
    from_docker,
    from_record,
    parse_event_type,
    to_docker,
    to_record,
)

CID = "4f3c2b1a" * 8


def _event(**overrides: object) -> Event:
    fields: dict[str, object] = {
        "type": EventType.CONTAINER,
        "action": "die",
        "actor_id": CID,
        "attributes": {"image": "busybox", "name": "web", "exitCode": "0"},
        "time_nano": 1_700_000_000_123_456_789,
        "seq": 7,
    }
    fields.update(overrides)
    return Event(**fields)  # type: ignore[arg-type]


def test_container_event_has_docker_shape_with_legacy_fields() -> None:
    """A container event carries status/id/from as moby 28.2.2 fills them, in Go's key order."""
    out = to_docker(_event())
    assert list(out) == [
        "status",
        "id",
        "from",
        "Type",
        "Action",
        "Actor",
        "scope",
        "time",
        "timeNano",
    ]
    assert out == {
        "status": "die",
        "id": CID,
        "from": "busybox",
        "Type": "container",
        "Action": "die",
        "Actor": {"ID": CID, "Attributes": {"image": "busybox", "name": "web", "exitCode": "0"}},
        "scope": "local",
        "time": 1_700_000_000,
        "timeNano": 1_700_000_000_123_456_789,
    }


def test_image_event_has_status_and_id_but_no_from() -> None:
    """Image events get status and id only (moby fills from for containers only)."""
    out = to_docker(
        _event(
            type=EventType.IMAGE,
            action="pull",
            actor_id="busybox:latest",
            attributes={"name": "busybox"},
        )
    )
    assert out["status"] == "pull"
    assert out["id"] == "busybox:latest"
    assert "from" not in out


@pytest.mark.parametrize("etype", [EventType.VOLUME, EventType.NETWORK, EventType.DAEMON])
def test_other_events_have_no_legacy_fields(etype: EventType) -> None:
    """Volume/network/daemon events omit status/id/from (omitempty in Go)."""
    out = to_docker(_event(type=etype, action="create", attributes={"driver": "local"}))
    assert not {"status", "id", "from"} & out.keys()
    assert out["Type"] == etype.value


def test_container_event_without_image_attr_omits_from() -> None:
    """``from`` is omitempty: no image attribute, no key."""
    out = to_docker(_event(attributes={"name": "web"}))
    assert "from" not in out


def test_zero_time_and_empty_scope_are_omitted() -> None:
    """time/timeNano/scope are omitempty in moby's Message."""
    out = to_docker(_event(time_nano=0, scope=""))
    assert not {"time", "timeNano", "scope"} & out.keys()
    assert from_docker(out, seq=7) == _event(time_nano=0, scope="")


def test_attributes_are_read_only_and_copied() -> None:
    """An event is shared by every subscriber: its attributes cannot change under them."""
    attrs = {"name": "web"}
    event = _event(attributes=attrs)
    attrs["name"] = "other"
    assert event.attributes["name"] == "web"
    with pytest.raises(TypeError):
        event.attributes["name"] = "x"  # type: ignore[index]
    hash(event)  # usable in sets despite the mapping


def test_time_is_floor_seconds() -> None:
    """``time`` is Go's Unix(): whole seconds."""
    assert _event(time_nano=1_999_999_999).time == 1


def test_from_docker_falls_back_to_time_seconds() -> None:
    """An object with only ``time`` still parses (older daemons)."""
    event = from_docker({"Type": "container", "Action": "start", "Actor": {"ID": "x"}, "time": 5})
    assert event.time_nano == 5_000_000_000
    assert event.attributes == {}


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        ([], "must be a JSON object"),
        ({"Type": "bogus", "Action": "x"}, "invalid event type 'bogus'"),
        ({"Type": "container", "Action": 3}, "Action must be a string"),
        ({"Type": "container", "Actor": {"ID": 1}}, "Actor.ID must be a string"),
        (
            {"Type": "container", "Actor": {"Attributes": {"a": 1}}},
            "Attributes['a'] must be a string",
        ),
        ({"Type": "container", "timeNano": "1"}, "timeNano must be an integer"),
        ({"Type": "container", "timeNano": True}, "timeNano must be an integer"),
        ({"Type": "container", "Actor": "x"}, "Actor must be a JSON object"),
    ],
)
def test_from_docker_rejects_bad_shapes(obj: object, fragment: str) -> None:
    """Bad input gives InvalidArgument naming the field, never a crash."""
    with pytest.raises(InvalidArgument, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        from_docker(obj)


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        ("x", "must be a JSON object"),
        ({"seq": 1}, "missing key"),
        ({**to_record(_event()), "seq": "1"}, "seq must be an integer"),
        ({**to_record(_event()), "type": "nope"}, "invalid event type"),
        ({**to_record(_event()), "attrs": []}, "attrs must be a JSON object"),
    ],
)
def test_from_record_rejects_bad_records(obj: object, fragment: str) -> None:
    """A corrupt persisted record is an InvalidArgument (the history loader skips it)."""
    with pytest.raises(InvalidArgument, match=fragment):
        from_record(obj)


def test_parse_event_type_lists_the_valid_types() -> None:
    """The message names what would have been accepted."""
    assert parse_event_type("network") is EventType.NETWORK
    with pytest.raises(InvalidArgument, match="container, image"):
        parse_event_type("pod")


_text = st.text(st.characters(codec="utf-8"), max_size=20)
events = st.builds(
    Event,
    type=st.sampled_from(EventType),
    action=_text,
    actor_id=_text,
    attributes=st.dictionaries(_text, _text, max_size=5),
    time_nano=st.integers(min_value=-(2**62), max_value=2**62),
    seq=st.integers(min_value=0, max_value=2**62),
    scope=st.sampled_from(["local", "swarm", ""]),
)


@given(events)
def test_record_round_trips_through_json(event: Event) -> None:
    """from_record(json(to_record(e))) == e for every event."""
    assert from_record(json.loads(json.dumps(to_record(event)))) == event


@given(events)
def test_docker_form_round_trips_through_json(event: Event) -> None:
    """from_docker(json(to_docker(e)), seq=e.seq) == e for every event."""
    assert from_docker(json.loads(json.dumps(to_docker(event))), seq=event.seq) == event
