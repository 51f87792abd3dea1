"""Go-template subset, docker tables and row contexts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.cli import format as fmt
from supervisor.cli.template import TemplateError, go_json, go_str, render_string

INSPECT = {
    "Id": "a" * 64,
    "Name": "/web",
    "State": {"Status": "running", "Pid": 5, "Running": True},
    "Config": {"Labels": {"x": "y", "a b": "c"}, "Cmd": ["sleep", "1"], "Env": None},
    "HostConfig": {"Memory": 0, "NanoCpus": 1500000000},
}


@pytest.mark.parametrize(
    ("template", "out"),
    [
        ("{{.Name}}", "/web"),
        ("{{.State.Status}}", "running"),
        ("{{.State.Running}}", "true"),
        ("{{.Config.Labels}}", "map[a b:c x:y]"),
        ("{{.Config.Cmd}}", "[sleep 1]"),
        ("{{.Config.Env}}", "<no value>"),
        ("{{json .Config.Labels}}", '{"a b":"c","x":"y"}'),
        ("{{json .Config.Env}}", "null"),
        ("{{.HostConfig.NanoCpus}}", "1500000000"),
        ('{{index .Config.Labels "a b"}}', "c"),
        ('{{index .Config.Labels "zz"}}', "<no value>"),
        ("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", "a b=c;x=y;"),
        ("{{range .Config.Cmd}}<{{.}}>{{end}}", "<sleep><1>"),
        ("{{range .Config.Env}}x{{else}}empty{{end}}", "empty"),
        ("{{if .State.Pid}}pid{{else}}nopid{{end}}", "pid"),
        ("{{if .HostConfig.Memory}}mem{{else}}nomem{{end}}", "nomem"),
        ('{{if eq .State.Status "exited" "running"}}yes{{end}}', "yes"),
        ("{{if not .State.Running}}down{{else}}up{{end}}", "up"),
        ("{{with .State}}{{.Status}}/{{.Pid}}{{end}}", "running/5"),
        ("{{len .Config.Cmd}}", "2"),
        ("{{upper .Name}}", "/WEB"),
        ("{{.Name | upper}}", "/WEB"),
        ('{{join .Config.Cmd ","}}', "sleep,1"),
        ('{{printf "%s-%d" .Name .State.Pid}}', "/web-5"),
        ("{{(index .Config.Cmd 0) | upper}}", "SLEEP"),
        ("{{$.Name}}", "/web"),
        ('a {{- " b" -}}   c', "a bc"),
        ("{{/* comment */}}x", "x"),
        ("{{truncate .Id 5}}", "aaaaa"),
        ("{{json .State}}", '{"Status":"running","Pid":5,"Running":true}'),
    ],
)
def test_render(template: str, out: str) -> None:
    """The template constructs people use with docker inspect -f."""
    assert render_string(template, INSPECT) == out


@pytest.mark.parametrize(
    "template",
    ["{{.Nope}}", "{{if .Name}}x", "{{end}}", "{{nofunc .Name}}", "{{.Name", "{{$undefined}}"],
)
def test_render_errors(template: str) -> None:
    """Malformed or failing templates raise TemplateError, never crash."""
    with pytest.raises(TemplateError):
        render_string(template, INSPECT)


@given(st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=50))
def test_plain_text_passes_through(text: str) -> None:
    """Text without actions renders unchanged."""
    assert render_string(text, {}) == text


def test_go_json_escapes_html_like_go() -> None:
    """json.Marshal escapes <, > and & and keeps other non-ASCII."""
    assert go_json({"a": "<x>&…"}) == '{"a":"\\u003cx\\u003e\\u0026…"}'


def test_go_str_values() -> None:
    """fmt.Sprint of decoded JSON."""
    assert go_str(None) == "<no value>"
    assert go_str([None, 1]) == "[<nil> 1]"
    assert go_str({"b": [1], "a": {}}) == "map[a:map[] b:[1]]"
    assert go_str(False) == "false"


def test_tabwriter_widths() -> None:
    """Min width 10, padding 3, rune widths, last cell unpadded."""
    out = fmt.tabwrite(["A\tBBBBBBBBBBBB\tC", "…x\tb\t"])
    assert out == "A         BBBBBBBBBBBB   C\n…x        b" + " " * 14 + "\n"


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("sleep 1", '"sleep 1"'),
        ('echo "hi"\ttab', '"echo \\"hi\\"\\ttab"'),
        ("a\\b", '"a\\\\b"'),
        ("\x07\x00", '"\\a\\x00"'),
        ("…", '"…"'),
    ],
)
def test_go_quote(text: str, quoted: str) -> None:
    """strconv.Quote."""
    assert fmt.go_quote(text) == quoted


def test_ellipsis() -> None:
    """Cut at width with a trailing ellipsis rune."""
    assert fmt.ellipsis("sleep 1000000000000000000", 20) == "sleep 1000000000000…"
    assert fmt.ellipsis("short", 20) == "short"


@pytest.mark.parametrize(
    ("ports", "text"),
    [
        ([], ""),
        ([{"PrivatePort": 80, "Type": "tcp"}], "80/tcp"),
        (
            [
                {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                {"PrivatePort": 443, "Type": "tcp"},
            ],
            "443/tcp, 0.0.0.0:8080->80/tcp",
        ),
        (
            [{"PrivatePort": p, "Type": "tcp"} for p in (81, 80, 82)]
            + [{"PrivatePort": 90, "Type": "tcp"}],
            "80-82/tcp, 90/tcp",
        ),
        (
            [{"IP": "0.0.0.0", "PrivatePort": p, "PublicPort": p, "Type": "udp"} for p in (53, 54)],
            "0.0.0.0:53-54->53-54/udp",
        ),
        ([{"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}], "[::]:8080->80/tcp"),
    ],
)
def test_displayable_ports(ports: list[dict[str, object]], text: str) -> None:
    """docker's DisplayablePorts grouping and ordering."""
    assert fmt.displayable_ports(ports) == text


