"""Container identity: ids, names, and Docker's lookup order. Pure.

Lookup order is moby's (daemon/container.go GetContainer): exact full id,
then exact name (with or without the leading slash), then a unique id prefix.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping

from supervisor.errors import InvalidArgument, NotFound

NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

_ADJECTIVES = (
    "agile", "brave", "calm", "clever", "eager", "fond", "gentle", "happy", "jolly", "keen",
    "lucid", "merry", "nimble", "proud", "quiet", "sharp", "steady", "swift", "tender", "vivid",
    "witty", "zealous", "bold", "crisp", "daring", "epic", "frosty", "gallant", "hardy", "modest",
)
_NOUNS = (
    "anchor", "barge", "buoy", "cutter", "dinghy", "ferry", "galley", "harbor", "jetty", "keel",
    "ketch", "lagoon", "mast", "marina", "pier", "quay", "rudder", "schooner", "sloop", "tender",
    "tug", "wharf", "yawl", "bosun", "capstan", "dock", "helm", "lantern", "mooring", "tiller",
)


def new_id(taken: Iterable[str] = ()) -> str:
    """A new 64-hex container id whose 12-char prefix is unused and not all digits."""
    used = {i[:12] for i in taken}
    while True:
        cid = secrets.token_hex(32)
        # Docker avoids all-numeric short ids: they look like numbers to tools.
        if cid[:12] not in used and not cid[:12].isdigit():
            return cid


def new_name(taken: set[str]) -> str:
    """A random ``adjective_noun`` name not in ``taken``."""
    for _ in range(100):
        name = f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_NOUNS)}"
        if name not in taken:
            return name
    while True:
        name = f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_NOUNS)}{secrets.randbelow(1000)}"
        if name not in taken:
            return name


def normalize_name(name: str) -> str:
    """Validate a user-given container name and drop the leading slash."""
    if not NAME_RE.match(name):
        msg = f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        raise InvalidArgument(msg)
    return name.lstrip("/")


def resolve(ref: str, ids: Iterable[str], names: Mapping[str, str]) -> str:
    """Return the container id ``ref`` designates.

    Args:
        ref: what the user typed: full id, name (optionally with "/"), or id prefix.
        ids: all container ids.
        names: name (without slash) → id.

    Raises:
        NotFound: nothing matches ("No such container: ref").
        InvalidArgument: the prefix matches several containers.
    """
    if not ref:
        msg = "No such container: "
        raise NotFound(msg)
    id_list = ids if isinstance(ids, (set, frozenset, dict)) else set(ids)
    if _HEX64.match(ref) and ref in id_list:
        return ref
    by_name = names.get(ref[1:] if ref.startswith("/") else ref)
    if by_name is not None:
        return by_name
    matches = [i for i in id_list if i.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        msg = f"multiple IDs found with provided prefix: {ref}"
        raise InvalidArgument(msg)
    msg = f"No such container: {ref}"
    raise NotFound(msg)
