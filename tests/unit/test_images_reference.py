"""Image reference parsing and normalisation, checked against Docker's behaviour."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.errors import InvalidArgument
from supervisor.images.reference import (
    Reference,
    id_prefix_of,
    image_id_of,
    normalize,
    parse_normalized,
    parse_reference,
    tagged,
)

HEX = "a" * 64


@pytest.mark.parametrize(
    ("text", "full", "familiar"),
    [
        ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("docker.io/library/busybox:1", "docker.io/library/busybox:1", "busybox:1"),
        ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/me/app", "docker.io/me/app:latest", "me/app:latest"),
        ("me/app:v2", "docker.io/me/app:v2", "me/app:v2"),
        ("me/app/sub", "docker.io/me/app/sub:latest", "me/app/sub:latest"),
        ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
        ("localhost:5000/app:1", "localhost:5000/app:1", "localhost:5000/app:1"),
        (
            "registry.example.com:443/team/app",
            "registry.example.com:443/team/app:latest",
            "registry.example.com:443/team/app:latest",
        ),
        (
            "Registry.Example.com/app",
            "Registry.Example.com/app:latest",
            "Registry.Example.com/app:latest",
        ),
        ("[::1]:5000/app", "[::1]:5000/app:latest", "[::1]:5000/app:latest"),
        ("me/a__b.c-d---e", "docker.io/me/a__b.c-d---e:latest", "me/a__b.c-d---e:latest"),
        ("a_b.c/x", "a_b.c/x:latest", "a_b.c/x:latest"),  # not a host: all path (as Go)
        ("a_b.c/X", None, None),
        (
            f"busybox@sha256:{HEX}",
            f"docker.io/library/busybox@sha256:{HEX}",
            f"busybox@sha256:{HEX}",
        ),
        (
            f"busybox:1@sha256:{HEX}",
            f"docker.io/library/busybox:1@sha256:{HEX}",
            f"busybox:1@sha256:{HEX}",
        ),
    ],
)
def test_normalize_table(text: str, full: str | None, familiar: str | None) -> None:
    """Names normalise to docker.io/library and :latest, and print back familiar."""
    if full is None:
        with pytest.raises(InvalidArgument, match="invalid reference format"):
            normalize(text)
        return
    ref = normalize(text)
    assert str(ref) == full
    assert ref.familiar() == familiar


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "invalid reference format"),
        (
            "Busybox",
            "invalid reference format: repository name (library/Busybox) must be lowercase",
        ),
        ("me/App", "invalid reference format: repository name (me/App) must be lowercase"),
        ("busybox:", "invalid reference format"),
        ("busybox::1", "invalid reference format"),
        ("-busybox", "invalid reference format"),
        ("busy box", "invalid reference format"),
        ("busybox:" + "t" * 129, "invalid reference format"),
        ("a/" * 130 + "a", "must not be more than 255 characters"),
        (HEX, "cannot specify 64-byte hexadecimal strings"),
        ("busybox@sha256:abc", "invalid reference format"),
        ("busybox@sha256:" + "a" * 40, "invalid checksum digest length"),
        ("busybox@md5:" + "a" * 32, "unsupported digest algorithm"),
    ],
)
def test_invalid_references(text: str, message: str) -> None:
    """Bad references raise InvalidArgument with Docker's wording."""
    with pytest.raises(InvalidArgument) as info:
        normalize(text)
    assert message in str(info.value)


def test_library_and_docker_io_forms_are_equal() -> None:
    """All spellings of an official image normalise to the same reference."""
    forms = [
        "busybox",
        "busybox:latest",
        "library/busybox",
        "docker.io/busybox",
        "docker.io/library/busybox:latest",
        "index.docker.io/library/busybox",
    ]
    assert len({normalize(f) for f in forms}) == 1


def test_familiar_form_quirk_matches_docker() -> None:
    """A Hub path starting with a host-like component prints like a registry name."""
    hub = normalize("docker.io/a.b/c")
    assert hub.familiar() == "a.b/c:latest"
    assert normalize(hub.familiar()) == Reference("a.b", "c", "latest")


