"""docker-style output: tab-aligned tables, ``--format`` templates and JSON lines.

Rules (docker/cli ``cli/command/formatter``):
- ``--format table ...`` renders a header row by running the template against
  header names, then aligns everything with Go's tabwriter (minwidth 10,
  padding 3, widths in runes, the last cell unpadded).
- ``--format json`` is ``{{json .}}``: one object per line.
- Any other format is executed once per row, each followed by a newline.
- Literal ``\\t`` and ``\\n`` typed in the format become real tabs/newlines.

The row contexts below are plain dicts built from API objects with ``now``
passed in, so they are pure and testable.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from supervisor.cli.template import parse_template, render
from supervisor.cli.units import format_go_time, human_duration, human_size

CONTAINER_TABLE = (
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
)
IMAGE_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"

CONTAINER_HEADERS = {
    "ID": "CONTAINER ID",
    "Image": "IMAGE",
    "Command": "COMMAND",
    "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED",
    "Ports": "PORTS",
    "State": "STATE",
    "Status": "STATUS",
    "Size": "SIZE",
    "Names": "NAMES",
    "Labels": "LABELS",
    "Mounts": "MOUNTS",
    "Networks": "NETWORKS",
    "LocalVolumes": "LOCAL VOLUMES",
    "Platform": "PLATFORM",
}
IMAGE_HEADERS = {
    "Repository": "REPOSITORY",
    "Tag": "TAG",
    "ID": "IMAGE ID",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "Size": "SIZE",
    "Digest": "DIGEST",
    "Containers": "CONTAINERS",
    "SharedSize": "SHARED SIZE",
    "UniqueSize": "UNIQUE SIZE",
    "VirtualSize": "SIZE",
}


def tabwrite(lines: list[str], minwidth: int = 10, padding: int = 3) -> str:
    """Align tab-separated cells like Go's ``tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)``."""
    rows = [line.split("\t") for line in lines]
    widths: dict[int, int] = {}
    for cells in rows:
        for j, cell in enumerate(cells[:-1]):
            widths[j] = max(widths.get(j, minwidth), len(cell) + padding)
    out = []
    for cells in rows:
        padded = [cell.ljust(widths[j]) for j, cell in enumerate(cells[:-1])]
        out.append("".join(padded) + cells[-1])
    return "".join(line + "\n" for line in out)


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote``: escapes for quotes, backslashes and non-printables."""
    special = {
        "\a": "\\a",
        "\b": "\\b",
        "\f": "\\f",
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
        "\v": "\\v",
        '"': '\\"',
        "\\": "\\\\",
    }
    out = []
    for char in text:
        if char in special:
            out.append(special[char])
        elif unicodedata.category(char)[0] in "CZ" and char != " ":
            code = ord(char)
            out.append(
                f"\\x{code:02x}"
                if code < 0x80
                else f"\\u{code:04x}"
                if code < 0x10000
                else f"\\U{code:08x}"
            )
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def ellipsis(text: str, width: int) -> str:
    """docker's ``formatter.Ellipsis``: cut to ``width`` runes, the last one being '…'."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[: width - 1] + "…"


def truncate_id(value: str) -> str:
    """``stringid.TruncateID``: drop an algorithm prefix, keep 12 characters."""
    return value.split(":", 1)[-1][:12]


def _join_host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def displayable_ports(ports: list[Mapping[str, Any]] | None) -> str:
    """docker's ``DisplayablePorts``: group consecutive exposed ports, then host mappings."""

    def key(p: Mapping[str, Any]) -> tuple[int, str, int, str]:
        return (
            p.get("PrivatePort") or 0,
            p.get("IP") or "",
            p.get("PublicPort") or 0,
            p.get("Type") or "",
        )

    groups: dict[str, list[int]] = {}
    result: list[str] = []
    mappings: list[str] = []

    def form(group_key: str, first: int, last: int) -> str:
        ip, _, kind = group_key.rpartition("/")
        text = str(first) if first == last else f"{first}-{last}"
        if ip:
            text = f"{ip}:{text}->{text}"
        return f"{text}/{kind}"

    for port in sorted(ports or [], key=key):
        private, public = port.get("PrivatePort") or 0, port.get("PublicPort") or 0
        kind, ip = port.get("Type") or "tcp", port.get("IP") or ""
        group_key = kind
        if ip:
            if public != private:
                mappings.append(f"{_join_host_port(ip, public)}->{private}/{kind}")
                continue
            group_key = f"{ip}/{kind}"
        group = groups.get(group_key)
        if group is None:
            groups[group_key] = [private, private]
        elif private == group[1] + 1:
            group[1] = private
        else:
            result.append(form(group_key, group[0], group[1]))
            groups[group_key] = [private, private]
    result.extend(form(k, g[0], g[1]) for k, g in groups.items())
    return ", ".join(result + mappings)


def _image_column(summary: Mapping[str, Any], trunc: bool) -> str:
    image = summary.get("Image") or ""
    if not image:
        return "<no image>"
    if trunc:
        if truncate_id(summary.get("ImageID") or "") == truncate_id(image):
            return truncate_id(image)
        return image.split("@", 1)[0]
    return image


