"""A consumer process for the crash test: the partner module's consumer (cache invalidation plus
its own ``account.plan_changed`` handler), slowed down so that a kill lands mid-batch.

Usage: python consumer_proc.py DB_URL REDIS_URL STREAM GROUP CONSUMER_NAME"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "partner_module"))

import redis.asyncio as aioredis
from partner_module.events import on_plan_changed
from partner_module.models import HandledEvent
from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.db.session import Database
from avelar_kit.events import EventEnvelope, StreamConsumer


async def slow_handler(event: EventEnvelope, session: AsyncSession) -> None:
    if event.type == "account.plan_changed":
        await on_plan_changed(event, session)
        await session.flush()
    await asyncio.sleep(0.15)  # the row is written; the commit and the ack are still to come


async def main() -> None:
    db_url, redis_url, stream, group, name = sys.argv[1:6]
    db = Database(db_url, pool_size=2)
    redis = aioredis.Redis.from_url(redis_url)
    consumer = StreamConsumer(redis, stream=stream, group=group, consumer_name=name,
                              handler=slow_handler, sessionmaker=db.sessionmaker,
                              handled_model=HandledEvent, batch_size=50, block_ms=100,
                              claim_idle_ms=500, sweep_interval=0.5)
    await consumer.ensure_group()
    print("ready", flush=True)
    await consumer.run()


if __name__ == "__main__":
    asyncio.run(main())
