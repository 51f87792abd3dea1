"""Docker's wire shapes for images: ``GET /images/json`` and ``GET /images/{name}/json`` (pure).

Field types follow the v1.50 spec and what clients index directly: the
summary's ``Created`` is an int (unix seconds), inspect's is an RFC3339Nano
string; ``RepoTags`` is always a list; inspect keeps the deprecated
``ContainerConfig`` because docker-compose 1.29 reads ``ContainerConfig.Volumes``
to recreate containers.
"""

from __future__ import annotations

from typing import Any

from supervisor.images.config import config_to_docker, host_architecture, rfc3339_nano
from supervisor.images.model import Image

_EMPTY_CONTAINER_CONFIG: dict[str, Any] = {
    "Hostname": "",
    "Domainname": "",
    "User": "",
    "AttachStdin": False,
    "AttachStdout": False,
    "AttachStderr": False,
    "Tty": False,
    "OpenStdin": False,
    "StdinOnce": False,
    "Env": None,
    "Cmd": None,
    "Image": "",
    "Volumes": None,
    "WorkingDir": "",
    "Entrypoint": None,
    "OnBuild": None,
    "Labels": None,
}


def image_summary(image: Image, containers: int = -1) -> dict[str, Any]:
    """One entry of ``GET /images/json``.

    Args:
        image: the image.
        containers: how many containers use it (``-1`` = not computed, as Docker).
    """
    return {
        "Id": image.id,
        "ParentId": "",
        "RepoTags": list(image.repo_tags),
        "RepoDigests": [],
        "Created": int(image.created),
        "Size": int(image.size),
        "SharedSize": -1,
        "VirtualSize": int(image.size),
        "Labels": dict(image.config.labels) or None,
        "Containers": int(containers),
    }


def image_inspect(
    image: Image, *, graph_data: dict[str, str] | None = None, last_tag_time: str = ""
) -> dict[str, Any]:
    """The body of ``GET /images/{name}/json``.

    Args:
        image: the image.
        graph_data: ``GraphDriver.Data`` (e.g. ``LowerDir``), when the caller has it.
        last_tag_time: RFC3339Nano time of the last local tag, if known.
    """
    config = {
        "Hostname": "",
        "Domainname": "",
        "User": image.config.user,
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "Tty": False,
        "OpenStdin": False,
        "StdinOnce": False,
        "Image": "",
        "OnBuild": None,
        **config_to_docker(image.config),
    }
    metadata = {"LastTagTime": last_tag_time} if last_tag_time else {}
    return {
        "Id": image.id,
        "RepoTags": list(image.repo_tags),
        "RepoDigests": [],
        "Parent": "",
        "Comment": image.comment,
        "Created": rfc3339_nano(image.created * 1_000_000_000),
        "Container": "",
        "ContainerConfig": dict(_EMPTY_CONTAINER_CONFIG),
        "DockerVersion": "",
        "Author": "",
        "Config": config,
        "Architecture": host_architecture(),
        "Os": "linux",
        "Size": int(image.size),
        "VirtualSize": int(image.size),
        "GraphDriver": {"Name": "overlay2", "Data": dict(graph_data or {})},
        "RootFS": {"Type": "layers", "Layers": list(image.layers)},
        "Metadata": metadata,
    }
