"""Image list filters, table-driven."""

from __future__ import annotations

import pytest

from supervisor.api.image_filters import filter_images
from supervisor.errors import InvalidArgument, NotFound
from supervisor.images.model import Image, ImageConfig

A = Image(id="sha256:" + "a" * 64, repo_tags=("busybox:latest", "busybox:1"), created=10)
B = Image(id="sha256:" + "b" * 64, repo_tags=("me/app:2",), created=20, config=ImageConfig(labels={"tier": "web"}))
C = Image(id="sha256:" + "c" * 64, repo_tags=(), created=30)
ALL = [A, B, C]


def resolve(ref: str) -> Image:
    for image in ALL:
        if ref in image.repo_tags or image.id.endswith(ref):
            return image
    raise NotFound(f"No such image: {ref}")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [A, B, C]),
        ({"reference": ["busybox"]}, [A]),
        ({"reference": ["busybox:1"]}, [A]),
        ({"reference": ["me/*"]}, [B]),
        ({"reference": ["*:2"]}, [B]),
        ({"reference": ["nothing"]}, []),
        ({"dangling": ["true"]}, [C]),
        ({"dangling": ["false"]}, [A, B]),
        ({"label": ["tier"]}, [B]),
        ({"label": ["tier=web"]}, [B]),
        ({"label": ["tier=db"]}, []),
        ({"before": ["me/app:2"]}, [A]),
        ({"since": ["busybox:1"]}, [B, C]),
    ],
)
def test_filters(filters: dict[str, list[str]], expected: list[Image]) -> None:
    assert filter_images(ALL, filters, resolve) == expected


def test_unknown_key_and_bad_dangling_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="invalid filter 'bogus'"):
        filter_images(ALL, {"bogus": ["x"]}, resolve)
    with pytest.raises(InvalidArgument, match="dangling=maybe"):
        filter_images(ALL, {"dangling": ["maybe"]}, resolve)
