"""``${VAR}`` interpolation, as docker compose does it.

Syntax (compose-spec "Interpolation"):

- ``$VAR`` and ``${VAR}``: the value, "" with a warning when unset;
- ``${VAR:-default}`` / ``${VAR-default}``: default when unset or empty / unset;
- ``${VAR:?err}`` / ``${VAR?err}``: an error naming ``err`` when unset or empty / unset;
- ``${VAR:+alt}`` / ``${VAR+alt}``: ``alt`` when set and non-empty / set;
- ``$$``: a literal ``$``.

Defaults and messages may themselves contain ``${...}`` (compose v2). Any
other use of ``$`` is an error, as in compose ("You may need to escape any $
with another $"). Only values are interpolated, never keys, and ``x-``
extension blocks are skipped since nothing reads them. Pure: the environment
is an argument.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from supervisor.compose.errors import ComposeError
from supervisor.compose.loader import Node

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?", re.DOTALL)


class InterpolationError(ValueError):
    """The text cannot be interpolated; the message says why."""


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``${`` whose body starts at ``start``; -1 if none."""
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def interpolate(text: str, env: Mapping[str, str], missing: list[str] | None = None) -> str:
    """Substitute variables in ``text`` from ``env``.

    Args:
        text: a value from a compose file.
        env: the variables (the process environment over the ``.env`` file).
        missing: if given, receives the names of unset variables that became "".

    Raises:
        InterpolationError: bad ``$`` syntax, or a ``?`` variable that is missing.
    """
    if "$" not in text:
        return text
    unset = missing if missing is not None else []
    out: list[str] = []
    i = 0
    while i < len(text):
        dollar = text.find("$", i)
        if dollar < 0:
            out.append(text[i:])
            break
        out.append(text[i:dollar])
        nxt = text[dollar + 1 : dollar + 2]
        if nxt == "$":
            out.append("$")
            i = dollar + 2
        elif nxt == "{":
            end = _closing_brace(text, dollar + 2)
            if end < 0:
                msg = f"invalid interpolation format {text!r}: unterminated '${{'"
                raise InterpolationError(msg)
            out.append(_braced(text, text[dollar + 2 : end], env, unset))
            i = end + 1
        else:
            m = _NAME.match(text, dollar + 1)
            if m is None:
                msg = (
                    f"invalid interpolation format {text!r}: "
                    "you may need to escape any $ with another $"
                )
                raise InterpolationError(msg)
            value = env.get(m.group())
            if value is None:
                unset.append(m.group())
            out.append(value or "")
            i = m.end()
    return "".join(out)


def _braced(text: str, body: str, env: Mapping[str, str], unset: list[str]) -> str:
    m = _BRACED.fullmatch(body)
    if m is None:
        msg = (
            f"invalid interpolation format {text!r}: '${{{body}}}' is not a variable "
            "(you may need to escape any $ with another $)"
        )
        raise InterpolationError(msg)
    name, op, arg = m.group(1), m.group(2), m.group(3) or ""
    value = env.get(name)
    is_set = value is not None
    non_empty = bool(value)
    if op is None:
        if not is_set:
            unset.append(name)
        return value or ""
    if op in (":-", "-"):
        use_default = not non_empty if op == ":-" else not is_set
        return interpolate(arg, env, unset) if use_default else (value or "")
    if op in (":?", "?"):
        if (not non_empty) if op == ":?" else (not is_set):
            detail = interpolate(arg, env, unset)
            msg = f"required variable {name} is missing a value" + (f": {detail}" if detail else "")
            raise InterpolationError(msg)
        return value or ""
    # ":+" and "+": the alternative when set
    use_alt = non_empty if op == ":+" else is_set
    return interpolate(arg, env, unset) if use_alt else ""


def interpolate_tree(
    root: Node, env: Mapping[str, str], warnings: list[str] | None = None
) -> Node:
    """Interpolate every string value of a loaded file.

    Raises:
        ComposeError: every bad value, each as ``file:line: key.path: reason``.
    """
    errors: list[str] = []
    notes = warnings if warnings is not None else []

    def walk(node: Node, path: str) -> Node:
        if isinstance(node.value, dict):
            return Node(
                {
                    k: v if k.startswith("x-") else walk(v, f"{path}.{k}" if path else k)
                    for k, v in node.value.items()
                },
                node.mark,
            )
        if isinstance(node.value, list):
            return Node([walk(v, f"{path}[{i}]") for i, v in enumerate(node.value)], node.mark)
        if isinstance(node.value, str) and "$" in node.value:
            missing: list[str] = []
            try:
                text = interpolate(node.value, env, missing)
            except InterpolationError as exc:
                errors.append(f"{node.mark}: {path}: {exc}")
                return node
            for name in dict.fromkeys(missing):
                notes.append(
                    f"{node.mark}: {path}: the {name!r} variable is not set, "
                    "defaulting to a blank string"
                )
            return Node(text, node.mark)
        return node

    result = walk(root, "")
    if errors:
        raise ComposeError(errors)
    return result


def parse_env_file(text: str, file: str) -> dict[str, str]:
    """A ``.env`` or ``env_file``: ``KEY=VALUE`` lines, ``#`` comments, optional quotes.

    Raises:
        ComposeError: a line that is not ``KEY=VALUE`` (naming file and line).
    """
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep:
            msg = f"{file}:{number}: expected KEY=VALUE, got {raw.strip()!r}"
            raise ComposeError(msg)
        if not key or any(ch.isspace() for ch in key):
            msg = f"{file}:{number}: invalid variable name {key!r}"
            raise ComposeError(msg)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
            if raw.strip().partition("=")[2].strip()[0] == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"')
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        out[key] = value
    return out