def test_parse_normalized_adds_no_tag_and_parse_reference_does_not_normalise() -> None:
    """Only ``normalize`` adds :latest; the strict parse keeps the name as written."""
    assert parse_normalized("busybox") == Reference("docker.io", "library/busybox")
    assert parse_reference("busybox:1") == Reference("", "busybox", "1")
    assert parse_reference("localhost:5000/x") == Reference("localhost:5000", "x")
    assert parse_reference("me/app") == Reference("me", "app")  # Go's strict Parse does this too


@pytest.mark.parametrize(
    ("repo", "tag", "expected"),
    [
        ("busybox", "", "busybox:latest"),
        ("busybox", "1.0", "busybox:1.0"),
        ("me/app:v1", "", "me/app:v1"),
        ("localhost:5000/a", "x_Y.z-1", "localhost:5000/a:x_Y.z-1"),
    ],
)
def test_tagged(repo: str, tag: str, expected: str) -> None:
    """``tagged`` builds repo:tag with Docker's default tag."""
    assert tagged(repo, tag).familiar() == expected


@pytest.mark.parametrize(
    ("repo", "tag"),
    [
        ("busybox", "-bad"),
        ("busybox", "a" * 129),
        ("busybox:1", "2"),
        (f"busybox@sha256:{HEX}", ""),
        ("Busybox", "1"),
    ],
)
def test_tagged_rejects(repo: str, tag: str) -> None:
    """Bad tags, double tags and digests cannot become tags."""
    with pytest.raises(InvalidArgument):
        tagged(repo, tag)


def test_id_helpers() -> None:
    """Full ids with or without sha256:, and hex prefixes, are recognised."""
    assert image_id_of(HEX) == f"sha256:{HEX}"
    assert image_id_of(f"sha256:{HEX}") == f"sha256:{HEX}"
    assert image_id_of("busybox") is None
    assert id_prefix_of("abc1") == "abc1"
    assert id_prefix_of("sha256:abc1") == "abc1"
    assert id_prefix_of("busybox") is None
    assert id_prefix_of("") is None


# --- properties ----------------------------------------------------------------

_alnum = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
_sep = st.sampled_from([".", "_", "__", "-", "--"])
_component = st.builds(
    lambda first, rest: first + "".join(s + a for s, a in rest),
    _alnum,
    st.lists(st.tuples(_sep, _alnum), max_size=2),
)
_path = st.lists(_component, min_size=1, max_size=3).map("/".join)
_domain = st.one_of(
    st.just(""),
    st.just("localhost"),
    st.just("docker.io"),
    st.builds(lambda a, b: f"{a}.{b}", _alnum, _alnum),
    st.builds(lambda a, p: f"{a}.io:{p}", _alnum, st.integers(1, 65535)),
)
_tag = st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}\Z")


def _join(domain: str, path: str, tag: str) -> str:
    if not domain:  # a '.' in the first component would make it a domain
        first, _, rest = path.partition("/")
        path = first.replace(".", "-") + ("/" + rest if rest else "")
    return (f"{domain}/" if domain else "") + path + (f":{tag}" if tag else "")


_refs = st.builds(_join, _domain, _path, st.one_of(st.just(""), _tag))


@given(_refs)
def test_normalize_is_idempotent_through_both_printed_forms(text: str) -> None:
    """Re-normalising the full or the familiar form gives the same reference."""
    ref = normalize(text)
    assert normalize(str(ref)) == ref
    first = ref.familiar().split("/")[0]
    if "/" not in ref.familiar() or not ("." in first or ":" in first or first == "localhost"):
        # Docker's familiar form is ambiguous for Hub paths whose first
        # component looks like a host (``docker.io/a.b/c`` prints ``a.b/c``).
        assert normalize(ref.familiar()) == ref
    assert ref.tag


@given(st.text(max_size=80))
def test_arbitrary_text_only_raises_invalid_argument(text: str) -> None:
    """Whatever the input, parsing either succeeds or says InvalidArgument."""
    try:
        ref = normalize(text)
    except InvalidArgument as exc:
        assert str(exc)
    else:
        assert ref.domain and ref.path


@given(_path.filter(lambda p: any(c.isalpha() for c in p)))
def test_uppercase_paths_are_refused(path: str) -> None:
    """An upper-case repository name is refused with the lowercase message."""
    with pytest.raises(InvalidArgument, match="must be lowercase"):
        normalize("me/" + path.upper())
