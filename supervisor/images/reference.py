"""Image references, parsed and normalised exactly as Docker does (pure).

Rules / theory of operation (from distribution/reference, the Go package the
docker CLI and moby share):

* A reference is ``name[:tag][@digest]``. The name is ``[domain/]path``; the
  domain is recognised only when the first ``/``-separated component contains
  a ``.`` or a ``:``, is ``localhost``, or has an upper-case letter; otherwise
  the whole thing is a path on Docker Hub.
* Normalising puts Hub names under ``docker.io`` and one-component Hub paths
  under ``library/``; ``index.docker.io`` is an old spelling of ``docker.io``.
  A name with neither tag nor digest gets ``:latest``.
* The *familiar* form (what ``docker images`` prints) strips ``docker.io/``
  and then ``library/`` when that leaves a single path component.
* A bare 64-hex string is an image id, never a name; ``sha256:<64 hex>`` too.

Errors carry Docker's own wording because scripts and users grep for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from supervisor.errors import InvalidArgument

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

# --- the grammar, transcribed from distribution/reference/regexp.go ----------
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = rf"(?:{_DOMAIN_NAME}|{_IPV6})"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"

_ANCHORED_NAME_RE = re.compile(rf"^(?:({_DOMAIN})/)?({_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)$")
_REFERENCE_RE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$")
_TAG_RE = re.compile(rf"^{_TAG}$")
_IDENTIFIER_RE = re.compile(r"^[a-f0-9]{64}$")
_SHA256_RE = re.compile(r"^sha256:[a-f0-9]{64}$")


@dataclass(frozen=True, slots=True)
class Reference:
    """A parsed image reference; ``domain`` is empty only for unnormalised parses."""

    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        """The full repository name, ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def familiar_name(self) -> str:
        """The repository name as the user writes it: ``busybox``, ``me/app``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        path = self.path
        if path.startswith(OFFICIAL_PREFIX) and "/" not in path[len(OFFICIAL_PREFIX) :]:
            return path[len(OFFICIAL_PREFIX) :]
        return path

    def familiar(self) -> str:
        """``busybox:latest``, ``localhost:5000/app:1``, ``busybox@sha256:...``."""
        return self.familiar_name + self._suffix()

    def __str__(self) -> str:
        return self.name + self._suffix()

    def _suffix(self) -> str:
        out = f":{self.tag}" if self.tag else ""
        return out + (f"@{self.digest}" if self.digest else "")


def parse_reference(text: str) -> Reference:
    """Parse a reference strictly, without normalising (distribution's ``Parse``).

    Raises:
        InvalidArgument: with Docker's message when ``text`` is not a reference.
    """
    match = _REFERENCE_RE.match(text)
    if match is None:
        if text == "":
            msg = "invalid reference format: repository name must have at least one component"
            raise InvalidArgument(msg)
        if _REFERENCE_RE.match(text.lower()) is not None:
            msg = "invalid reference format: repository name must be lowercase"
            raise InvalidArgument(msg)
        msg = "invalid reference format"
        raise InvalidArgument(msg)
    name, tag, digest = match.group(1), match.group(2) or "", match.group(3) or ""
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        msg = (
            "invalid reference format: repository name must not be more than "
            f"{NAME_TOTAL_LENGTH_MAX} characters"
        )
        raise InvalidArgument(msg)
    if digest and not digest.startswith("sha256:"):
        msg = "unsupported digest algorithm"
        raise InvalidArgument(msg)
    if digest and not _SHA256_RE.match(digest):
        hexpart = digest[len("sha256:") :]
        msg = (
            "invalid checksum digest length"
            if len(hexpart) != 64
            else "invalid checksum digest format"
        )
        raise InvalidArgument(msg)
    domain, path = _split_domain(name)
    return Reference(domain=domain, path=path, tag=tag, digest=digest)


def parse_normalized(text: str) -> Reference:
    """Parse a user-typed reference and normalise its name (``ParseNormalizedNamed``).

    No default tag is added; see ``normalize`` for that.

    Raises:
        InvalidArgument: with Docker's message for malformed names, upper-case
            repository names and 64-hex strings (those are ids, not names).
    """
    if _IDENTIFIER_RE.match(text):
        msg = f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings"
        raise InvalidArgument(msg)
    domain, remainder = _split_docker_domain(text)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        msg = f"invalid reference format: repository name ({remote}) must be lowercase"
        raise InvalidArgument(msg)
    return parse_reference(f"{domain}/{remainder}")


def normalize(text: str) -> Reference:
    """``parse_normalized`` plus Docker's default tag: ``busybox`` → ``docker.io/library/busybox:latest``."""
    ref = parse_normalized(text)
    if not ref.tag and not ref.digest:
        return Reference(ref.domain, ref.path, DEFAULT_TAG)
    return ref


def tagged(repo: str, tag: str = "") -> Reference:
    """The reference ``repo:tag`` for tagging; rejects digests and bad tags.

    Args:
        repo: the repository, possibly with a tag when ``tag`` is empty.
        tag: the tag; empty means the one in ``repo`` or ``latest``.

    Raises:
        InvalidArgument: for a malformed repository or tag, or a digest.
    """
    ref = parse_normalized(repo)
    if ref.digest:
        msg = f"refusing to create a tag with a digest reference: {repo}"
        raise InvalidArgument(msg)
    if tag:
        if not _TAG_RE.match(tag):
            msg = f"invalid tag format: {tag!r}"
            raise InvalidArgument(msg)
        if ref.tag:
            msg = f"invalid reference format: {repo}:{tag} has two tags"
            raise InvalidArgument(msg)
        return Reference(ref.domain, ref.path, tag)
    return ref if ref.tag else Reference(ref.domain, ref.path, DEFAULT_TAG)


def image_id_of(text: str) -> str | None:
    """The full image id when ``text`` is one (``sha256:<hex>`` or bare 64 hex), else None."""
    if _SHA256_RE.match(text):
        return text
    if _IDENTIFIER_RE.match(text):
        return f"sha256:{text}"
    return None


def id_prefix_of(text: str) -> str | None:
    """The hex prefix when ``text`` could be a short image id (``ab12``, ``sha256:ab12``)."""
    hexpart = text[len("sha256:") :] if text.startswith("sha256:") else text
    if 0 < len(hexpart) <= 64 and all(c in "0123456789abcdef" for c in hexpart):
        return hexpart
    return None


def _split_domain(name: str) -> tuple[str, str]:
    """Split a matched name into domain and path as Go's anchored name regexp does.

    The domain group is tried first and dropped if the rest does not fit, so
    ``a_b.c/x`` (not a valid host) is a two-component path with no domain.
    """
    match = _ANCHORED_NAME_RE.match(name)
    assert match is not None  # name already matched the reference grammar
    return match.group(1) or "", match.group(2)


def _split_docker_domain(text: str) -> tuple[str, str]:
    """distribution's ``splitDockerDomain``: find the domain, defaulting to Docker Hub."""
    first, sep, rest = text.partition("/")
    if not sep or (
        not any(c in first for c in ".:") and first != "localhost" and first.lower() == first
    ):
        domain, remainder = DEFAULT_DOMAIN, text
    else:
        domain, remainder = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_PREFIX + remainder
    return domain, remainder
