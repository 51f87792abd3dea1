"""The worker-thread half of a sampler tick: find, read and parse every container's files.

Rules:
- One call of ``TickReader.collect`` reads /proc/stat once and then every
  target's cgroup files and net/dev; it runs in a worker thread (one thread hop
  per tick for all containers) and returns plain frozen samples.
- Reads are raw syscalls on kernfs/procfs files kept open between ticks
  (``HostFiles``): no Python file objects; a missing file reads as None.
- A container whose cgroup vanished between listing and reading (it exited)
  is skipped for this tick, not reported as zeros; a malformed file is an
  ``InvalidArgument`` recorded per container, never a crashed tick.
- Per-run facts (the cgroup file paths, whether the init has its own network
  namespace) are computed once per (id, pid) and cached.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from supervisor.engine.cgroups import UNIFIED, CgroupLayout, container_cgroup_dirs
from supervisor.errors import InvalidArgument
from supervisor.stats import cgroup_v1, cgroup_v2
from supervisor.stats.figures import figures_v1, figures_v2
from supervisor.stats.model import CgroupUsage, NetCounters, Sample, SystemCpu, Target
from supervisor.stats.netdev import parse_net_dev
from supervisor.stats.procstat import parse_mem_total, parse_proc_stat

_READ_SIZE = 65536


class FileSource(Protocol):
    """Where a tick's texts come from: the host (``HostFiles``) or a fake in tests.

    ``blocking`` False (an in-memory fake) lets the sampler read without a
    worker thread; real files are always read in one.
    """

    blocking: bool

    def read(self, path: str) -> str | None:
        """The file's text, or None if it does not exist (or vanished)."""

    def read_once(self, path: str) -> str | None:
        """As ``read``, without the sampler's per-file state: safe from the trio thread at any time."""

    def now_ns(self) -> int:
        """Wall-clock unix nanoseconds (Docker's ``read``)."""

    def netns(self, pid: int) -> int | None:
        """An id of ``pid``'s network namespace (None: unknown); ``netns(0)`` is the daemon's own."""

    def release(self, paths: Iterable[str]) -> None:
        """Forget per-file state (kept fds) of a run that ended."""


class HostFiles:
    """The real host: procfs and cgroupfs, each file kept open and re-read with ``pread(fd, 0)``.

    cgroup and proc stat files are seq_files: reading again from offset 0
    regenerates their content, so one syscall per file per tick replaces
    open + read + close (a third of the cost). An open fd does not stop runc
    from removing the cgroup (kernfs answers ENODEV afterwards) and is closed
    when the run ends (``release``). At most ``budget`` fds are kept (a quarter
    of the soft RLIMIT_NOFILE); beyond that files are opened per read.
    """

    blocking = True

    def __init__(self, budget: int | None = None) -> None:
        if budget is None:
            soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
            budget = 0 if soft == resource.RLIM_INFINITY else soft // 4
            if soft == resource.RLIM_INFINITY:
                budget = 1 << 16
        self.budget = budget
        self._fds: dict[str, int] = {}

    def read(self, path: str) -> str | None:
        fd = self._fds.get(path)
        if fd is not None:
            try:
                data = os.pread(fd, _READ_SIZE, 0)
            except OSError:
                data = None  # ENODEV / ESRCH: gone
            if data is not None and len(data) < _READ_SIZE:
                return data.decode("utf-8", "replace")
            del self._fds[path]
            os.close(fd)
            if data is None:
                return None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError, ProcessLookupError, PermissionError):
            return None
        keep = False
        try:
            chunks = []
            while chunk := os.read(fd, _READ_SIZE):
                chunks.append(chunk)
                if len(chunk) < _READ_SIZE:
                    break
            data = b"".join(chunks)
            keep = len(data) < _READ_SIZE and len(self._fds) < self.budget
        except OSError:
            return None
        finally:
            if keep:
                self._fds[path] = fd
            else:
                os.close(fd)
        return data.decode("utf-8", "replace")

    def read_once(self, path: str) -> str | None:
        """Open, read, close: no kept fd, so no race with a tick in a worker thread.

        Only for procfs and cgroupfs files, which live in kernel memory: reading
        one costs microseconds, never a disk wait, so callers may do it inline.
        """
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError, ProcessLookupError, PermissionError):
            return None
        try:
            chunks = []
            while chunk := os.read(fd, _READ_SIZE):
                chunks.append(chunk)
        except OSError:
            return None
        finally:
            os.close(fd)
        return b"".join(chunks).decode("utf-8", "replace")

    def release(self, paths: Iterable[str]) -> None:
        """Close the kept fds of these paths (a run ended)."""
        for path in paths:
            fd = self._fds.pop(path, None)
            if fd is not None:
                os.close(fd)

    def close(self) -> None:
        self.release(list(self._fds))

    def now_ns(self) -> int:
        return time.time_ns()

    def netns(self, pid: int) -> int | None:
        try:
            return os.stat(f"/proc/{pid or 'self'}/ns/net").st_ino
        except OSError:
            return None


