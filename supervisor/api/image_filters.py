"""``GET /images/json`` filters, as moby applies them (daemon/images/images.go). Pure.

``reference`` matches a glob against each tag's familiar form (``busybox``,
``busybox:latest``, ``repo/name:tag``), as moby matches ``reference.FamiliarMatch``;
``dangling`` selects images with no tag; ``label`` is ``k`` or ``k=v`` (AND);
``before``/``since`` compare creation times with a named image.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence

from supervisor.errors import InvalidArgument
from supervisor.images.model import Image

KEYS = frozenset({"reference", "dangling", "label", "before", "since"})


def _familiar_forms(tag: str) -> tuple[str, ...]:
    repo, _, _tag = tag.rpartition(":")
    if not repo:
        return (tag,)
    return (tag, repo)


def _matches_reference(image: Image, patterns: Sequence[str]) -> bool:
    for tag in image.repo_tags:
        for form in _familiar_forms(tag):
            if any(fnmatch.fnmatchcase(form, p) for p in patterns):
                return True
    return False


def _matches_labels(image: Image, wanted: Sequence[str]) -> bool:
    labels = image.config.labels
    for item in wanted:
        key, sep, value = item.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def filter_images(
    images: Sequence[Image],
    filters: Mapping[str, Sequence[str]],
    resolve: Callable[[str], Image],
) -> list[Image]:
    """The images that pass every filter; unknown keys are refused like moby does."""
    for key in filters:
        if key not in KEYS:
            msg = f"invalid filter '{key}'"
            raise InvalidArgument(msg)
    chosen = list(images)
    if refs := filters.get("reference"):
        chosen = [i for i in chosen if _matches_reference(i, refs)]
    if dangling := filters.get("dangling"):
        value = dangling[-1].lower()
        if value not in ("true", "false", "1", "0"):
            msg = f"invalid filter 'dangling={dangling[-1]}'"
            raise InvalidArgument(msg)
        want = value in ("true", "1")
        chosen = [i for i in chosen if (not i.repo_tags) == want]
    if labels := filters.get("label"):
        chosen = [i for i in chosen if _matches_labels(i, labels)]
    if before := filters.get("before"):
        limit = min(resolve(ref).created for ref in before)
        chosen = [i for i in chosen if i.created < limit]
    if since := filters.get("since"):
        limit = max(resolve(ref).created for ref in since)
        chosen = [i for i in chosen if i.created > limit]
    return chosen
