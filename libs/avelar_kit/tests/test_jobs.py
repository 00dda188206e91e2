"""The scheduled-job runner: one runner at a time per job, through a PostgreSQL advisory lock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from avelar_kit.jobs import JobRunner, ScheduledJob, lock_key, run_locked


@pytest.fixture
async def engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(pg_url, poolclass=NullPool)
    try:
        yield eng
    finally:
        await eng.dispose()


def test_lock_keys_are_stable_and_distinct() -> None:
    assert lock_key("dunning") == lock_key("dunning")
    assert lock_key("dunning") != lock_key("prune-outbox")
    assert -(2**63) <= lock_key("dunning") < 2**63


async def test_a_second_replica_skips_while_the_first_runs_then_runs_after(
    engine: AsyncEngine,
) -> None:
    name = f"test-job-{uuid.uuid4().hex[:8]}"
    started, release = asyncio.Event(), asyncio.Event()

    async def slow() -> str:
        started.set()
        await release.wait()
        return "first"

    async def quick() -> str:
        return "second"

    first = asyncio.create_task(run_locked(engine, name, slow))
    await started.wait()
    skipped = await run_locked(engine, name, quick)
    assert not skipped.ran and skipped.result is None
    other = await run_locked(engine, f"{name}-other", quick)
    assert other.ran, "another job's lock is independent"
    release.set()
    assert (await first).result == "first"
    again = await run_locked(engine, name, quick)
    assert again.ran and again.result == "second"


async def test_the_lock_is_released_when_the_job_fails(engine: AsyncEngine) -> None:
    name = f"test-job-{uuid.uuid4().hex[:8]}"

    async def boom() -> None:
        raise RuntimeError("falhou")

    with pytest.raises(RuntimeError):
        await run_locked(engine, name, boom)

    async def ok() -> int:
        return 1

    assert (await run_locked(engine, name, ok)).ran


async def test_the_runner_repeats_a_job_and_survives_its_errors(engine: AsyncEngine) -> None:
    runs: list[int] = []
    done = asyncio.Event()

    async def job() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("primeira falha")
        if len(runs) >= 3:
            done.set()

    runner = JobRunner(engine, [ScheduledJob(f"test-job-{uuid.uuid4().hex[:8]}", 0.01, job),
                                ScheduledJob("disabled", 0, job)])
    await runner.start()
    try:
        await asyncio.wait_for(done.wait(), 30)
    finally:
        await runner.stop()
    assert len(runs) >= 3