SUMMARY = {
    "Id": "a" * 64,
    "Names": ["/web"],
    "Image": "busybox",
    "ImageID": "sha256:" + "b" * 64,
    "Command": "sleep 1000000000000000000",
    "Created": 1000,
    "State": "running",
    "Status": "Up 4 seconds",
    "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}],
    "Labels": {"b": "2", "a": "1"},
    "Mounts": [],
    "SizeRw": 12345,
    "SizeRootFs": 4567890,
    "NetworkSettings": {"Networks": {"bridge": {}}},
}


def test_container_table_matches_docker() -> None:
    """The default ps table, byte for byte as docker 28.2.2 prints it."""
    out = fmt.render_rows(
        [fmt.container_row(SUMMARY, 1006)], None, fmt.CONTAINER_TABLE, fmt.CONTAINER_HEADERS
    )
    assert out == (
        "CONTAINER ID   IMAGE     COMMAND                  CREATED         STATUS         PORTS                  NAMES\n"
        'aaaaaaaaaaaa   busybox   "sleep 1000000000000…"   6 seconds ago   Up 4 seconds   0.0.0.0:8080->80/tcp   web\n'
    )


def test_container_json_line() -> None:
    """--format json is one object per row with docker's keys in Go order."""
    out = fmt.render_rows(
        [fmt.container_row(SUMMARY, 1006)], "json", fmt.CONTAINER_TABLE, fmt.CONTAINER_HEADERS
    )
    assert out.count("\n") == 1
    assert out.startswith('{"Command":"\\"sleep 1000000000000…\\"","CreatedAt":')
    assert '"Labels":"a=1,b=2"' in out and '"Size":"12.3kB (virtual 4.57MB)"' in out
    assert '"Ports":"0.0.0.0:8080-\\u003e80/tcp"' in out


def test_custom_table_headers() -> None:
    """A table format gets header names, label columns their key."""
    out = fmt.render_rows(
        [fmt.container_row(SUMMARY, 1006)],
        'table {{.ID}}\\t{{.Label "a"}}\\t{{.Names}}',
        fmt.CONTAINER_TABLE,
        fmt.CONTAINER_HEADERS,
    )
    assert out == "CONTAINER ID   a         NAMES\naaaaaaaaaaaa   1         web\n"


def test_no_trunc_and_image_id() -> None:
    """--no-trunc keeps full ids; an image given by id shows 12 chars when truncated."""
    summary = {**SUMMARY, "Image": "sha256:" + "d" * 64, "ImageID": "sha256:" + "d" * 64}
    assert fmt.container_row(summary, 1006)["Image"] == "d" * 12
    assert fmt.container_row(summary, 1006, trunc=False)["ID"] == "a" * 64


def test_image_rows() -> None:
    """One row per tag; untagged images show <none>."""
    image = {
        "Id": "sha256:" + "e" * 64,
        "RepoTags": ["busybox:latest", "reg:5000/x:1"],
        "Created": 0,
        "Size": 4261550,
        "SharedSize": -1,
        "Containers": -1,
    }
    rows = fmt.image_rows(image, 86400 * 3)
    assert [(r["Repository"], r["Tag"]) for r in rows] == [
        ("busybox", "latest"),
        ("reg:5000/x", "1"),
    ]
    assert (
        rows[0]["ID"] == "e" * 12
        and rows[0]["CreatedSince"] == "3 days ago"
        and rows[0]["Size"] == "4.26MB"
    )
    none = fmt.image_rows(
        {"Id": "sha256:" + "f" * 64, "RepoTags": None, "Created": 0, "Size": 999}, 30
    )
    out = fmt.render_rows(none, None, fmt.IMAGE_TABLE, fmt.IMAGE_HEADERS)
    assert out == (
        "REPOSITORY   TAG       IMAGE ID       CREATED          SIZE\n"
        "<none>       <none>    ffffffffffff   30 seconds ago   999B\n"
    )
