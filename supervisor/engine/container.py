"""The live side of one container: its record plus what exists only while the daemon runs.

``Container`` holds no policy; the engine changes it through the pure
transitions of ``state.py`` and persists every change through the store.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import trio

from supervisor._logging import get_logger
from supervisor.engine.model import ContainerRecord, State
from supervisor.engine.output import OutputFanout
from supervisor.engine.runtime import RuntimeProcess
from supervisor.errors import InvalidArgument
from supervisor.logs.container_log import ContainerLog
from supervisor.restart.labels import DEFAULT_TUNING, RestartTuning, parse_restart_labels
from supervisor.restart.tracker import RestartTracker

if TYPE_CHECKING:
    from supervisor.engine.early import EarlyBundle
    from supervisor.engine.primed import Primed

log = get_logger(__name__)


def restart_tuning(record: ContainerRecord) -> RestartTuning:
    """The container's ``berth.restart*`` labels (validated at create; defaults if unreadable)."""
    try:
        return parse_restart_labels(record.spec.labels)
    except InvalidArgument as exc:
        log.warning("restart labels ignored", container_id=record.id, error=exc.message)
        return DEFAULT_TUNING


@dataclass(eq=False)
class ExitWaiter:
    """One client waiting for an exit or for the removal (``POST /wait``)."""

    event: trio.Event = field(default_factory=trio.Event)
    exit_code: int = 0
    error: str | None = None

    def fire(self, exit_code: int, error: str | None = None) -> None:
        if not self.event.is_set():
            self.exit_code = exit_code
            self.error = error
            self.event.set()


class Container:
    """A container known to the engine."""

    def __init__(self, record: ContainerRecord) -> None:
        self.record = record
        self.output = OutputFanout()
        self.process: RuntimeProcess | None = None
        self.stdin: trio.lowlevel.FdStream | None = None
        self.lock = trio.Lock()
        self.run_done = trio.Event()  # set while no supervise task runs for it
        self.run_done.set()
        self.exited = trio.Event()  # set when the current run's exit is recorded
        self.exited.set()
        self.launched = trio.Event()  # set when a (re)launch has produced a running process
        self.run_started = 0.0
        self.exit_waiters: set[ExitWaiter] = set()
        self.removal_waiters: set[ExitWaiter] = set()
        # The current run is being ended on purpose (stop, kill, restart, shutdown).
        self.stopping = False
        # The current run is being restarted by the API: its exit must not auto-remove.
        self.restarting_by_api = False
        # Restart policy decisions (in memory, seeded with the persisted RestartCount).
        self.tracker = RestartTracker(
            record.spec.restart_policy, restart_tuning(record), record.state.restart_count
        )
        # The backoff sleep before a policy restart; cancelled by stop/kill/rm.
        self.backoff_scope: trio.CancelScope | None = None
        # The exec user of the current run, "uid:gid" (health probes run as it).
        self.exec_user = ""
        # Whether the rootfs may be mounted: unknown (True) for a container found on
        # disk at daemon start, so its removal still unmounts; create sets False.
        self.rootfs_mounted = True
        # The last run's runtime state and cgroups are still there: an auto-removed
        # container's last run leaves them, and its removal clears them once announced.
        self.runtime_leftover = False
        # The rootfs was mounted right after create for the coming start (``early``);
        # ``early_claimed`` is set once a start or a removal has dealt with it.
        self.mounted_early = False
        self.early_claimed: trio.Event | None = None
        # The bundle written with the early mount (``early.EarlyBundle``), its network planned.
        self.early_bundle: EarlyBundle | None = None
        # Made by the runtime with that bundle, its init waiting for the start (``primed``).
        self.primed: Primed | None = None
        # The log store: None for the `none` driver.
        self.log: ContainerLog | None = None

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def state(self) -> State:
        return self.record.state

    def with_state(self, state: State) -> ContainerRecord:
        self.record = dataclasses.replace(self.record, state=state)
        return self.record

    def notify_exit(self, exit_code: int, error: str | None = None) -> None:
        waiters, self.exit_waiters = self.exit_waiters, set()
        for w in waiters:
            w.fire(exit_code, error)

    def notify_removed(self) -> None:
        waiters, self.removal_waiters = self.removal_waiters, set()
        for w in waiters:
            w.fire(self.record.state.exit_code)
