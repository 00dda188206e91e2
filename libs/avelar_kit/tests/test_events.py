"""Outbox relay and stream consumer against real PostgreSQL and Redis.

The tables are test-only (no service owns them), so this test database is built with
``create_all`` from the mixins rather than from a service's migrations."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import ForeignKey, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from avelar_kit.db.base import make_metadata
from avelar_kit.events import (
    EventEnvelope,
    HandledEventMixin,
    OutboxMixin,
    OutboxRelay,
    StreamConsumer,
    record_event,
)


class Base(DeclarativeBase):
    metadata = make_metadata()


class OutboxEvent(OutboxMixin, Base):
    __tablename__ = "outbox_events"


class HandledEvent(HandledEventMixin, Base):
    __tablename__ = "handled_events"


class Effect(Base):
    """What a handler does; deliberately not unique, so a double handling would show."""

    __tablename__ = "effects"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("handled_events.event_id"), index=True)


@pytest.fixture(scope="session")
def events_db_url(pg_url: str) -> Iterator[str]:
    from avelar_devstack.embedded import drop_database, ensure_database, with_database

    url = with_database(pg_url, f"test_kit_events_{uuid.uuid4().hex[:8]}")
    ensure_database(url)
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture
async def sm(events_db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(events_db_url, pool_size=5)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        await conn.execute(text("TRUNCATE outbox_events, effects, handled_events"))
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


@pytest.fixture
def stream() -> str:
    return f"test:events:{uuid.uuid4().hex[:8]}"


async def _record(sm: async_sessionmaker[AsyncSession], n: int, *, commit: bool = True) -> None:
    async with sm() as session:
        for i in range(n):
            record_event(session, OutboxEvent, "user.updated", {"user_id": str(uuid.uuid4()),
                                                                "i": i})
        if commit:
            await session.commit()
        else:
            await session.rollback()


async def test_relay_publishes_committed_events_once_in_the_contract_envelope(
    sm: Any, redis: Any, stream: str
) -> None:
    await _record(sm, 3)
    await _record(sm, 2, commit=False)  # rolled back with its change: never published
    relay = OutboxRelay(sm, redis, model=OutboxEvent, stream=stream, source="AvAdmin",
                        batch_size=2)
    assert await relay.publish_pending() == 2
    assert await relay.publish_pending() == 1
    assert await relay.publish_pending() == 0
    entries = await redis.xrange(stream)
    assert len(entries) == 3
    envelope = json.loads(entries[0][1][b"event"])
    assert set(envelope) == {"id", "type", "occurred_at", "source", "schema_version", "data"}
    assert envelope["source"] == "AvAdmin" and envelope["schema_version"] == 1
    assert envelope["type"] == "user.updated" and envelope["data"]["i"] == 0
    async with sm() as session:
        unpublished = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(
                OutboxEvent.published_at.is_(None)))
    assert unpublished == 0
    await redis.delete(stream)


async def test_two_relays_share_the_work_without_publishing_twice(
    sm: Any, redis: Any, stream: str
) -> None:
    await _record(sm, 60)
    relays = [OutboxRelay(sm, redis, model=OutboxEvent, stream=stream, batch_size=5)
              for _ in range(2)]

    async def drain(relay: OutboxRelay) -> None:
        while await relay.publish_pending():  # noqa: ASYNC110
            await asyncio.sleep(0)

    await asyncio.gather(*(drain(r) for r in relays))
    entries = await redis.xrange(stream)
    ids = [json.loads(f[b"event"])["id"] for _, f in entries]
    assert len(ids) == 60 and len(set(ids)) == 60
    await redis.delete(stream)


async def test_relay_task_runs_in_background_and_stops(sm: Any, redis: Any, stream: str) -> None:
    relay = OutboxRelay(sm, redis, model=OutboxEvent, stream=stream, poll_interval=0.05)
    await relay.start()
    try:
        await _record(sm, 4)
        for _ in range(100):
            if await redis.xlen(stream) == 4:
                break
            await asyncio.sleep(0.05)
        assert await redis.xlen(stream) == 4
    finally:
        await relay.stop()
    await redis.delete(stream)


def _consumer(redis: Any, sm: Any, stream: str, handler: Any, name: str = "c1",
              **kw: Any) -> StreamConsumer:
    return StreamConsumer(redis, stream=stream, group="g", consumer_name=name, handler=handler,
                          sessionmaker=sm, handled_model=HandledEvent, block_ms=50, **kw)


async def _effect(event: EventEnvelope, session: AsyncSession) -> None:
    session.add(Effect(event_id=event.id))


async def _effects(sm: Any) -> dict[uuid.UUID, int]:
    async with sm() as session:
        rows = await session.execute(
            select(Effect.event_id, func.count()).group_by(Effect.event_id))
        return {eid: n for eid, n in rows.all()}


def _envelope(event_type: str = "user.updated", eid: uuid.UUID | None = None) -> str:
    return json.dumps({"id": str(eid or uuid.uuid4()), "type": event_type,
                       "occurred_at": "2025-01-01T00:00:00+00:00", "source": "AvAdmin",
                       "schema_version": 1, "data": {}})


async def test_redelivered_event_changes_nothing(sm: Any, redis: Any, stream: str) -> None:
    eid = uuid.uuid4()
    consumer = _consumer(redis, sm, stream, _effect)
    await consumer.ensure_group()
    for _ in range(3):  # a relay that crashed before marking publishes the same event again
        await redis.xadd(stream, {"event": _envelope(eid=eid)})
    assert await consumer.poll() == 3
    assert await _effects(sm) == {eid: 1}
    assert consumer.handled == 1 and consumer.duplicates == 2
    assert (await redis.xpending(stream, "g"))["pending"] == 0
    await redis.delete(stream)


async def test_a_type_the_consumer_does_not_act_on_is_acknowledged_without_a_transaction(
    sm: Any, redis: Any, stream: str
) -> None:
    sessions = 0

    def counting() -> Any:
        nonlocal sessions
        sessions += 1
        return sm()

    consumer = _consumer(redis, counting, stream, _effect, event_types={"sale.completed"})
    await consumer.ensure_group()
    wanted = uuid.uuid4()
    for event_type in ("sale.created", "sale.completed", "sale.cancelled"):
        await redis.xadd(stream, {"event": _envelope(
            event_type, eid=wanted if event_type == "sale.completed" else None)})
    assert await consumer.poll() == 3
    assert sessions == 1  # the one event acted on; the other two opened nothing
    assert await _effects(sm) == {wanted: 1}
    async with sm() as session:  # only the event acted on left a handled-events row
        assert await session.scalar(select(func.count()).select_from(HandledEvent)) == 1
    assert consumer.handled == 1 and consumer.skipped == 2
    assert (await redis.xpending(stream, "g"))["pending"] == 0
    await redis.delete(stream)


async def test_a_skipped_type_is_acknowledged_even_behind_a_failed_event_of_its_company(
    sm: Any, redis: Any, stream: str
) -> None:
    """Ordering holds back the acted-on events of a company behind its failed one; a type the
    consumer does not act on changes nothing, so it is acknowledged, not held back."""
    async def failing(event: EventEnvelope, session: AsyncSession) -> None:
        raise RuntimeError("handler bug")

    consumer = _consumer(redis, sm, stream, failing, event_types={"sale.completed"})
    await consumer.ensure_group()
    company = str(uuid.uuid4())

    def of_company(event_type: str) -> str:
        return json.dumps({"id": str(uuid.uuid4()), "type": event_type,
                           "occurred_at": "2025-01-01T00:00:00+00:00", "source": "StockTech",
                           "schema_version": 1, "data": {"account_id": company}})

    for event_type in ("sale.completed", "sale.created", "sale.completed"):
        await redis.xadd(stream, {"event": of_company(event_type)})
    assert await consumer.poll() == 3
    assert consumer.skipped == 1 and consumer.held_back == 1
    assert (await redis.xpending(stream, "g"))["pending"] == 2  # the failed one, the held one
    await redis.delete(stream)


async def test_failed_handler_is_not_acked_and_retried_then_dead_lettered(
    sm: Any, redis: Any, stream: str
) -> None:
    attempts = {"n": 0}

    async def flaky(event: EventEnvelope, session: AsyncSession) -> None:
        session.add(Effect(event_id=event.id))
        await session.flush()
        attempts["n"] += 1
        if event.type == "always.fails" or attempts["n"] < 2:
            raise RuntimeError("handler bug")

    consumer = _consumer(redis, sm, stream, flaky, max_attempts=3)
    await consumer.ensure_group()
    ok_id = uuid.uuid4()
    await redis.xadd(stream, {"event": _envelope(eid=ok_id)})
    await consumer.poll()
    assert await _effects(sm) == {}  # rolled back with the handled-id row
    assert (await redis.xpending(stream, "g"))["pending"] == 1
    await consumer.sweep()
    assert await _effects(sm) == {ok_id: 1}
    assert (await redis.xpending(stream, "g"))["pending"] == 0

    await redis.xadd(stream, {"event": _envelope("always.fails")})
    await redis.xadd(stream, {"event": "not json"})
    await consumer.poll()
    await consumer.sweep()
    await consumer.sweep()
    assert (await redis.xpending(stream, "g"))["pending"] == 0
    dead = await redis.xrange(f"{stream}:dead")
    assert sorted(f[b"reason"] for _, f in dead) == [b"RuntimeError", b"unreadable"]
    await redis.delete(stream, f"{stream}:dead")


async def test_consumer_killed_mid_batch_then_claimed_handles_each_once(
    sm: Any, redis: Any, stream: str
) -> None:
    async def slow(event: EventEnvelope, session: AsyncSession) -> None:
        session.add(Effect(event_id=event.id))
        await asyncio.sleep(0.02)

    ids = [uuid.uuid4() for _ in range(30)]
    for eid in ids:
        await redis.xadd(stream, {"event": _envelope(eid=eid)})
    first = _consumer(redis, sm, stream, slow, name="dies", batch_size=30)
    await first.start()
    async with asyncio.timeout(10):
        while first.handled < 5:  # noqa: ASYNC110 (polling a counter of another task)
            await asyncio.sleep(0.01)
    await first.stop()  # killed mid-batch: the rest of its batch stays pending under its name
    assert 0 < first.handled < 30
    second = _consumer(redis, sm, stream, slow, name="survivor", claim_idle_ms=100,
                       sweep_interval=0.1)
    await asyncio.sleep(0.15)
    await second.start()
    for _ in range(200):
        if len(await _effects(sm)) == 30:
            break
        await asyncio.sleep(0.05)
    await second.stop()
    assert await _effects(sm) == dict.fromkeys(ids, 1)
    assert (await redis.xpending(stream, "g"))["pending"] == 0
    await redis.delete(stream)


async def test_a_database_connection_lost_mid_handler_is_retried_not_dead_lettered(
    sm: Any, redis: Any, stream: str
) -> None:
    """A restart or failover of the module's database kills the connection under the handler
    (SQLAlchemy raises InternalError/DBAPIError with ``connection_invalidated``, not an
    OperationalError): an outage, not the event's fault, so it must not use up the event's
    attempts and end in the dead-letter stream with its cache invalidation never done."""
    calls = {"n": 0}

    async def killed_once(event: EventEnvelope, session: AsyncSession) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        session.add(Effect(event_id=event.id))

    consumer = _consumer(redis, sm, stream, killed_once, max_attempts=1)
    await consumer.ensure_group()
    eid = uuid.uuid4()
    await redis.xadd(stream, {"event": _envelope(eid=eid)})
    with pytest.raises(Exception) as info:
        await consumer.poll()
    assert getattr(info.value, "connection_invalidated", False)
    assert await redis.xlen(f"{stream}:dead") == 0
    assert (await redis.xpending(stream, "g"))["pending"] == 1
    await consumer.sweep()
    assert await _effects(sm) == {eid: 1}
    assert (await redis.xpending(stream, "g"))["pending"] == 0
    await redis.delete(stream, f"{stream}:dead")


async def test_the_consumer_loop_survives_an_unexpected_error(
    sm: Any, redis: Any, stream: str
) -> None:
    consumer = _consumer(redis, sm, stream, _effect, sweep_interval=0.05)
    real_sweep = consumer.sweep
    failures = {"n": 0}

    async def sweep_failing_once() -> int:
        if failures["n"] == 0:
            failures["n"] += 1
            raise RuntimeError("a bug outside the handler")
        return await real_sweep()

    consumer.sweep = sweep_failing_once  # type: ignore[method-assign]
    await consumer.start()
    try:
        eid = uuid.uuid4()
        await redis.xadd(stream, {"event": _envelope(eid=eid)})
        for _ in range(100):
            if await _effects(sm):
                break
            await asyncio.sleep(0.05)
        assert failures["n"] == 1
        assert await _effects(sm) == {eid: 1}
    finally:
        await consumer.stop()
    await redis.delete(stream)


async def test_a_failed_event_is_not_overtaken_by_a_later_one_of_the_same_company(
    sm: Any, redis: Any, stream: str
) -> None:
    """Issue 9: events of one company in order. A plan change that fails once must not let a
    later plan change of the same company be applied before it; another company's events go
    on."""
    company, other = uuid.uuid4(), uuid.uuid4()
    applied: list[str] = []
    fail_once = {"first": True}

    async def handler(event: EventEnvelope, session: AsyncSession) -> None:
        if event.data.get("plan") == "A" and fail_once["first"]:
            fail_once["first"] = False
            raise RuntimeError("transient bug")
        session.add(Effect(event_id=event.id))
        applied.append(str(event.data["plan"]))

    def plan_event(account: uuid.UUID, plan: str) -> str:
        return json.dumps({"id": str(uuid.uuid4()), "type": "account.plan_changed",
                           "occurred_at": "2025-01-01T00:00:00+00:00", "source": "AvAdmin",
                           "schema_version": 1,
                           "data": {"account_id": str(account), "plan": plan}})

    consumer = _consumer(redis, sm, stream, handler, max_attempts=5)
    await consumer.ensure_group()
    await redis.xadd(stream, {"event": plan_event(company, "A")})
    await redis.xadd(stream, {"event": plan_event(company, "B")})
    await redis.xadd(stream, {"event": plan_event(other, "X")})
    await consumer.poll()
    assert applied == ["X"], "B waits behind the failed A; the other company goes on"
    assert consumer.held_back == 1
    await consumer.sweep()
    assert applied == ["X", "A", "B"]
    assert (await redis.xpending(stream, "g"))["pending"] == 0
    await redis.delete(stream)
