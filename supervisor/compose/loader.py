"""Read compose YAML into a tree of ``Node``s that remember where they came from.

Every later stage (interpolation, merging, validation) works on this tree, so
any error can name the file and line of the value it is about. PyYAML's
composer gives us the node graph with marks; we build our own tree from it
instead of letting PyYAML construct Python objects, which would drop the marks.

Handled here, as PyYAML's SafeLoader would: scalar typing (YAML 1.1, like
docker-compose 1.x), anchors and aliases, ``<<`` merge keys. Refused here:
duplicate keys (docker compose v2 refuses them too), non-string keys, a
document that is not a mapping, more than one document.

The only I/O is reading the file; ``parse_text`` is pure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from supervisor.compose.errors import ComposeError

_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Mark:
    """Where a value was written: a file (as the user named it) and a 1-based line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Node:
    """One YAML value and its mark.

    ``value`` is a ``dict[str, Node]``, a ``list[Node]`` or a scalar (str, int,
    float, bool, None). Nodes are never mutated after the loader built them.
    """

    value: Any
    mark: Mark

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)

    def items(self) -> Iterator[tuple[str, Node]]:
        """Key/value pairs of a mapping node (nothing for other nodes)."""
        if isinstance(self.value, dict):
            yield from self.value.items()

    def __getitem__(self, key: str) -> Node:
        """The child ``key`` of a mapping node (KeyError otherwise)."""
        if isinstance(self.value, dict):
            return self.value[key]  # type: ignore[no-any-return]
        raise KeyError(key)

    def get(self, key: str) -> Node | None:
        if isinstance(self.value, dict):
            return self.value.get(key)
        return None


def to_plain(node: Node | None) -> Any:
    """The tree without marks: plain dicts, lists and scalars."""
    if node is None:
        return None
    if isinstance(node.value, dict):
        return {k: to_plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [to_plain(v) for v in node.value]
    return node.value


def from_plain(value: Any, mark: Mark) -> Node:
    """Wrap plain data (e.g. built by a test) in Nodes that all carry ``mark``."""
    if isinstance(value, dict):
        return Node({str(k): from_plain(v, mark) for k, v in value.items()}, mark)
    if isinstance(value, (list, tuple)):
        return Node([from_plain(v, mark) for v in value], mark)
    return Node(value, mark)


class _Builder:
    """Turns PyYAML's composed node graph into Nodes."""

    def __init__(self, loader: yaml.SafeLoader, file: str) -> None:
        self.loader = loader
        self.file = file

    def mark(self, node: yaml.Node) -> Mark:
        return Mark(self.file, node.start_mark.line + 1)

    def build(self, node: yaml.Node, depth: int = 0) -> Node:
        if depth > _MAX_DEPTH:
            msg = f"{self.mark(node)}: nesting is too deep (more than {_MAX_DEPTH} levels)"
            raise ComposeError(msg)
        if isinstance(node, yaml.MappingNode):
            return Node(self._mapping(node, depth), self.mark(node))
        if isinstance(node, yaml.SequenceNode):
            return Node([self.build(item, depth + 1) for item in node.value], self.mark(node))
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            msg = f"{self.mark(node)}: {getattr(exc, 'problem', None) or exc}"
            raise ComposeError(msg) from exc
        if not isinstance(value, (str, int, float, bool, type(None))):
            value = str(node.value)  # timestamps and binary: keep the text as written
        return Node(value, self.mark(node))

    def _mapping(self, node: yaml.MappingNode, depth: int) -> dict[str, Node]:
        merged: dict[str, Node] = {}
        explicit: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                for source in self._merge_sources(value_node, depth):
                    for k, v in source.items():
                        merged.setdefault(k, v)
                continue
            key = self.build(key_node, depth + 1).value
            if isinstance(key, bool) or not isinstance(key, (str, int, float)):
                msg = f"{self.mark(key_node)}: mapping keys must be strings, got {key!r}"
                raise ComposeError(msg)
            key = str(key)
            if key in explicit:
                first = explicit[key].mark.line
                msg = f"{self.mark(key_node)}: duplicate key {key!r} (first defined on line {first})"
                raise ComposeError(msg)
            explicit[key] = Node(None, self.mark(key_node))
            merged.pop(key, None)
            merged[key] = self.build(value_node, depth + 1)
        # explicit keys win over merged ones, whatever their order in the file
        return merged

    def _merge_sources(self, node: yaml.Node, depth: int) -> list[dict[str, Node]]:
        if isinstance(node, yaml.MappingNode):
            return [self._mapping(node, depth + 1)]
        if isinstance(node, yaml.SequenceNode) and all(
            isinstance(item, yaml.MappingNode) for item in node.value
        ):
            return [self._mapping(item, depth + 1) for item in node.value]
        msg = f"{self.mark(node)}: '<<' must merge a mapping or a list of mappings"
        raise ComposeError(msg)


def parse_text(text: str, file: str) -> Node:
    """Parse one compose document.

    Args:
        text: the YAML source.
        file: the name to show in errors (usually the path as the user gave it).

    Raises:
        ComposeError: a YAML syntax error ("compose.yml:3: ..."), duplicate keys,
            an empty file, or a top level that is not a mapping.
    """
    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            detail = exc.problem or str(exc)
            if exc.context and exc.context_mark is not None:
                detail += f" ({exc.context} started on line {exc.context_mark.line + 1})"
            msg = f"{file}:{line}: invalid YAML: {detail}"
            raise ComposeError(msg) from exc
        except yaml.YAMLError as exc:
            msg = f"{file}: invalid YAML: {exc}"
            raise ComposeError(msg) from exc
        if root is None:
            msg = f"{file}: empty compose file"
            raise ComposeError(msg)
        tree = _Builder(loader, file).build(root)
    finally:
        loader.dispose()
    if not tree.is_map:
        msg = f"{tree.mark}: top-level object must be a mapping"
        raise ComposeError(msg)
    return tree


def load_file(path: Path, display: str | None = None) -> Node:
    """Read and parse ``path``; errors name it as ``display`` (default: the path).

    Raises:
        ComposeError: unreadable file or any ``parse_text`` error.
    """
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        msg = f"{name}: no such file"
        raise ComposeError(msg) from exc
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{name}: cannot read: {exc}"
        raise ComposeError(msg) from exc
    return parse_text(text, name)
