"""From ``-f``/``-p`` and the environment to a validated ``Project``, as docker compose does.

- Files: the ``-f`` list, else ``COMPOSE_FILE`` (``:``-separated), else the first
  of compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml found in
  the working directory or one of its parents; a ``compose.override.yaml`` (or
  ``docker-compose.override.yml`` ...) beside it is merged in, as compose does.
- Project directory: the directory of the first file. Its ``.env`` feeds
  interpolation; the process environment wins over it.
- Project name: ``-p``, else ``COMPOSE_PROJECT_NAME``, else the file's ``name:``,
  else the project directory's name, normalised (lowercase; only a-z, 0-9, ``_``
  and ``-``; no leading ``_`` or ``-``).

This is the one module of the compose core that reads files; everything it
calls after reading is pure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from supervisor.compose.errors import ComposeError
from supervisor.compose.interpolate import interpolate_tree, parse_env_file
from supervisor.compose.loader import Node, load_file
from supervisor.compose.merge import merge_files
from supervisor.compose.model import Project
from supervisor.compose.validate import ProjectContext, validate_project

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_FILES = {
    "compose.yaml": ("compose.override.yaml", "compose.override.yml"),
    "compose.yml": ("compose.override.yml", "compose.override.yaml"),
    "docker-compose.yaml": ("docker-compose.override.yaml", "docker-compose.override.yml"),
    "docker-compose.yml": ("docker-compose.override.yml", "docker-compose.override.yaml"),
}
_VALID_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


def normalize_project_name(name: str) -> str:
    """compose's NormalizeProjectName: lowercase, drop other characters, trim leading ``_-``."""
    return re.sub(r"[^-_a-z0-9]+", "", name.lower()).lstrip("_-")


def check_project_name(name: str, source: str) -> str:
    """An explicitly given name must already be valid (compose refuses, not rewrites).

    Raises:
        ComposeError: naming where the bad name came from.
    """
    if not _VALID_NAME.fullmatch(name):
        msg = (
            f"{source}: invalid project name {name!r}: must contain only lowercase letters, "
            "digits, dashes and underscores, and start with a letter or digit"
        )
        raise ComposeError(msg)
    return name


def find_default_files(start: Path) -> list[Path]:
    """The default compose file (and its override) in ``start`` or the nearest parent.

    Raises:
        ComposeError: none found (compose's "no configuration file provided").
    """
    for directory in (start, *start.parents):
        for name in DEFAULT_FILES:
            candidate = directory / name
            if candidate.is_file():
                files = [candidate]
                for override in OVERRIDE_FILES[name]:
                    if (directory / override).is_file():
                        files.append(directory / override)
                        break
                return files
    msg = f"no configuration file provided: not found (looked for {', '.join(DEFAULT_FILES)} in {start} and its parents)"
    raise ComposeError(msg)


def resolve_files(files: Sequence[str], environ: Mapping[str, str], cwd: Path) -> list[Path]:
    """``-f`` values (``-`` is not supported), else COMPOSE_FILE, else the defaults."""
    if not files and environ.get("COMPOSE_FILE"):
        sep = environ.get("COMPOSE_PATH_SEPARATOR", os.pathsep)
        files = [f for f in environ["COMPOSE_FILE"].split(sep) if f]
    if not files:
        return find_default_files(cwd)
    out = []
    for f in files:
        if f == "-":
            msg = "-f -: reading the compose file from stdin is not supported"
            raise ComposeError(msg)
        out.append(Path(cwd, f))
    return out


def _read_env(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot read: {exc}"
        raise ComposeError(msg) from exc
    return parse_env_file(text, str(path))


def _read_env_file(full: str, entry: Node) -> Mapping[str, str]:
    del entry
    path = Path(full)
    if not path.is_file():
        raise FileNotFoundError(full)
    return _read_env(path)


def load_project(
    files: Sequence[str | Path] = (),
    *,
    project_name: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    default_name: str | None = None,
) -> Project:
    """Load, interpolate, merge and validate compose files into a ``Project``.

    Args:
        files: ``-f`` values in order; empty means COMPOSE_FILE or the defaults.
        project_name: ``-p``.
        environ: the environment (default: ``os.environ``).
        cwd: where relative paths and the default-file search start.
        default_name: the name when no other source gives one (the daemon
            passes the file's stem); default: the project directory's name.

    Raises:
        ComposeError: every problem found, each naming file, line and key.
    """
    env_os = dict(os.environ if environ is None else environ)
    base = cwd or Path.cwd()
    paths = resolve_files([str(f) for f in files], env_os, base)
    project_dir = paths[0].absolute().parent
    env = {**_read_env(project_dir / ".env"), **env_os}
    warnings: list[str] = []
    trees = []
    errors: list[str] = []
    for path in paths:
        display = _display(path, base)
        try:
            tree = load_file(path, display)
            trees.append(interpolate_tree(tree, env, warnings))
        except ComposeError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ComposeError(errors)
    merged = merge_files(trees)
    name = _project_name(project_name, env, merged, default_name or project_dir.name)
    ctx = ProjectContext(
        name=name,
        working_dir=str(project_dir),
        config_files=tuple(str(p.absolute()) for p in paths),
        environ=env,
        read_env_file=_read_env_file,
        warnings=tuple(warnings),
    )
    return validate_project(merged, ctx)


def _display(path: Path, base: Path) -> str:
    """How errors name a file: relative to the working directory when inside it."""
    try:
        return str(path.absolute().relative_to(base.absolute()))
    except ValueError:
        return str(path)


def _project_name(explicit: str | None, env: Mapping[str, str], merged: Node, fallback: str) -> str:
    if explicit:
        return check_project_name(explicit, "-p")
    if env.get("COMPOSE_PROJECT_NAME"):
        return check_project_name(env["COMPOSE_PROJECT_NAME"], "COMPOSE_PROJECT_NAME")
    node = merged.get("name")
    if node is not None and node.value is not None:
        if not isinstance(node.value, str):
            msg = f"{node.mark}: name: must be a string"
            raise ComposeError(msg)
        return check_project_name(node.value, f"{node.mark}: name")
    name = normalize_project_name(fallback)
    if not name:
        msg = f"cannot derive a project name from {fallback!r}: use -p NAME or name: in the file"
        raise ComposeError(msg)
    return name
