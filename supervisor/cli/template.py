"""A Go text/template subset, enough for the ``--format`` strings people type.

Supported: text, ``{{.Field.Sub}}``, ``{{.}}``, ``{{$}}``, trim markers
``{{-``/``-}}``, pipelines (``{{.Name | upper}}``), parenthesised calls, string
and number literals, ``{{if}}/{{else}}/{{end}}``, ``{{range}}`` (with
``$k, $v :=``), ``{{with}}``, and the functions docker registers (json, join,
split, lower, upper, title, pad, truncate, println) plus Go's builtins (index,
len, eq, ne, lt, le, gt, ge, not, and, or, print, printf).

Values are rendered the way Go's ``fmt`` prints them: maps as ``map[k:v]`` with
sorted keys, lists as ``[a b]``, None as ``<no value>`` (docker's inspect decodes
into ``interface{}`` maps, so that is what it prints). A missing map key is an
error, as with docker's ``missingkey=error``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from supervisor.errors import InvalidArgument


class TemplateError(InvalidArgument):
    """The template does not parse or fails while executing."""


def _go_order(value: Any) -> Any:
    """Order keys as Go would: maps sorted, structs (capitalised keys) in field order."""
    if isinstance(value, Mapping):
        items = [(k, _go_order(v)) for k, v in value.items() if not callable(v)]
        if not any(str(k)[:1].isupper() for k, _ in items):
            items.sort(key=lambda kv: str(kv[0]))
        return dict(items)
    if isinstance(value, list | tuple):
        return [_go_order(v) for v in value]
    return value


def go_json(value: Any) -> str:
    """``json.Marshal`` output: compact, HTML characters escaped, non-ASCII kept."""
    text = json.dumps(_go_order(value), ensure_ascii=False, separators=(",", ":"))
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def go_str(value: Any) -> str:
    """Render a value as Go's ``fmt.Sprint`` renders its decoded-JSON twin."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, Mapping):
        inner = " ".join(f"{k}:{_inner(value[k])}" for k in sorted(value))
        return f"map[{inner}]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(_inner(v) for v in value) + "]"
    return str(value)


def _inner(value: Any) -> str:
    return "<nil>" if value is None else go_str(value)


