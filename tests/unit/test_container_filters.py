"""GET /containers/json filters and selection (moby daemon/list.go)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.api.container_filters import (
    ListFilter,
    normalize_filters,
    parse_list_filters,
    select,
)
from supervisor.engine.model import ContainerRecord, ContainerSpec, State
from supervisor.errors import InvalidArgument, NotFound

S = 1_000_000_000
IMG_A = "sha256:" + "aa" * 32
IMG_B = "sha256:" + "bb" * 32


def rec(
    name: str, created: int, state: State | None = None, *, labels: dict[str, str] | None = None,
    image_id: str = IMG_A, **spec: Any,
) -> ContainerRecord:  # fmt: skip
    cid = (name.encode().hex() + "0" * 64)[:64]
    return ContainerRecord(
        id=cid,
        name=name,
        created=created * S,
        spec=ContainerSpec(
            image="img", image_id=image_id, cmd=("sh",), labels=labels or {}, **spec
        ),
        state=state or State(),
    )


RUN = State(running=True, started_at=1)
EXIT0 = State(started_at=1, finished_at=2, exit_code=0)
EXIT1 = State(started_at=1, finished_at=2, exit_code=1)

WEB = rec("proj_web_1", 1, RUN, labels={"com.docker.compose.project": "proj", "svc": "web"},
          exposed_ports=("80/tcp",), port_bindings={"80/tcp": ({"HostIp": "", "HostPort": "8080"},)},
          network_mode="proj_default", binds=("proj_data:/data:rw",))  # fmt: skip
DB = rec("proj_db_1", 2, EXIT1, labels={"com.docker.compose.project": "proj", "svc": "db"},
         image_id=IMG_B, volumes=("/var/lib/db",))  # fmt: skip
NEW = rec("fresh", 3)
PAUSED = rec("paused", 4, State(running=True, paused=True, started_at=1))
OK = rec("done", 5, EXIT0, labels={"other": ""})
ALL = [WEB, DB, NEW, PAUSED, OK]
BY_NAME = {r.name: r for r in ALL}


def lookup(key: str) -> ContainerRecord | None:
    key = key.removeprefix("/")
    return BY_NAME.get(key) or next((r for r in ALL if r.id.startswith(key)), None)


def names(filters: dict[str, Any], *, all: bool = True, limit: int = -1,
          health: dict[str, str] | None = None) -> list[str]:  # fmt: skip
    f = parse_list_filters(
        filters, resolve_image={"a": IMG_A, "b": IMG_B}.get, lookup_container=lookup
    )
    health_of = (lambda r: (health or {}).get(r.name)) if health is not None else None
    return [r.name for r in select(ALL, all=all, limit=limit, filter=f, health_of=health_of)]


def test_default_lists_running_newest_first() -> None:
    """Without all, only running (incl. paused) containers, newest first."""
    assert names({}, all=False) == ["paused", "proj_web_1"]
    assert names({}) == ["done", "paused", "fresh", "proj_db_1", "proj_web_1"]


def test_limit() -> None:
    """A positive limit returns the N most recently created, stopped ones included."""
    assert names({}, all=False, limit=2) == ["done", "paused"]
    assert names({}, all=False, limit=0) == ["paused", "proj_web_1"]
    assert names({}, limit=-1) == names({})


def test_status_filter_implies_all() -> None:
    """docker ps --filter status=exited shows stopped containers without -a."""
    assert names({"status": ["exited"]}, all=False) == ["done", "proj_db_1"]
    assert names({"status": {"created": True, "exited": True}}, all=False) == [
        "done", "fresh", "proj_db_1",
    ]  # fmt: skip
    assert names({"status": ["paused"]}) == ["paused"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"label": ["com.docker.compose.project=proj"]}, ["proj_db_1", "proj_web_1"]),
        ({"label": ["com.docker.compose.project=proj", "svc=db"]}, ["proj_db_1"]),  # AND
        ({"label": ["svc"]}, ["proj_db_1", "proj_web_1"]),
        ({"label": ["other="]}, ["done"]),
        ({"label": ["other=x"]}, []),
        ({"name": ["proj"]}, ["proj_db_1", "proj_web_1"]),  # substring (regex search)
        ({"name": ["^proj_web_1$"]}, ["proj_web_1"]),
        ({"name": ["^/done$"]}, ["done"]),  # with the slash
        ({"name": ["web", "db"]}, ["proj_db_1", "proj_web_1"]),  # OR within a key
        ({"name": ["[unclosed"]}, []),  # bad regex: exact match only
        ({"id": [WEB.id[:12]]}, ["proj_web_1"]),
        ({"id": [WEB.id[:6]]}, ["proj_db_1", "proj_web_1"]),  # a shared prefix matches both
        ({"id": [WEB.id]}, ["proj_web_1"]),
        ({"exited": ["1"]}, ["proj_db_1"]),
        ({"exited": ["0"]}, ["done"]),  # never-started "fresh" has code 0 but no exit
        ({"exited": ["0", "1"], "label": ["svc"]}, ["proj_db_1"]),
        ({"ancestor": ["b"]}, ["proj_db_1"]),
        ({"ancestor": ["nonexistent"]}, []),
        ({"before": ["fresh"]}, ["proj_db_1", "proj_web_1"]),
        ({"since": ["fresh"]}, ["done", "paused"]),
        ({"since": ["proj_web_1"], "before": ["paused"]}, ["fresh", "proj_db_1"]),
        ({"network": ["proj_default"]}, ["proj_web_1"]),
        ({"network": ["bridge"]}, ["done", "paused", "fresh", "proj_db_1"]),
        ({"volume": ["/data"]}, ["proj_web_1"]),
        ({"volume": ["proj_data"]}, ["proj_web_1"]),
        ({"volume": ["/var/lib/db"]}, ["proj_db_1"]),
        ({"publish": ["8080-8090/tcp"]}, []),
        ({"publish": ["80"]}, ["proj_web_1"]),
        ({"expose": ["79-81"]}, ["proj_web_1"]),
        ({"is-task": ["true"]}, []),
        ({"is-task": ["false"]}, ["done", "paused", "fresh", "proj_db_1", "proj_web_1"]),
    ],
)
def test_filters(filters: dict[str, Any], expected: list[str]) -> None:
    """Each filter key behaves as in moby's includeContainerInList."""
    assert names(filters) == expected


