"""The network state on disk: definitions, endpoint configs and IPAM, one JSON file.

``<data-root>/network/state.json`` holds every network definition (the
default bridge's chosen subnet included, so it stays stable across restarts),
each container's endpoint configs (what create or connect asked for) and the
IPAM pools. Writes are atomic (temp file, fsync, rename, fsync of the
directory) and blocking: the manager runs them in a worker thread.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from supervisor.errors import RuntimeFailed
from supervisor.network.ipam import Ipam
from supervisor.network.model import (
    EndpointConfig,
    Network,
    endpoint_config_from_json,
    endpoint_config_to_json,
    network_from_json,
    network_to_json,
)

VERSION = 1


@dataclass
class NetworkState:
    """Everything persisted, as plain objects."""

    networks: dict[str, Network] = field(default_factory=dict)  # id -> network
    # container id -> network id -> config; a container with an entry uses only these.
    endpoints: dict[str, dict[str, EndpointConfig]] = field(default_factory=dict)
    ipam: Ipam = field(default_factory=Ipam)

    def to_json(self) -> dict[str, object]:
        return {
            "version": VERSION,
            "networks": [network_to_json(n) for n in self.networks.values()],
            "endpoints": {
                cid: {nid: endpoint_config_to_json(e) for nid, e in table.items()}
                for cid, table in self.endpoints.items()
            },
            "ipam": self.ipam.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> NetworkState:
        state = cls()
        for raw in data.get("networks") or ():  # type: ignore[attr-defined]
            n = network_from_json(raw)
            state.networks[n.id] = n
        for cid, table in (data.get("endpoints") or {}).items():  # type: ignore[attr-defined]
            state.endpoints[cid] = {nid: endpoint_config_from_json(e) for nid, e in table.items()}
        state.ipam = Ipam.from_json(data.get("ipam") or {})  # type: ignore[arg-type]
        return state


def state_path(data_root: Path) -> Path:
    return data_root / "network" / "state.json"


def load_state(path: Path) -> NetworkState:
    """The state at ``path``; an empty one if there is no file yet.

    Raises:
        RuntimeFailed: the file exists but cannot be read or parsed.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        return NetworkState()
    except OSError as exc:
        msg = f"cannot read network state {path}: {exc.strerror}"
        raise RuntimeFailed(msg) from exc
    try:
        return NetworkState.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        msg = f"corrupt network state {path}: {exc}"
        raise RuntimeFailed(msg) from exc


def save_state(path: Path, data: Mapping[str, object]) -> None:
    """Write ``data`` to ``path`` atomically (temp, fsync, rename, fsync dir)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
