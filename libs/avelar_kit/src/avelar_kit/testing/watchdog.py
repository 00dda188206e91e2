"""A test that hangs says where it hangs.

pytest-timeout fails a test that runs longer than ``timeout`` (pyproject) and the run goes on,
instead of the whole suite waiting for CI's own limit. Its report shows the main thread's stack,
which for an asyncio test is only the event loop waiting in ``select``. So earlier, at
``AVELAR_TEST_WATCHDOG`` seconds (default: half the timeout), this watchdog writes every
thread's stack and every asyncio task's stack of the session's loop to stderr; that goes into
the failed test's report ("Captured stderr").
"""

from __future__ import annotations

import asyncio
import faulthandler
import sys
import threading
from typing import Any


def _running_loops() -> list[asyncio.AbstractEventLoop]:
    """The event loops running now, in any thread: found among live objects, which is slow but
    needs no fixture (an autouse async fixture would break runs without pytest-asyncio's auto
    mode), and this runs once per hung test."""
    import gc

    return [o for o in gc.get_objects()
            if isinstance(o, asyncio.AbstractEventLoop) and o.is_running()]


def _awaited_frames(coro: Any) -> list[str]:
    """Where a suspended coroutine waits, down its whole chain of awaits (``Task.print_stack``
    shows only the outermost frame of a suspended coroutine)."""
    lines = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            lines.append(f"  {frame.f_code.co_filename}:{frame.f_lineno} in "
                         f"{frame.f_code.co_name}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return lines


def _dump_tasks(loop: asyncio.AbstractEventLoop) -> None:
    for task in asyncio.all_tasks(loop):
        state = "cancelling" if task.cancelling() else "pending"
        sys.stderr.write(f"--- asyncio task {task.get_name()} ({state})\n")
        sys.stderr.write("\n".join(_awaited_frames(task.get_coro())) + "\n")
    sys.stderr.flush()


def _dump(nodeid: str, after: float) -> None:
    sys.stderr.write(f"\n[watchdog] {nodeid} still running after {after:.0f} s: "
                     "stacks of every thread, then of every asyncio task\n")
    sys.stderr.flush()
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    for loop in _running_loops():
        loop.call_soon_threadsafe(_dump_tasks, loop)


def start(nodeid: str, after: float) -> Any:
    timer = threading.Timer(after, _dump, args=(nodeid, after))
    timer.daemon = True
    timer.start()
    return timer