# ---------------------------------------------------------------- lexing

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>"(?:[^"\\]|\\.)*"|`[^`]*`)
    | (?P<num>-?\d+(?:\.\d+)?)
    | (?P<var>\$[A-Za-z0-9_]*)
    | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>:=|[|(),=])
    )""",
    re.VERBOSE,
)


def _lex(source: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    source = source.rstrip()
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None or match.end() == pos:
            msg = f"template: unexpected {source[pos:].strip()!r} in command"
            raise TemplateError(msg)
        kind = match.lastgroup or ""
        text = match.group(kind)
        # ".Field" straight after a variable chains onto it: $v.Name
        if kind == "field" and tokens and tokens[-1][0] == "var" and match.start(kind) == pos:
            tokens[-1] = ("chain", tokens[-1][1] + text)
        else:
            tokens.append((kind, text))
        pos = match.end()
    return tokens


# ---------------------------------------------------------------- parsing


@dataclass(frozen=True, slots=True)
class _Text:
    text: str


@dataclass(frozen=True, slots=True)
class _Action:
    pipe: list[list[Any]]
    decl: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Block:
    kind: str  # "if", "range", "with"
    pipe: _Action
    body: list[Any]
    other: list[Any]


def _parse_pipe(tokens: list[tuple[str, str]]) -> _Action:
    decl: tuple[str, ...] = ()
    if ("op", ":=") in tokens:
        split = tokens.index(("op", ":="))
        decl = tuple(t for k, t in tokens[:split] if k == "var")
        tokens = tokens[split + 1 :]
    commands: list[list[Any]] = [[]]
    stack = [commands]
    current: list[Any] = commands[0]
    groups: list[tuple[list[list[Any]], list[Any]]] = []
    for kind, text in tokens:
        if kind == "op" and text == "|":
            stack[-1].append([])
            current = stack[-1][-1]
        elif kind == "op" and text == "(":
            inner: list[list[Any]] = [[]]
            groups.append((stack[-1], current))
            current.append(("pipe", inner))
            stack.append(inner)
            current = inner[0]
        elif kind == "op" and text == ")":
            if not groups:
                msg = "template: unexpected right paren"
                raise TemplateError(msg)
            stack.pop()
            _, current = groups.pop()
        elif kind == "op" and text == ",":
            continue
        else:
            current.append((kind, text))
    if groups or any(not c for c in commands):
        msg = "template: missing value for command"
        raise TemplateError(msg)
    return _Action(commands, decl)


def parse_template(source: str) -> list[Any]:
    """Parse a template into a node list.

    Raises:
        TemplateError: unbalanced blocks or a malformed action.
    """
    nodes: list[Any] = []
    stack: list[tuple[str, _Action, list[Any], list[Any], bool]] = []
    target = nodes
    pos = 0
    pending_trim = False
    for match in _ACTION.finditer(source):
        text = source[pos : match.start()]
        if pending_trim:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        if text:
            target.append(_Text(text))
        pending_trim = bool(match.group(3))
        pos = match.end()
        body = match.group(2).strip()
        if body.startswith("/*"):
            continue
        tokens = _lex(body)
        head = tokens[0][1] if tokens and tokens[0][0] == "ident" else ""
        if head in ("if", "range", "with"):
            block_body: list[Any] = []
            stack.append((head, _parse_pipe(tokens[1:]), block_body, [], False))
            target = block_body
        elif head == "else":
            if not stack:
                msg = "template: unexpected {{else}}"
                raise TemplateError(msg)
            kind, pipe, block_body, other, _ = stack.pop()
            stack.append((kind, pipe, block_body, other, True))
            target = other
        elif head == "end":
            if not stack:
                msg = "template: unexpected {{end}}"
                raise TemplateError(msg)
            kind, pipe, block_body, other, _ = stack.pop()
            if stack:
                parent = stack[-1]
                target = parent[3] if parent[4] else parent[2]
            else:
                target = nodes
            target.append(_Block(kind, pipe, block_body, other))
        else:
            target.append(_parse_pipe(tokens))
    text = source[pos:]
    if "{{" in text:
        msg = "template: unclosed action"
        raise TemplateError(msg)
    if pending_trim:
        text = text.lstrip()
    if text:
        target.append(_Text(text))
    if stack:
        msg = f"template: unexpected EOF: unclosed {{{{{stack[-1][0]}}}}}"
        raise TemplateError(msg)
    return nodes


# ---------------------------------------------------------------- execution


def _truthy(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool | int | float | str | list | tuple | dict):
        return bool(value)
    return True


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(value, Sequence) and isinstance(key, int):
            value = value[key]
        elif value is None:
            return None
        else:
            msg = f"template: can't index item of type {type(value).__name__}"
            raise TemplateError(msg)
    return value


def _printf(fmt: str, *args: Any) -> str:
    out = iter(args)
    return re.sub(
        r"%[-+# 0]*\d*(?:\.\d+)?[vsdqfgtx%]",
        lambda m: "%" if m.group() == "%%" else _printf_one(m.group(), next(out, None)),
        fmt,
    )


def _printf_one(spec: str, value: Any) -> str:
    verb = spec[-1]
    if verb == "q":
        return json.dumps(go_str(value), ensure_ascii=False)
    if verb in "dfgx" and isinstance(value, int | float):
        return ("%" + spec[1:]) % value
    return ("%" + spec[1:-1] + "s") % go_str(value)


def _truncate(value: Any, length: int) -> str:
    text = go_str(value)
    return text[:length]


FUNCS: dict[str, Callable[..., Any]] = {
    "json": go_json,
    "join": lambda items, sep: sep.join(go_str(i) for i in (items or [])),
    "split": lambda text, sep: str(text).split(sep),
    "lower": lambda text: go_str(text).lower(),
    "upper": lambda text: go_str(text).upper(),
    "title": lambda text: go_str(text).title(),
    "pad": lambda text, left, right: " " * left + go_str(text) + " " * right,
    "truncate": _truncate,
    "index": _index,
    "len": lambda value: len(value or ()),
    "eq": lambda a, *bs: any(a == b for b in bs),
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "not": lambda a: not _truthy(a),
    "and": lambda *a: next((v for v in a if not _truthy(v)), a[-1]),
    "or": lambda *a: next((v for v in a if _truthy(v)), a[-1]),
    "print": lambda *a: "".join(go_str(v) for v in a),
    "println": lambda *a: " ".join(go_str(v) for v in a) + "\n",
    "printf": _printf,
}


class _Scope:
    def __init__(self, root: Any) -> None:
        self.vars: dict[str, Any] = {"$": root}


def _field(value: Any, names: list[str], args: list[Any], where: str) -> Any:
    for i, name in enumerate(names):
        last = i == len(names) - 1
        if isinstance(value, Mapping):
            if name not in value:
                msg = f'template: executing "" at <{where}>: map has no entry for key "{name}"'
                raise TemplateError(msg)
            value = value[name]
        elif value is None:
            return None
        elif hasattr(value, name):
            value = getattr(value, name)
        else:
            msg = f'template: executing "" at <{where}>: can\'t evaluate field {name} in type {type(value).__name__}'
            raise TemplateError(msg)
        if callable(value):
            value = value(*args) if last else value()
    return value


def _operand(token: Any, dot: Any, scope: _Scope, args: list[Any]) -> Any:
    kind, text = token
    if kind == "pipe":
        return _run_pipe(_Action(text), dot, scope)
    if kind == "str":
        return text[1:-1] if text[0] == "`" else json.loads(text)
    if kind == "num":
        return float(text) if "." in text else int(text)
    if kind == "field":
        return dot if text == "." else _field(dot, text[1:].split("."), args, text)
    if kind in ("var", "chain"):
        name, _, rest = text.partition(".")
        if name not in scope.vars:
            msg = f"template: undefined variable: {name}"
            raise TemplateError(msg)
        base = scope.vars[name]
        return _field(base, rest.split("."), args, text) if rest else base
    if kind == "ident":
        if text in ("true", "false"):
            return text == "true"
        if text == "nil":
            return None
        if text not in FUNCS:
            msg = f'template: function "{text}" not defined'
            raise TemplateError(msg)
        return FUNCS[text]
    msg = f"template: unexpected {text!r}"
    raise TemplateError(msg)


def _run_command(command: list[Any], dot: Any, scope: _Scope, piped: list[Any]) -> Any:
    head = command[0]
    if head[0] == "ident" and head[1] in FUNCS:
        args = [_operand(t, dot, scope, []) for t in command[1:]] + piped
        try:
            return FUNCS[head[1]](*args)
        except TemplateError:
            raise
        except Exception as exc:
            msg = f"template: error calling {head[1]}: {exc}"
            raise TemplateError(msg) from exc
    args = [_operand(t, dot, scope, []) for t in command[1:]] + piped
    return _operand(head, dot, scope, args)


def _run_pipe(action: _Action, dot: Any, scope: _Scope) -> Any:
    value: Any = None
    for i, command in enumerate(action.pipe):
        value = _run_command(command, dot, scope, [value] if i else [])
    if len(action.decl) == 1:
        scope.vars[action.decl[0]] = value
    return value


def _execute(nodes: list[Any], dot: Any, scope: _Scope, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Action):
            value = _run_pipe(node, dot, scope)
            if not node.decl:
                out.append(go_str(value))
        elif node.kind == "range":
            _range(node, dot, scope, out)
        else:
            value = _run_pipe(_Action(node.pipe.pipe), dot, scope)
            if _truthy(value):
                _execute(node.body, value if node.kind == "with" else dot, scope, out)
            else:
                _execute(node.other, dot, scope, out)


def _range(node: _Block, dot: Any, scope: _Scope, out: list[str]) -> None:
    value = _run_pipe(_Action(node.pipe.pipe), dot, scope)
    items: list[tuple[Any, Any]]
    if isinstance(value, Mapping):
        items = [(k, value[k]) for k in sorted(value)]
    elif isinstance(value, list | tuple):
        items = list(enumerate(value))
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [(i, i) for i in range(value)]
    else:
        items = []
    if not items:
        _execute(node.other, dot, scope, out)
        return
    decl = node.pipe.decl
    for key, item in items:
        if len(decl) == 2:
            scope.vars[decl[0]], scope.vars[decl[1]] = key, item
        elif len(decl) == 1:
            scope.vars[decl[0]] = item
        _execute(node.body, item, scope, out)


def render(nodes: list[Any], data: Any) -> str:
    """Execute a parsed template against ``data`` (dicts, lists, or objects with attributes)."""
    out: list[str] = []
    _execute(nodes, data, _Scope(data), out)
    return "".join(out)


def render_string(source: str, data: Any) -> str:
    """Parse and execute in one go."""
    return render(parse_template(source), data)