def test_health_filter() -> None:
    """health matches the status passed in; no status means "none"."""
    health = {"proj_web_1": "healthy", "paused": "unhealthy"}
    assert names({"health": ["healthy"]}, health=health) == ["proj_web_1"]
    assert names({"health": ["none"]}, health=health) == ["done", "fresh", "proj_db_1"]
    assert names({"health": ["starting", "unhealthy"]}, health=health) == ["paused"]


@pytest.mark.parametrize(
    ("filters", "error", "message"),
    [
        ({"colour": ["red"]}, InvalidArgument, "invalid filter 'colour'"),
        ({"status": ["up"]}, InvalidArgument, "Invalid filter 'status=up'"),
        ({"exited": ["x"]}, InvalidArgument, "invalid filter 'exited=x'"),
        ({"health": ["ok"]}, InvalidArgument, "Unrecognised filter value for health: ok"),
        ({"is-task": ["maybe"]}, InvalidArgument, "invalid filter 'is-task=maybe'"),
        ({"publish": ["80:80"]}, InvalidArgument, "filter for 'publish' should not contain ':': 80:80"),
        ({"before": ["ghost"]}, NotFound, "No such container: ghost"),
        ({"label": [1]}, InvalidArgument, "invalid filter 'label': values must be strings"),
        ({"label": 5}, InvalidArgument, "invalid filter 'label': values must be a list of strings"),
    ],
)  # fmt: skip
def test_invalid_filters(filters: dict[str, Any], error: type[Exception], message: str) -> None:
    """Unknown keys and bad values are rejected with moby's messages."""
    with pytest.raises(error) as info:
        parse_list_filters(filters, lookup_container=lookup)
    assert str(info.value) == message


def test_both_wire_forms_are_equal() -> None:
    """The CLI's {"k":{"v":true}} and docker-py's {"k":["v"]} parse the same."""
    assert normalize_filters({"label": {"a=b": True}}) == normalize_filters({"label": ["a=b"]})
    assert normalize_filters(None) == {}
    with pytest.raises(InvalidArgument):
        normalize_filters(["label"])


def test_empty_filter_matches_everything() -> None:
    """ListFilter() is the no-op filter."""
    assert all(ListFilter().matches(r) for r in ALL)


@given(
    st.dictionaries(
        st.sampled_from(["label", "name", "id", "status", "exited", "network", "health"]),
        st.lists(st.sampled_from(["proj", "svc", "svc=db", "exited", "running", "0", "1", "healthy",
                                  "bridge", "^d"]), max_size=2),
        max_size=3,
    ),
    st.booleans(),
    st.integers(-2, 6),
)  # fmt: skip
def test_select_invariants(filters: dict[str, list[str]], all_: bool, limit: int) -> None:
    """Results are matching, newest first, within the limit, and never raise except 400s."""
    try:
        f = parse_list_filters(filters, lookup_container=lookup)
    except InvalidArgument:
        return
    out = select(ALL, all=all_, limit=limit, filter=f)
    created = [r.created for r in out]
    assert created == sorted(created, reverse=True)
    assert all(f.matches(r) for r in out)
    if limit > 0:
        assert len(out) <= limit
    if not (all_ or limit > 0 or f.implies_all):
        assert all(r.state.running for r in out)


def test_select_binds_references_with_its_own_lookups() -> None:
    """The routes parse without lookups and pass them to select (the lead's call shape)."""
    f = parse_list_filters({"ancestor": ["b"], "since": ["proj_web_1"]})
    assert not f.bound
    out = select(ALL, all=True, limit=-1, filter=f, lookup=lookup, resolve_image={"b": IMG_B}.get)
    assert [r.name for r in out] == ["proj_db_1"]


def test_lookups_that_raise_not_found() -> None:
    """A lookup raising NotFound (the engine's get) is a 404; an unknown image matches nothing."""

    def engine_get(ref: str) -> ContainerRecord:
        msg = f"No such container: {ref}"
        raise NotFound(msg)

    def image_resolve(ref: str) -> str:
        msg = f"No such image: {ref}"
        raise NotFound(msg)

    f = parse_list_filters({"before": ["ghost"]})
    with pytest.raises(NotFound, match="No such container: ghost"):
        select(ALL, all=True, limit=-1, filter=f, lookup=engine_get)
    f = parse_list_filters({"ancestor": ["x"]})
    assert select(ALL, all=True, limit=-1, filter=f, resolve_image=image_resolve) == []


def test_matches_refuses_an_unbound_filter() -> None:
    """matches() on unresolved references is a programming error, not a silent answer."""
    with pytest.raises(RuntimeError, match="bind"):
        parse_list_filters({"ancestor": ["a"]}).matches(WEB)
