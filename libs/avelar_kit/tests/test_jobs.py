"""The scheduled-job runner: one runner at a time per job, through a PostgreSQL advisory lock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from avelar_kit.jobs import JobRunner, ScheduledJob, lock_key, run_locked, stop_task


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


async def test_stop_task_ends_a_loop_that_absorbed_the_first_cancellation() -> None:
    """What hung the two-replica consumer test in CI: a cancellation turned into a retried
    read by a library; the loop goes on waiting. stop_task cancels again until it ends."""
    absorbed = 0

    async def stubborn_loop() -> None:
        nonlocal absorbed
        while True:
            try:
                await asyncio.Event().wait()  # a read that never answers
            except asyncio.CancelledError:
                if absorbed < 2:
                    absorbed += 1  # swallowed, as TimeoutError -> retry would
                    continue
                raise

    task = asyncio.create_task(stubborn_loop())
    await asyncio.sleep(0)
    await stop_task(task, grace=0.05)
    assert task.done() and task.cancelled()
    assert absorbed == 2


async def test_stop_task_raises_what_the_loop_died_of_and_accepts_none() -> None:
    async def broken() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(broken())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="boom"):
        await stop_task(task)  # already done: nothing to cancel, but not hidden either
    await stop_task(None)
