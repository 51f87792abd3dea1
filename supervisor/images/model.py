"""Image model: pure data shared by the image store, the spec builder and the API.

An image is an ordered list of layers (content-addressed directories) plus the
config Docker keeps with it (the defaults a container inherits at create).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from supervisor.engine.model import HealthConfig, Mount


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """The container defaults an image carries (Docker's image Config)."""

    env: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    working_dir: str = ""
    user: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    stop_signal: str = ""
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    healthcheck: HealthConfig | None = None
    shell: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Image:
    """One image in the store.

    ``id`` is ``sha256:<64 hex>``; ``layers`` are the layer digests (diff ids),
    bottom first; ``created`` is unix seconds; ``size`` is bytes on disk.
    """

    id: str
    repo_tags: tuple[str, ...] = ()
    created: int = 0
    size: int = 0
    config: ImageConfig = field(default_factory=ImageConfig)
    layers: tuple[str, ...] = ()
    comment: str = ""
    builtin: bool = False


@dataclass(frozen=True, slots=True)
class RootfsPlan:
    """How to build a container's root filesystem from an image.

    ``lowerdirs`` are the read-only overlay layers, topmost first (overlayfs's
    own order); ``mounts`` are extra OCI mounts the image needs (the ``host``
    image binds the host's system directories read-only and puts private
    tmpfs on /tmp, /run and /var/tmp).
    """

    lowerdirs: tuple[str, ...]
    mounts: tuple[Mount, ...] = ()
