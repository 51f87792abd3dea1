"""Merge several ``-f`` files into one, with docker compose's override rules.

Later files override earlier ones (compose-spec "Merge and override"):

- mappings merge key by key, recursively; scalars are replaced;
- ``environment``, ``labels``, ``depends_on``, ``sysctls``, ``extra_hosts``
  may be lists or mappings in either file: both are read as mappings, merged;
- ``ports``, ``expose``, ``dns``, ``dns_search``, ``cap_add``, ``cap_drop``,
  ``env_file``, ``tmpfs``: concatenated, without duplicates;
- ``volumes`` of a service: merged by container path (the later file's entry
  for ``/data`` replaces the earlier one);
- ``command``, ``entrypoint`` and ``healthcheck.test``: replaced whole;
- ``logging``: options merge only if the driver stays the same.

Marks are kept from whichever file supplied each value, so a validation
error after merging still names the right file and line. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from supervisor.compose.loader import Node

_AS_MAPPING = frozenset({"environment", "labels", "depends_on", "sysctls", "extra_hosts"})
_CONCAT = frozenset({"ports", "expose", "dns", "dns_search", "cap_add", "cap_drop", "env_file", "tmpfs"})
_REPLACE = frozenset({"command", "entrypoint", "test"})


def merge_files(roots: Sequence[Node]) -> Node:
    """Fold the files left to right (the first is the base)."""
    result = roots[0]
    for override in roots[1:]:
        result = _merge_top(result, override)
    return result


def _merge_top(base: Node, over: Node) -> Node:
    out = dict(base.value)
    for key, node in over.items():
        old = out.get(key)
        if key == "services" and old is not None and old.is_map and node.is_map:
            services = dict(old.value)
            for name, svc in node.items():
                prev = services.get(name)
                services[name] = (
                    _merge_service(prev, svc) if prev is not None and prev.is_map and svc.is_map else svc
                )
            out[key] = Node(services, old.mark)
        elif old is not None and old.is_map and node.is_map:
            out[key] = _merge_map(old, node)
        else:
            out[key] = node
    return Node(out, base.mark)


def _merge_service(base: Node, over: Node) -> Node:
    out = dict(base.value)
    for key, node in over.items():
        old = out.get(key)
        if old is None:
            out[key] = node
        elif key in _AS_MAPPING:
            out[key] = _merge_listmap(old, node, separator=":" if key == "extra_hosts" else "=")
        elif key in _CONCAT and old.is_list and node.is_list:
            out[key] = _concat(old, node)
        elif key == "volumes" and old.is_list and node.is_list:
            out[key] = _merge_volumes(old, node)
        elif key == "logging" and old.is_map and node.is_map:
            driver_old, driver_new = old.get("driver"), node.get("driver")
            if driver_new is not None and (driver_old is None or driver_old.value != driver_new.value):
                out[key] = node
            else:
                out[key] = _merge_map(old, node)
        elif old.is_map and node.is_map:
            out[key] = _merge_map(old, node)
        else:
            out[key] = node
    return Node(out, base.mark)


def _merge_map(base: Node, over: Node) -> Node:
    out = dict(base.value)
    for key, node in over.items():
        old = out.get(key)
        if old is not None and old.is_map and node.is_map and key not in _REPLACE:
            out[key] = _merge_map(old, node)
        else:
            out[key] = node
    return Node(out, base.mark)


def as_mapping(node: Node, separator: str = "=") -> Node | None:
    """A ``["K=V", "K2"]`` list as ``{K: V, K2: None}``; a mapping as is; else None."""
    if node.is_map:
        return node
    if not node.is_list:
        return None
    out: dict[str, Node] = {}
    for item in node.value:
        if not isinstance(item.value, str):
            return None
        key, sep, value = item.value.partition(separator)
        out[key.strip() if separator == ":" else key] = Node(value if sep else None, item.mark)
    return Node(out, node.mark)


def _merge_listmap(base: Node, over: Node, separator: str) -> Node:
    old, new = as_mapping(base, separator), as_mapping(over, separator)
    if old is None or new is None:
        return over  # let validation report what is wrong with it
    return Node({**old.value, **new.value}, over.mark)


def _concat(base: Node, over: Node) -> Node:
    seen = {repr(_plain_key(n)) for n in base.value}
    extra = [n for n in over.value if repr(_plain_key(n)) not in seen]
    return Node([*base.value, *extra], over.mark)


def _plain_key(node: Node) -> object:
    if node.is_map:
        return sorted((k, _plain_key(v)) for k, v in node.items())
    if node.is_list:
        return [_plain_key(v) for v in node.value]
    return node.value


def volume_target(node: Node) -> str | None:
    """The container path of a service volume entry (short or long form)."""
    if isinstance(node.value, str):
        parts = node.value.split(":")
        if len(parts) == 1:
            return parts[0]
        return parts[1]
    target = node.get("target")
    return target.value if target is not None and isinstance(target.value, str) else None


def _merge_volumes(base: Node, over: Node) -> Node:
    merged: dict[object, Node] = {}
    for index, node in enumerate([*base.value, *over.value]):
        target = volume_target(node)
        merged[target if target is not None else ("#", index)] = node
    return Node(list(merged.values()), over.mark)