@dataclass(frozen=True, slots=True)
class _RunFiles:
    """Per (id, pid): every file to read (name, path) and where net/dev is (None: host netns)."""

    v2: bool
    files: tuple[tuple[str, str], ...]
    net_dev: str | None


@dataclass(frozen=True, slots=True)
class TickResult:
    """One tick's outcome: the host figures and one sample or error per target read."""

    system: SystemCpu | None
    samples: dict[str, Sample]
    errors: dict[str, str]


class TickReader:
    """Reads whole ticks. Not thread-safe: one tick at a time (the sampler guarantees it)."""

    def __init__(self, layout: CgroupLayout, files: FileSource) -> None:
        self.layout = layout
        self.files = files
        self._runs: dict[tuple[str, int], _RunFiles] = {}
        self._cfq: bool | None = None
        self._own_netns = files.netns(0)

    def mem_total(self) -> int:
        """The host's MemTotal in bytes (0 if /proc/meminfo cannot be read)."""
        text = self.files.read("/proc/meminfo")
        try:
            return parse_mem_total(text) if text is not None else 0
        except InvalidArgument:
            return 0

    def _run_files(self, t: Target) -> _RunFiles:
        key = (t.id, t.pid)
        run = self._runs.get(key)
        if run is not None:
            return run
        dirs = container_cgroup_dirs(self.layout, t.cgroups_path)
        v2 = self.layout.version.is_v2
        if v2:
            base = str(dirs[UNIFIED])
            files = tuple((name, f"{base}/{name}") for name in cgroup_v2.FILES)
        else:
            if self._cfq is None:
                blkio = dirs.get("blkio")
                self._cfq = blkio is not None and self.files.read(
                    f"{blkio}/{cgroup_v1.CFQ_PROBE}"
                ) is not None
            files = tuple(
                (name, f"{dirs[controller]}/{name}")
                for controller, name in cgroup_v1.files(self._cfq)
                if controller in dirs
            )
        net_dev = None
        if t.pid > 0:
            ns = self.files.netns(t.pid)
            if ns is not None and ns != self._own_netns:
                net_dev = f"/proc/{t.pid}/net/dev"
        run = self._runs[key] = _RunFiles(v2, files, net_dev)
        return run

    def _read_one(self, t: Target, system: SystemCpu) -> Sample | None:
        run = self._run_files(t)
        read = self.files.read
        texts = {name: read(path) for name, path in run.files}
        if all(text is None for text in texts.values()):
            return None  # the cgroup is gone: the container exited after it was listed
        net_text = read(run.net_dev) if run.net_dev is not None else None
        hint = t.memory_limit_hint
        v2 = run.v2
        # Only the figures are extracted now; the whole parse waits for someone to ask.
        figures = (figures_v2 if v2 else figures_v1)(texts, net_text, hint)

        def parse() -> tuple[CgroupUsage, dict[str, NetCounters] | None]:
            usage = cgroup_v2.usage_from_texts(texts) if v2 else cgroup_v1.usage_from_texts(texts)
            if hint and texts.get("memory.max" if v2 else "memory.limit_in_bytes") is None:
                usage = replace(usage, memory=replace(usage.memory, limit=hint))
            networks = (parse_net_dev(net_text) or None) if net_text is not None else None
            return usage, networks

        return Sample(self.files.now_ns(), system, figures=figures, parse=parse)

    def collect(self, targets: Sequence[Target]) -> TickResult:
        """Read one tick for every target (call in a worker thread)."""
        stat = self.files.read("/proc/stat")
        try:
            system = parse_proc_stat(stat) if stat is not None else None
        except InvalidArgument:
            system = None
        samples: dict[str, Sample] = {}
        errors: dict[str, str] = {}
        if system is None:
            return TickResult(None, samples, dict.fromkeys((t.id for t in targets), "/proc/stat unreadable"))
        live = set()
        for t in targets:
            live.add((t.id, t.pid))
            try:
                sample = self._read_one(t, system)
            except InvalidArgument as exc:
                errors[t.id] = exc.message
                continue
            if sample is not None:
                samples[t.id] = sample
        for key in [k for k in self._runs if k not in live]:
            run = self._runs.pop(key)
            paths = [path for _, path in run.files]
            if run.net_dev is not None:
                paths.append(run.net_dev)
            self.files.release(paths)
        return TickResult(system, samples, errors)

    def read_oom_kills(self, t: Target) -> int | None:
        """The current ``oom_kill`` counter of ``t``'s cgroup (None: no memory controller/gone).

        One cgroupfs file read with ``read_once``: callers run it inline in the
        trio thread (a worker-thread hop would cost more than the read).
        """
        dirs = container_cgroup_dirs(self.layout, t.cgroups_path)
        if self.layout.version.is_v2:
            text = self.files.read_once(f"{dirs[UNIFIED]}/memory.events")
            return None if text is None else cgroup_v2.oom_kills(text)
        memory = dirs.get("memory")
        text = None if memory is None else self.files.read_once(f"{memory}/memory.oom_control")
        return None if text is None else cgroup_v1.oom_kills(text)
