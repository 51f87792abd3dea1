"""Image documents and ``docker import --change`` instructions."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.engine.model import HealthConfig
from supervisor.errors import InvalidArgument
from supervisor.images.config import (
    apply_changes,
    canonical_json,
    config_from_docker,
    config_to_docker,
    image_document,
    image_id,
    parse_rfc3339,
    rfc3339_nano,
)
from supervisor.images.model import ImageConfig

EMPTY = ImageConfig()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (['CMD ["/bin/sh", "-c", "echo hi"]'], {"cmd": ("/bin/sh", "-c", "echo hi")}),
        (["CMD echo hi"], {"cmd": ("/bin/sh", "-c", "echo hi")}),
        (["cmd [not json"], {"cmd": ("/bin/sh", "-c", "[not json")}),
        (['ENTRYPOINT ["tini", "--"]'], {"entrypoint": ("tini", "--")}),
        (["ENTRYPOINT top -b"], {"entrypoint": ("/bin/sh", "-c", "top -b")}),
        (['CMD ["a"]', 'ENTRYPOINT ["e"]'], {"cmd": ("a",), "entrypoint": ("e",)}),
        (["ENV A=1 B=\"two words\" C='x y'"], {"env": ("A=1", "B=two words", "C=x y")}),
        (["ENV GREETING hello world"], {"env": ("GREETING=hello world",)}),
        (["ENV A=1", "ENV A=2 B=${A}-$A"], {"env": ("A=2", "B=1-1")}),
        (
            ["ENV A=x", "ENV B=${A:-d} C=${Z:-d} D=${A:+set}"],
            {"env": ("A=x", "B=x", "C=d", "D=set")},
        ),
        (["ENV P=a\\ b"], {"env": ("P=a b",)}),
        (["WORKDIR /app", "WORKDIR sub", "WORKDIR ../x"], {"working_dir": "/app/x"}),
        (["USER nobody:nogroup"], {"user": "nobody:nogroup"}),
        (
            ['LABEL a=1 "b c"=2', "LABEL legacy value here"],
            {"labels": {"a": "1", "b c": "2", "legacy": "value here"}},
        ),
        (
            ["EXPOSE 80 53/udp 8000-8002/TCP"],
            {"exposed_ports": ("80/tcp", "53/udp", "8000/tcp", "8001/tcp", "8002/tcp")},
        ),
        (
            ['VOLUME ["/data", "/logs"]', "VOLUME /data /cache"],
            {"volumes": ("/data", "/logs", "/cache")},
        ),
        (["STOPSIGNAL SIGINT"], {"stop_signal": "SIGINT"}),
        (["STOPSIGNAL 9"], {"stop_signal": "9"}),
        (["stopsignal term"], {"stop_signal": "term"}),
        (["", "   "], {}),
    ],
)
def test_apply_changes(changes: list[str], expected: dict[str, object]) -> None:
    """Each supported instruction in JSON and shell form lands in the config."""
    cfg = apply_changes(EMPTY, changes)
    for key, value in expected.items():
        assert getattr(cfg, key) == value, key
    untouched = set(ImageConfig.__slots__) - set(expected)
    for key in untouched:
        assert getattr(cfg, key) == getattr(EMPTY, key), key


def test_entrypoint_resets_an_inherited_cmd() -> None:
    """As in a Dockerfile, ENTRYPOINT drops a CMD that was not set by these changes."""
    base = ImageConfig(cmd=("old",))
    assert apply_changes(base, ["ENTRYPOINT e"]).cmd == ()
    assert apply_changes(base, ["CMD new", "ENTRYPOINT e"]).cmd == ("/bin/sh", "-c", "new")


def test_shell_form_uses_the_image_shell() -> None:
    """A configured Shell replaces /bin/sh -c for shell forms."""
    cfg = apply_changes(ImageConfig(shell=("/bin/bash", "-lc")), ["CMD echo $HOME"])
    assert cfg.cmd == ("/bin/bash", "-lc", "echo $HOME")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("RUN echo hi", "run is not a valid change command"),
        ("FROM busybox", "from is not a valid change command"),
        ("HEALTHCHECK NONE", "healthcheck is not a valid change command"),
        ("CMD", "CMD requires at least one argument"),
        ("ENV ONLYKEY", "ENV must have two arguments"),
        ("ENV =x", "names can not be blank"),
        ("ENV A=1 B", "can't find = in 'B'"),
        ("ENV A='unterminated", "unmatched quote"),
        ("EXPOSE http", "invalid containerPort: http"),
        ("EXPOSE 70000", "invalid range"),
        ("EXPOSE 9-8", "invalid range"),
        ("STOPSIGNAL SIGNOPE", "Invalid signal: SIGNOPE"),
        ("STOPSIGNAL 99", "Invalid signal: 99"),
        ('VOLUME [""]', "can not be an empty string"),
    ],
)
def test_bad_changes(change: str, message: str) -> None:
    """Unknown or malformed instructions are InvalidArgument naming the problem."""
    with pytest.raises(InvalidArgument, match=message):
        apply_changes(EMPTY, [change])


@given(st.lists(st.text(max_size=40), max_size=4))
def test_changes_never_crash(changes: list[str]) -> None:
    """Arbitrary change text either applies or raises InvalidArgument."""
    try:
        apply_changes(EMPTY, changes)
    except InvalidArgument as exc:
        assert str(exc)


FULL = ImageConfig(
    env=("A=1",),
    cmd=("sh",),
    entrypoint=("tini", "--"),
    working_dir="/w",
    user="u",
    labels={"k": "v"},
    stop_signal="SIGINT",
    exposed_ports=("80/tcp",),
    volumes=("/d",),
    healthcheck=HealthConfig(test=("CMD", "true"), interval=10, timeout=2, retries=3),
    shell=("/bin/bash", "-c"),
)


@pytest.mark.parametrize("cfg", [EMPTY, FULL])
def test_config_round_trip(cfg: ImageConfig) -> None:
    """Docker's Config object reads back into the same ImageConfig."""
    assert config_from_docker(config_to_docker(cfg)) == cfg


