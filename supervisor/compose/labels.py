"""The labels compose puts on containers, networks and volumes, and container names.

Labels are how every tool (docker compose, docker-compose 1.x, ``docker ps
--filter label=...``) finds a project's objects, so they are exactly
compose's (``compose/const.py``). Container names follow compose v2:
``<project>-<service>-<n>`` (compose v1 used ``_``); ``container_name:``
overrides it. Objects are found by labels, never by name, so containers
created by docker-compose 1.x (``proj_web_1``) are still recognised.
Pure.
"""

from __future__ import annotations

from collections.abc import Mapping

PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
NUMBER = "com.docker.compose.container-number"
ONEOFF = "com.docker.compose.oneoff"
CONFIG_HASH = "com.docker.compose.config-hash"
CONFIG_FILES = "com.docker.compose.project.config_files"
WORKING_DIR = "com.docker.compose.project.working_dir"
VERSION = "com.docker.compose.version"
NETWORK = "com.docker.compose.network"
VOLUME = "com.docker.compose.volume"
DEPENDS_ON = "com.docker.compose.depends_on"
IMAGE = "com.docker.compose.image"
# berth's own: set on the containers of the daemon's service files (-c), so a
# reload can tell its projects from those ``berth compose`` brought up.
DAEMON_OWNED = "io.berth.service-file"

COMPOSE_VERSION = "2.27.0"


def container_name(project: str, service: str, number: int) -> str:
    """``<project>-<service>-<n>``, compose v2's naming."""
    return f"{project}-{service}-{number}"


def project_filter(project: str) -> dict[str, str]:
    """The labels that select a project's service containers (not one-off runs)."""
    return {PROJECT: project, ONEOFF: "False"}


def container_labels(
    *,
    project: str,
    service: str,
    number: int,
    config_hash: str,
    config_files: tuple[str, ...],
    working_dir: str,
    depends_on: str = "",
    owner: str = "",
) -> dict[str, str]:
    """Every compose label of one service container (user labels are added by the caller)."""
    labels = {
        PROJECT: project,
        SERVICE: service,
        NUMBER: str(number),
        ONEOFF: "False",
        CONFIG_HASH: config_hash,
        CONFIG_FILES: ",".join(config_files),
        WORKING_DIR: working_dir,
        VERSION: COMPOSE_VERSION,
        DEPENDS_ON: depends_on,
    }
    if owner:
        labels[DAEMON_OWNED] = owner
    return labels


def network_labels(project: str, key: str) -> dict[str, str]:
    return {PROJECT: project, NETWORK: key, VERSION: COMPOSE_VERSION}


def volume_labels(project: str, key: str) -> dict[str, str]:
    return {PROJECT: project, VOLUME: key, VERSION: COMPOSE_VERSION}


def number_of(labels: Mapping[str, str]) -> int:
    """The container number label as an int (0 when missing or junk)."""
    text = labels.get(NUMBER, "")
    return int(text) if text.isdigit() else 0
