"""Resolve a container's ``User`` against its own /etc/passwd and /etc/group.

This is runc's ``libcontainer/user.GetExecUser`` (which Docker calls through
``getUser`` in daemon/oci_linux.go) written as a pure function of the two
files' texts, so the engine reads the files from the container's rootfs (in a
thread) and the rules stay testable:

* ``""`` → uid 0, and the gid and home of uid 0 in passwd if it has one.
* ``"name"`` / ``"uid"`` → the passwd entry (a numeric value is always a uid);
  a numeric uid without an entry is fine (gid 0), a name without one is
  "unable to find user NAME: no matching entries in passwd file".
* ``"user:group"`` → as above, then the group by name or gid; an explicit
  group replaces the primary gid and disables supplementary groups.
* Supplementary groups (implicit form only) are every group in /etc/group
  that lists the matched user name as a member.

``passwd``/``group`` may be None when the image has no such file. Unlike runc,
malformed passwd/group lines are skipped instead of read as uid 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from supervisor.errors import InvalidArgument

MAX_ID = 2**31 - 1
_RANGE_MSG = f"uids and gids must be in range 0-{MAX_ID}"


@dataclass(frozen=True, slots=True)
class ResolvedUser:
    """The process identity that goes into the OCI spec's ``process.user``."""

    uid: int
    gid: int
    additional_gids: tuple[int, ...] = ()
    home: str = "/"


@dataclass(frozen=True, slots=True)
class _PasswdEntry:
    name: str
    uid: int
    gid: int
    home: str


@dataclass(frozen=True, slots=True)
class _GroupEntry:
    name: str
    gid: int
    members: tuple[str, ...]


def _int(text: str) -> int | None:
    """runc's ``strconv.Atoi``: optional sign, ASCII digits only."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or not body.isascii() or not body.isdigit():
        return None
    return int(text)


def _lines(text: str | None) -> Iterator[list[str]]:
    if text is None:
        return
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        yield line.split(":")


def parse_passwd(text: str | None) -> tuple[_PasswdEntry, ...]:
    """Entries of an /etc/passwd text, in file order; bad lines are skipped."""
    out = []
    for parts in _lines(text):
        parts += [""] * (7 - len(parts))
        uid, gid = _int(parts[2]), _int(parts[3])
        if uid is None or gid is None:
            continue
        out.append(_PasswdEntry(parts[0], uid, gid, parts[5]))
    return tuple(out)


def parse_group(text: str | None) -> tuple[_GroupEntry, ...]:
    """Entries of an /etc/group text, in file order; bad lines are skipped."""
    out = []
    for parts in _lines(text):
        parts += [""] * (4 - len(parts))
        gid = _int(parts[2])
        if gid is None:
            continue
        members = tuple(m.strip() for m in parts[3].split(",") if m.strip())
        out.append(_GroupEntry(parts[0], gid, members))
    return tuple(out)


def _check_range(value: int) -> int:
    if value < 0 or value > MAX_ID:
        raise InvalidArgument(_RANGE_MSG)
    return value


def resolve_user(user: str, passwd: str | None, group: str | None) -> ResolvedUser:
    """Resolve Docker's ``User`` string to uid, gid, supplementary gids and home.

    Args:
        user: ``""``, ``name``, ``uid``, ``name:group``, ``uid:gid`` ... as in
            ``docker run --user``.
        passwd: the text of the container's /etc/passwd, None if absent.
        group: the text of the container's /etc/group, None if absent.

    Raises:
        InvalidArgument: unknown user or group name, or an id out of range.
    """
    if not isinstance(user, str):
        msg = f"invalid user: {user!r}"
        raise InvalidArgument(msg)
    # runc's parseLine: split on ':' and take the first two fields.
    fields = user.split(":")
    user_arg = fields[0]
    group_arg = fields[1] if len(fields) > 1 else ""
    uid_num = _int(user_arg)
    gid_num = _int(group_arg)

    uid, gid, home = 0, 0, "/"
    entries = parse_passwd(passwd)
    if user_arg == "":
        matches = [e for e in entries if e.uid == 0]
    elif uid_num is not None:
        matches = [e for e in entries if e.uid == uid_num]
    else:
        matches = [e for e in entries if e.name == user_arg]

    matched_name = ""
    if matches:
        first = matches[0]
        matched_name, uid, gid, home = first.name, first.uid, first.gid, first.home or "/"
    elif user_arg != "":
        if uid_num is None:
            msg = f"unable to find user {user_arg}: no matching entries in passwd file"
            raise InvalidArgument(msg)
        uid = _check_range(uid_num)

    additional: tuple[int, ...] = ()
    if group_arg != "" or matched_name != "":
        groups = parse_group(group)
        if group_arg != "":
            if gid_num is not None:
                found = [g for g in groups if g.gid == gid_num]
            else:
                found = [g for g in groups if g.name == group_arg]
            if found:
                gid = found[0].gid
            elif gid_num is None:
                msg = f"unable to find group {group_arg}: no matching entries in group file"
                raise InvalidArgument(msg)
            else:
                gid = _check_range(gid_num)
        else:
            seen: list[int] = []
            for g in groups:
                if matched_name in g.members and g.gid not in seen:
                    seen.append(g.gid)
            additional = tuple(seen)
    return ResolvedUser(uid=uid, gid=gid, additional_gids=additional, home=home)