def test_docker_config_uses_nulls_and_sets() -> None:
    """Empty lists and maps are null, ports and volumes are {key: {}} sets."""
    assert config_to_docker(EMPTY)["Env"] is None
    assert config_to_docker(EMPTY)["Labels"] is None
    assert config_to_docker(FULL)["ExposedPorts"] == {"80/tcp": {}}
    assert config_to_docker(FULL)["Volumes"] == {"/d": {}}


def test_image_id_is_the_digest_of_the_canonical_document() -> None:
    """The id hashes exactly the stored bytes; created time and layers change it."""
    doc = image_document(FULL, diff_ids=["sha256:" + "1" * 64], created_ns=5, comment="c")
    data = canonical_json(doc)
    assert image_id(data) == "sha256:" + hashlib.sha256(data).hexdigest()
    assert doc["rootfs"] == {"type": "layers", "diff_ids": ["sha256:" + "1" * 64]}
    assert doc["comment"] == "c" and doc["os"] == "linux"
    other = image_document(FULL, diff_ids=["sha256:" + "1" * 64], created_ns=6, comment="c")
    assert image_id(canonical_json(other)) != image_id(data)


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (1_500_000_000_123_456_789, "2017-07-14T02:40:00.123456789Z"),
        (1_500_000_000_100_000_000, "2017-07-14T02:40:00.1Z"),
    ],
)
def test_rfc3339_nano(ns: int, text: str) -> None:
    """Go's RFC3339Nano trims trailing zeros; parsing gives the nanoseconds back."""
    assert rfc3339_nano(ns) == text
    assert parse_rfc3339(text) == ns


@given(st.integers(0, 4_000_000_000 * 10**9))
def test_rfc3339_round_trip(ns: int) -> None:
    """Formatting then parsing is the identity on nanoseconds."""
    assert parse_rfc3339(rfc3339_nano(ns)) == ns


def test_parse_rfc3339_offsets_and_garbage() -> None:
    """Offsets are honoured and garbage gives 0 rather than an error."""
    assert parse_rfc3339("2017-07-14T04:40:00+02:00") == 1_500_000_000 * 10**9
    assert parse_rfc3339("yesterday") == 0
