"""Issue 9: the breaker counts only AvAdmin's failures; a frozen Redis costs a request its
budget, not the socket's timeouts; reads survive Redis and AvAdmin down at once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from avelar_kit.avadmin.breaker import BreakerOpen, CircuitBreaker, UpstreamFailure
from avelar_kit.avadmin.client import AvAdminClient
from avelar_kit.errors import ServiceUnavailable
from avelar_kit.redis_guard import RedisGuard, RedisUnavailable


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _fail(brk: CircuitBreaker) -> None:
    with pytest.raises(UpstreamFailure):
        async with brk.guard():
            raise UpstreamFailure("x")


async def _ok(brk: CircuitBreaker) -> None:
    async with brk.guard():
        pass


# -- the breaker (ours, fake clock) ------------------------------------------------------------


async def test_breaker_states_with_a_fake_clock() -> None:
    clock = FakeClock()
    brk = CircuitBreaker("t", threshold=3, reset_timeout=30, clock=clock, watch=False)
    await _fail(brk)
    await _fail(brk)
    await _ok(brk)  # a success resets the consecutive count
    assert brk.state == "closed" and brk.failures == 0
    for _ in range(3):
        await _fail(brk)
    assert brk.state == "open"
    with pytest.raises(BreakerOpen) as refused:
        await _ok(brk)
    assert refused.value.retry_after == 30
    clock.now += 29
    assert brk.state == "open"
    clock.now += 1
    assert brk.state == "half_open"
    await _fail(brk)  # the probe failed: open again for a whole reset_timeout
    assert brk.state == "open" and brk.retry_after() == 30
    clock.now += 30
    await _ok(brk)
    assert brk.state == "closed"


async def test_breaker_lets_one_probe_and_a_cancelled_probe_reopens() -> None:
    clock = FakeClock()
    brk = CircuitBreaker("t", threshold=1, reset_timeout=5, clock=clock, watch=False)
    await _fail(brk)
    clock.now += 5
    entered = asyncio.Event()

    async def probe() -> None:
        async with brk.guard():
            entered.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(probe())
    await entered.wait()
    with pytest.raises(BreakerOpen):  # a second call while the probe is in flight
        await _ok(brk)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert brk.state == "open"  # the cancelled probe proved nothing


async def test_only_upstream_failures_count() -> None:
    brk = CircuitBreaker("t", threshold=1, reset_timeout=5, clock=FakeClock(), watch=False)
    for exc in (ValueError("4xx-like answer"), RedisUnavailable("redis")):
        with pytest.raises(type(exc)):
            async with brk.guard():
                raise exc
    task = asyncio.create_task(_hang(brk))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert brk.state == "closed" and brk.failures == 0


async def _hang(brk: CircuitBreaker) -> None:
    async with brk.guard():
        await asyncio.sleep(3600)


# -- our own pool exhausted is not AvAdmin failing -----------------------------------------------


async def test_a_burst_beyond_our_pool_never_opens_the_breaker(
    stub: Any, make_client: Any
) -> None:
    users = [stub.add_company()[1] for _ in range(12)]
    client: AvAdminClient = make_client(max_connections=2, pool_timeout=0.05,
                                        breaker_threshold=2)
    stub.delay = 0.3
    results = await asyncio.gather(*(client.get_user(u) for u in users),
                                   return_exceptions=True)
    stub.delay = 0
    overloaded = [r for r in results if isinstance(r, ServiceUnavailable)]
    assert overloaded, "some calls found no free connection"
    assert all(not isinstance(r, Exception) or isinstance(r, ServiceUnavailable)
               for r in results)
    assert client.breaker_state == "closed" and client.breaker.failures == 0
    # AvAdmin itself never saw more than the pool's calls at once and answered them all.
    assert (await client.get_user(users[-1])) is not None


# -- a frozen Redis ------------------------------------------------------------------------------


@pytest.fixture
async def frozen_redis() -> AsyncIterator[tuple[aioredis.Redis, list[int]]]:
    """A TCP peer that accepts and never answers: Redis under SIGSTOP, as a hung network."""
    accepted = [0]
    writers: list[asyncio.StreamWriter] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted[0] += 1
        writers.append(writer)

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = aioredis.Redis(host="127.0.0.1", port=port, socket_timeout=30,
                            socket_connect_timeout=30, retry=Retry(NoBackoff(), 0))
    try:
        yield client, accepted
    finally:
        for w in writers:
            w.close()
        server.close()
        await client.aclose()


async def test_a_frozen_redis_costs_a_request_its_budget_then_is_not_asked(
    stub: Any, frozen_redis: tuple[aioredis.Redis, list[int]]
) -> None:
    redis, _ = frozen_redis
    _, uid = stub.add_company()
    guard = RedisGuard("T", call_timeout=0.1, request_budget=0.2, threshold=2,
                       reset_timeout=60)
    client = AvAdminClient(stub.url, "stocktech", "s3cret-s3cret-s3cret-s3cret", redis,
                           module=f"T{uuid.uuid4().hex[:6]}", redis_guard=guard)
    try:
        for _ in range(3):
            token = guard.start_request()
            start = time.monotonic()
            try:
                assert (await client.get_user(uid)) is not None
            finally:
                guard.end_request(token)
            # the socket timeout is 30 s: the bound is the guard's, not redis-py's
            assert time.monotonic() - start < 5
        assert guard.state == "open"
        with pytest.raises(RedisUnavailable):  # no call is made while open
            await guard.run(lambda: redis.get("x"))
        # AvAdmin's answer went to the in-process copy: later reads need neither
        assert len(stub.data_requests()) == 1
    finally:
        await client.aclose()


async def test_reads_survive_redis_and_avadmin_down_at_once(
    stub: Any, make_client: Any, frozen_redis: tuple[aioredis.Redis, list[int]]
) -> None:
    _, uid = stub.add_company()
    client: AvAdminClient = make_client()
    assert (await client.get_user(uid)) is not None  # warm: Redis and the in-process copy
    client.cache.redis = frozen_redis[0]
    client.cache.guard = RedisGuard("T", call_timeout=0.05, request_budget=0.2)
    await stub.stop()
    user = await client.get_user(uid)
    assert user is not None and user.id == uid
    # a write inside stale_write_bound is authorised by the fresh copy
    assert (await client.get_user(uid, for_write=True)) is not None
    # an unknown id is not invented
    with pytest.raises(ServiceUnavailable):
        await client.get_user(uuid.uuid4())
