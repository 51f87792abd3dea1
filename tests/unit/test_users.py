"""User resolution against the image's /etc/passwd and /etc/group (runc's GetExecUser)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor.engine.users import ResolvedUser, resolve_user
from supervisor.errors import InvalidArgument

PASSWD = """\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
app:x:1000:1000:App,,,:/home/app:/bin/sh
broken:x:notanumber:1::/:/bin/sh
dup:x:1000:1234::/dup:/bin/sh
"""

GROUP = """\
root:x:0:
daemon:x:1:
www-data:x:33:
app:x:1000:
staff:x:50:app,www-data
audio:x:29:app
video:x:44:
docker:x:999:app
"""


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("", ResolvedUser(0, 0, (), "/root")),
        ("root", ResolvedUser(0, 0, (), "/root")),
        ("0", ResolvedUser(0, 0, (), "/root")),
        ("app", ResolvedUser(1000, 1000, (50, 29, 999), "/home/app")),
        ("1000", ResolvedUser(1000, 1000, (50, 29, 999), "/home/app")),
        ("www-data", ResolvedUser(33, 33, (50,), "/var/www")),
        ("4242", ResolvedUser(4242, 0, (), "/")),
        ("4242:4343", ResolvedUser(4242, 4343, (), "/")),
        ("app:video", ResolvedUser(1000, 44, (), "/home/app")),
        ("app:44", ResolvedUser(1000, 44, (), "/home/app")),
        ("1000:staff", ResolvedUser(1000, 50, (), "/home/app")),
        ("4242:staff", ResolvedUser(4242, 50, (), "/")),
        ("daemon:9999", ResolvedUser(1, 9999, (), "/usr/sbin")),
        (":staff", ResolvedUser(0, 50, (), "/root")),
        ("app:video:extra", ResolvedUser(1000, 44, (), "/home/app")),
    ],
)
def test_resolve_user_table(user: str, expected: ResolvedUser) -> None:
    """Docker's --user forms resolve like runc: uid/gid/supplementary groups/home."""
    assert resolve_user(user, PASSWD, GROUP) == expected


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ("nobody", "unable to find user nobody: no matching entries in passwd file"),
        ("app:nogroup", "unable to find group nogroup: no matching entries in group file"),
        ("-1", "uids and gids must be in range 0-2147483647"),
        ("2147483648", "uids and gids must be in range 0-2147483647"),
        ("1:-5", "uids and gids must be in range 0-2147483647"),
        ("broken", "unable to find user broken: no matching entries in passwd file"),
    ],
)
def test_resolve_user_errors(user: str, message: str) -> None:
    """Unknown names and out-of-range ids are InvalidArgument with runc's words."""
    with pytest.raises(InvalidArgument) as info:
        resolve_user(user, PASSWD, GROUP)
    assert info.value.message == message


def test_no_passwd_file() -> None:
    """Without /etc/passwd, numeric ids still work and names do not."""
    assert resolve_user("", None, None) == ResolvedUser(0, 0, (), "/")
    assert resolve_user("5:6", None, None) == ResolvedUser(5, 6, (), "/")
    with pytest.raises(InvalidArgument, match="unable to find user bob"):
        resolve_user("bob", None, None)


def test_first_match_wins_for_duplicate_uid() -> None:
    """Two entries with uid 1000: the first in the file wins, as in runc."""
    assert resolve_user("1000", PASSWD, None).home == "/home/app"


@given(st.text(), st.one_of(st.none(), st.text()), st.one_of(st.none(), st.text()))
def test_resolve_user_only_raises_invalid_argument(
    user: str, passwd: str | None, group: str | None
) -> None:
    """Arbitrary text never crashes resolve_user; the result is always in range."""
    try:
        r = resolve_user(user, passwd, group)
    except InvalidArgument:
        return
    assert r.uid >= 0 and r.gid >= 0