def container_row(summary: Mapping[str, Any], now: float, trunc: bool = True) -> dict[str, Any]:
    """The ``docker ps`` row context for one ``GET /containers/json`` entry."""
    names = [n.lstrip("/") for n in summary.get("Names") or []]
    if trunc:
        names = next(([n] for n in names if "/" not in n), names)
    command = summary.get("Command") or ""
    created = int(summary.get("Created") or 0)
    labels = summary.get("Labels") or {}
    mounts = summary.get("Mounts") or []
    size_rw, size_root = summary.get("SizeRw") or 0, summary.get("SizeRootFs") or 0
    size = human_size(size_rw)
    if size_root > 0:
        size = f"{size} (virtual {human_size(size_root)})"
    networks = ((summary.get("NetworkSettings") or {}).get("Networks")) or {}
    mount_names = [m.get("Name") or "" for m in mounts]
    return {
        "Command": go_quote(ellipsis(command, 20) if trunc else command),
        "CreatedAt": format_go_time(created),
        "ID": truncate_id(summary.get("Id") or "") if trunc else summary.get("Id") or "",
        "Image": _image_column(summary, trunc),
        "Label": lambda key: labels.get(key, ""),
        "Labels": ",".join(f"{k}={labels[k]}" for k in sorted(labels)),
        "LocalVolumes": str(sum(1 for m in mounts if m.get("Driver") == "local")),
        "Mounts": ",".join(ellipsis(n, 15) if trunc else n for n in mount_names),
        "Names": ",".join(names),
        "Networks": ",".join(sorted(networks)),
        "Platform": None,
        "Ports": displayable_ports(summary.get("Ports")),
        "RunningFor": human_duration(now - created) + " ago",
        "Size": size,
        "State": summary.get("State") or "",
        "Status": summary.get("Status") or "",
    }


def _split_repo_tag(ref: str) -> tuple[str, str]:
    repo, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        return ref, "<none>"
    return repo, tag


def image_rows(summary: Mapping[str, Any], now: float, trunc: bool = True) -> list[dict[str, Any]]:
    """The ``docker images`` rows (one per tag) for one ``GET /images/json`` entry."""
    image_id = summary.get("Id") or ""
    created = int(summary.get("Created") or 0)
    size = int(summary.get("Size") or 0)
    shared = summary.get("SharedSize", -1)
    shared = -1 if shared is None else int(shared)
    containers = summary.get("Containers", -1)
    containers = -1 if containers is None else int(containers)
    refs: list[tuple[str, str, str]] = []
    for tag in summary.get("RepoTags") or []:
        if tag != "<none>:<none>":
            refs.append((*_split_repo_tag(tag), "<none>"))
    if not refs:
        for digest in summary.get("RepoDigests") or []:
            repo, _, dig = digest.partition("@")
            if repo != "<none>":
                refs.append((repo, "<none>", dig))
    if not refs:
        refs.append(("<none>", "<none>", "<none>"))
    base = {
        "Containers": "N/A" if containers < 0 else str(containers),
        "CreatedAt": format_go_time(created),
        "CreatedSince": human_duration(now - created) + " ago",
        "ID": truncate_id(image_id) if trunc else image_id,
        "SharedSize": "N/A" if shared < 0 else human_size(shared),
        "Size": human_size(size),
        "UniqueSize": "N/A" if shared < 0 else human_size(size - shared),
        "VirtualSize": human_size(size, 4),
    }
    return [
        {
            "Containers": base["Containers"],
            "CreatedAt": base["CreatedAt"],
            "CreatedSince": base["CreatedSince"],
            "Digest": digest,
            "ID": base["ID"],
            "Repository": repo,
            "SharedSize": base["SharedSize"],
            "Size": base["Size"],
            "Tag": tag,
            "UniqueSize": base["UniqueSize"],
            "VirtualSize": base["VirtualSize"],
        }
        for repo, tag, digest in refs
    ]


class _Headers:
    """Stands in for a row while rendering the header line of a table."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = headers

    def __getattr__(self, name: str) -> Any:
        if name == "Label":
            return lambda key: key
        if name.startswith("_"):
            raise AttributeError(name)
        return self._headers.get(name, name.upper())


def normalise_format(fmt: str | None, default_table: str) -> tuple[bool, str]:
    """Resolve a ``--format`` value into (is_table, template source)."""
    text = (fmt or "").strip(" ")
    if not text:
        text = default_table
    if text == "json":
        return False, "{{json .}}"
    table = text.startswith("table")
    if table:
        text = text[len("table") :].strip(" ") or default_table[len("table ") :]
    text = text.replace("\\t", "\t").replace("\\n", "\n")
    return table, text


def render_rows(
    rows: list[dict[str, Any]],
    fmt: str | None,
    default_table: str,
    headers: Mapping[str, str],
) -> str:
    """Render rows with a docker ``--format`` value (or the default table)."""
    table, source = normalise_format(fmt, default_table)
    nodes = parse_template(source)
    rendered = [render(nodes, row) for row in rows]
    if not table:
        return "".join(text + "\n" for text in rendered)
    lines = [render(nodes, _Headers(headers))]
    lines.extend(rendered)
    return tabwrite([line for text in lines for line in text.split("\n")])
