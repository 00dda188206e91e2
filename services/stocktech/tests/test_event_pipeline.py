"""StockTech's events through the kit's machinery, with real Redis Streams: the completed
transaction leaves through the outbox relay; AvAdmin's events come in through the stream consumer
(the handlers main.py wires) exactly once."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import redis.asyncio as aioredis
from fastapi import FastAPI

from avelar_kit.avadmin.events import cache_invalidation_handler
from avelar_kit.db.tenancy import act_as_system
from avelar_kit.events.consumer import StreamConsumer
from avelar_kit.events.relay import OutboxRelay
from stocktech.accounts.models import KnownAccount
from stocktech.events.handlers import HANDLERS
from stocktech.events.models import HandledEvent, OutboxEvent
from stocktech.main import _apply

from .conftest import Company


async def test_completed_transaction_reaches_the_stream(
    app: FastAPI, client: httpx.AsyncClient, company: Any, create_product: Any,
    redis_url: str,
) -> None:
    seller: Company = company()
    buyer: Company = company()
    product = await create_product(seller, price="10.00")
    tx = (await client.post("/api/transactions",
                            json={"product_id": product["id"], "quantity": 2},
                            headers=buyer.headers)).json()
    await client.post(f"/api/transactions/{tx['id']}/complete", headers=seller.headers)

    stream = f"test:stocktech:{uuid.uuid4().hex[:8]}"
    redis = aioredis.Redis.from_url(redis_url)
    try:
        relay = OutboxRelay(app.state.db.sessionmaker, redis, model=OutboxEvent,
                            source="StockTech", stream=stream)
        assert await relay.publish_pending() == 2  # the purchase, then its completion
        assert await relay.publish_pending() == 0
        entries = await redis.xrange(stream)
        assert [json.loads(e[1][b"event"])["type"] for e in entries] == [
            "stocktech.transaction.created", "stocktech.transaction.completed"]
        envelope = json.loads(entries[1][1][b"event"])
        assert envelope["type"] == "stocktech.transaction.completed"
        assert envelope["source"] == "StockTech"
        assert envelope["data"]["transaction_id"] == tx["id"]
        assert envelope["data"]["total_amount"] == "20.00"
    finally:
        await redis.delete(stream)
        await redis.aclose()


class Invalidations:
    def __init__(self) -> None:
        self.accounts: list[uuid.UUID] = []

    async def invalidate_user(self, user_id: uuid.UUID) -> None:
        pass

    async def invalidate_account(self, account_id: uuid.UUID) -> None:
        self.accounts.append(account_id)


async def test_avadmin_events_are_applied_once_through_the_consumer(
    app: FastAPI, client: httpx.AsyncClient, company: Any, create_product: Any,
    redis_url: str,
) -> None:
    seller: Company = company()
    buyer: Company = company()
    await create_product(seller)
    stream = f"test:avadmin:{uuid.uuid4().hex[:8]}"
    redis = aioredis.Redis.from_url(redis_url)
    invalidations = Invalidations()
    try:
        consumer = StreamConsumer(
            redis, stream=stream, group="stocktech", consumer_name="test",
            handler=cache_invalidation_handler(invalidations, dict.fromkeys(HANDLERS, _apply)),
            sessionmaker=app.state.db.sessionmaker, handled_model=HandledEvent,
        )
        await consumer.ensure_group()
        event = json.dumps({
            "id": str(uuid.uuid4()), "type": "account.suspended", "source": "AvAdmin",
            "schema_version": 1, "occurred_at": datetime.now(UTC).isoformat(),
            "data": {"account_id": str(seller.account_id)},
        })
        for _ in range(2):  # the same event delivered twice
            await redis.xadd(stream, {"event": event})
        assert await consumer.poll(block_ms=100) == 2
        assert (consumer.handled, consumer.duplicates) == (1, 1)
        assert invalidations.accounts == [seller.account_id]
        async with app.state.db.sessionmaker() as session:
            await act_as_system(session)  # the test looks at every company's rows
            row = await session.get(KnownAccount, seller.account_id)
            assert row is not None and row.status == "suspended"
        listing = await client.get("/api/products", headers=buyer.headers)
        assert listing.json()["total"] == 0
    finally:
        await redis.delete(stream)
        await redis.aclose()
