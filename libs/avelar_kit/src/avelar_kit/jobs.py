"""Scheduled jobs: run inside the service on a timer, one replica at a time, or once from the
command line (a Kubernetes CronJob).

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
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
