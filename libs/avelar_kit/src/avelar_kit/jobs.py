"""Scheduled jobs: run inside the service on a timer, one replica at a time, or once from the
command line (a Kubernetes CronJob). And ``stop_task``, the one way a background loop of the kit
or of a module (relay, consumer, dispatcher, worker, timers) is stopped.

Each run takes a PostgreSQL session advisory lock named after the job on a connection of its
own (``pg_try_advisory_lock``): of several replicas whose timers fire together, one runs the job
and the others skip that round. The lock goes with the connection, so a replica that dies
mid-run frees it. The CLI entry takes the same lock, so a CronJob and a timer never overlap.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger("avelar_kit.jobs")

JobFn = Callable[[], Awaitable[Any]]


async def stop_task(task: asyncio.Task[Any] | None, *, grace: float = 1.0,
                    attempts: int = 10) -> None:
    """Cancel a background loop and wait until it has ended; its own errors are raised.

    One ``cancel()`` is not always enough on Python 3.11: redis-py 8 puts every command under a
    5 s socket timeout (``asyncio.wait_for``), and before 3.12 ``wait_for`` can swallow a
    cancellation that arrives as the inner await completes (CPython gh-86296; the same hang is
    redis-py 8 + 3.11 in eggai-tech/EggAI#267). The loop then goes on, in the cancelling state,
    and whoever awaits it waits for ever: the two-replica consumer test hung 80 minutes in CI
    that way. So the cancel is repeated every ``grace`` seconds."""
    if task is None:
        return
    for attempt in range(attempts):
        if task.done():
            break
        if attempt:
            logger.warning("task %s went on after a cancellation; cancelled again",
                           task.get_name())
        task.cancel()
        await asyncio.wait({task}, timeout=grace)
    if not task.done():
        logger.error("task %s still running after %d cancellations; left behind",
                     task.get_name(), attempts)
        return
    with contextlib.suppress(asyncio.CancelledError):
        await task


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a job name."""
    return int.from_bytes(hashlib.sha256(f"avelar-job:{name}".encode()).digest()[:8], "big",
                          signed=True)


@dataclass
class JobResult:
    name: str
    ran: bool  # False: another replica held the lock
    result: Any = None


async def run_locked(engine: AsyncEngine, name: str, fn: JobFn) -> JobResult:
    """Run ``fn`` once if no one else is running the job ``name`` right now."""
    key = lock_key(name)
    async with engine.connect() as conn:
        got = bool(await conn.scalar(select(func.pg_try_advisory_lock(key))))
        await conn.commit()
        if not got:
            logger.info("job %s: running elsewhere, skipped", name)
            return JobResult(name, ran=False)
        try:
            return JobResult(name, ran=True, result=await fn())
        finally:
            await conn.scalar(select(func.pg_advisory_unlock(key)))
            await conn.commit()


@dataclass
class ScheduledJob:
    name: str
    interval: float  # seconds between runs; the first run comes one interval after start
    fn: JobFn


class JobRunner:
    """Runs each job every ``interval`` seconds under its advisory lock; an error is logged and
    the job runs again at the next tick."""

    def __init__(self, engine: AsyncEngine, jobs: list[ScheduledJob]) -> None:
        self.engine = engine
        self.jobs = jobs
        self._tasks: list[asyncio.Task[None]] = []

    async def _loop(self, job: ScheduledJob) -> None:
        while True:
            await asyncio.sleep(job.interval)
            try:
                outcome = await run_locked(self.engine, job.name, job.fn)
                if outcome.ran:
                    logger.info("job %s: %s", job.name, outcome.result)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("job %s failed; next try in %ss", job.name, job.interval)

    async def start(self) -> None:
        for job in self.jobs:
            if job.interval > 0:
                self._tasks.append(asyncio.create_task(self._loop(job), name=f"job:{job.name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            await stop_task(task)
        self._tasks.clear()
