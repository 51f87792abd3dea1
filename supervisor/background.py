"""Background work runs at the lowest CPU priority, so that it yields to starts and their clients.

Some of the daemon's work waits for nobody: refilling the spare network
namespaces, writing container records, deleting removed containers'
directories, deleting veths. It runs in worker threads in the engine's lulls,
but a lull only means the daemon is idle: on a small machine the next
client (a ``docker`` CLI starting up, about 15 ms of CPU) or the next
``runc`` is usually running right then, and competes with it for the cores.

``run_sync`` runs such work in a worker thread at nice 19 (the thread's
priority alone, restored afterwards, so the thread cache stays normal), where
it takes only CPU time nobody else wants. Work that someone waits for (a
start's mount and bundle, a removal's teardown that ``docker rm`` answers
after) keeps the normal priority.

The priority is lowered only where it can be raised back (CAP_SYS_NICE, or
an RLIMIT_NICE that allows it): otherwise a cached worker thread would stay
slow for the critical work it runs later.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import TypeVar

import trio

T = TypeVar("T")

LOW = 19  # nice value of background work


def _can_restore() -> bool:
    """Whether a thread can lower its priority and raise it back (probed in a throwaway thread)."""
    result: list[bool] = []

    def probe() -> None:
        tid = threading.get_native_id()
        try:
            before = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, LOW)
            os.setpriority(os.PRIO_PROCESS, tid, before)
        except OSError:
            result.append(False)
        else:
            result.append(True)

    thread = threading.Thread(target=probe, name="berth-nice-probe")
    thread.start()
    thread.join()
    return result == [True]


@functools.cache
def enabled() -> bool:
    return _can_restore()


def _at_low_priority(fn: Callable[[], T]) -> T:
    tid = threading.get_native_id()
    before = os.getpriority(os.PRIO_PROCESS, tid)
    os.setpriority(os.PRIO_PROCESS, tid, LOW)
    try:
        return fn()
    finally:
        os.setpriority(os.PRIO_PROCESS, tid, before)


async def run_sync(fn: Callable[..., T], *args: object) -> T:
    """``trio.to_thread.run_sync(fn, *args)`` at the lowest CPU priority (where it can be undone)."""
    call = functools.partial(fn, *args)
    if not enabled():
        return await trio.to_thread.run_sync(call)
    return await trio.to_thread.run_sync(_at_low_priority, call)
