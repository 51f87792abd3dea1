"""Background work runs at nice 19 in a worker thread, and the thread gets its priority back."""

from __future__ import annotations

import os
import threading

import pytest
import trio

from supervisor import background


def _where() -> tuple[int, int]:
    tid = threading.get_native_id()
    return tid, os.getpriority(os.PRIO_PROCESS, tid)


async def test_background_work_runs_at_the_lowest_priority_then_the_thread_is_restored() -> None:
    if not background.enabled():
        pytest.skip("this process cannot raise a thread's priority back (no CAP_SYS_NICE)")
    tid, nice = await background.run_sync(_where)
    assert nice == background.LOW
    # The worker thread went back to the cache with its own priority again.
    assert os.getpriority(os.PRIO_PROCESS, tid) == 0
    _, after = await trio.to_thread.run_sync(_where)
    assert after == 0


async def test_results_and_errors_pass_through() -> None:
    assert await background.run_sync(pow, 2, 10) == 1024
    with pytest.raises(ZeroDivisionError):
        await background.run_sync(divmod, 1, 0)
    tid, nice = await trio.to_thread.run_sync(_where)
    assert nice == 0
