"""``docker top``: the container's processes as Docker's ``{Titles, Processes}``.

Docker runs the host's ``ps`` with the user's arguments plus ``-q <pids>``
(retrying without ``-q`` for options that refuse it) and keeps the lines whose
PID column is one of the container's processes (daemon/top_unix.go). Doing the
same gives byte-identical columns for every ``ps_args`` a user may pass, so it
is what ``container_top`` does; the container's pids come from its cgroup's
``cgroup.procs``. Where no ``ps`` binary exists, psutil fills the default
``-ef`` columns (UID PID PPID C STIME TTY TIME CMD).

``validate_ps_args``, ``ps_argv`` and ``parse_ps_output`` are pure.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Sequence
from typing import Any

import trio

from supervisor.errors import InvalidArgument, RuntimeFailed

DEFAULT_PS_ARGS = "-ef"
_PS_ARG_KV = re.compile(r"\s+([^\s]*)=\s*(PID[^\s]*)")


def validate_ps_args(ps_args: str) -> None:
    """moby's validatePSArgs: a ``key=PID...`` column rename is only allowed for ``pid``.

    Raises:
        InvalidArgument: e.g. ``specifying "user=PID" is not allowed``.
    """
    for key, value in _PS_ARG_KV.findall(ps_args):
        if key != "pid":
            msg = f'specifying "{key}={value}" is not allowed'
            raise InvalidArgument(msg)


def ps_argv(ps_args: str, pids: Sequence[int], *, with_pids: bool = True) -> list[str]:
    """The ps command line Docker runs: the args split on single spaces, then ``-q pid,pid``."""
    argv = ["ps", *ps_args.split(" ")]
    if with_pids:
        argv.append("-q" + ",".join(str(p) for p in pids))
    return argv


def _append(processes: list[list[str]], titles: list[str], fields: list[str]) -> None:
    # Merge the overhanging fields (the command's arguments) into the last column.
    n = len(titles) - 1
    processes.append([*fields[:n], " ".join(fields[n:])])


def parse_ps_output(output: str, pids: Sequence[int]) -> dict[str, Any]:
    """moby's parsePSOutput: keep the container's lines (and their ``-`` thread lines).

    Raises:
        RuntimeFailed: no PID column, or a PID that is not a number.
    """
    lines = output.split("\n")
    titles = lines[0].split()
    try:
        pid_index = titles.index("PID")
    except ValueError:
        msg = "Couldn't find PID field in ps output"
        raise RuntimeFailed(msg) from None
    wanted = set(pids)
    processes: list[list[str]] = []
    previous_in = False
    for line in lines[1:]:
        if not line:
            continue
        fields = line.split()
        if pid_index >= len(fields):
            continue
        if fields[pid_index] == "-":
            if previous_in:
                _append(processes, titles, fields)
            continue
        try:
            pid = int(fields[pid_index])
        except ValueError:
            msg = f"Unexpected pid '{fields[pid_index]}'"
            raise RuntimeFailed(msg) from None
        previous_in = pid in wanted
        if previous_in:
            _append(processes, titles, fields)
    return {"Titles": titles, "Processes": processes}


def parse_cgroup_procs(text: str) -> list[int]:
    """``cgroup.procs``: one pid per line."""
    out = []
    for line in text.split():
        if not line.isascii() or not line.isdigit():
            msg = f"malformed cgroup.procs: {line[:40]!r}"
            raise InvalidArgument(msg)
        out.append(int(line))
    return out


def _psutil_ef(pids: Sequence[int]) -> dict[str, Any]:
    """The ``ps -ef`` columns from psutil, for hosts without a ps binary."""
    import pwd

    import psutil  # type: ignore[import-untyped]

    titles = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    rows = []
    now = time.time()
    for pid in pids:
        try:
            p = psutil.Process(pid)
            with p.oneshot():
                uid = p.uids().real
                try:
                    user = pwd.getpwuid(uid).pw_name
                except KeyError:
                    user = str(uid)
                created = p.create_time()
                times = p.cpu_times()
                cpu = int((times.user + times.system) / max(now - created, 1e-9) * 100)
                stime = time.strftime("%H:%M" if now - created < 86400 else "%b%d", time.localtime(created))
                total = int(times.user + times.system)
                tty = p.terminal() or "?"
                cmd = " ".join(p.cmdline()) or f"[{p.name()}]"
                rows.append([
                    user, str(pid), str(p.ppid()), str(cpu), stime,
                    tty.removeprefix("/dev/"),
                    f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}", cmd,
                ])
        except psutil.Error:
            continue
    return {"Titles": titles, "Processes": rows}


async def container_top(pids: Sequence[int], ps_args: str | None) -> dict[str, Any]:
    """Docker's top of the processes ``pids`` (from the container's cgroup.procs).

    Raises:
        InvalidArgument: ps_args renames a column other than pid.
        RuntimeFailed: ps failed (its first stderr line is the message).
    """
    args = ps_args or DEFAULT_PS_ARGS
    validate_ps_args(args)
    if shutil.which("ps") is None:
        return await trio.to_thread.run_sync(_psutil_ef, list(pids))
    result = await trio.run_process(ps_argv(args, pids), capture_stdout=True, capture_stderr=True, check=False)
    if result.returncode != 0:
        # Some options (f, for one) refuse -q: retry without it, as Docker does.
        result = await trio.run_process(
            ps_argv(args, pids, with_pids=False), capture_stdout=True, capture_stderr=True, check=False
        )
        if result.returncode != 0:
            first = result.stderr.decode(errors="replace").split("\n", 1)[0]
            msg = f"ps: {first or f'exit status {result.returncode}'}"
            raise RuntimeFailed(msg)
    return parse_ps_output(result.stdout.decode(errors="replace"), pids)
