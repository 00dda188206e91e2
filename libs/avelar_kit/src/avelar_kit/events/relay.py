"""Outbox relay: publishes committed outbox rows to a Redis Stream.

At-least-once by construction: rows are locked (``FOR UPDATE SKIP LOCKED``, so several relay
processes share the work without publishing the same row twice in normal operation), published
with one ``MULTI``/``XADD`` batch, then marked ``published_at`` in the same transaction that
locked them. A crash after the XADD and before the commit publishes the batch again on the next
round; consumers drop the duplicates by event id (see ``consumer.py``).

Run it in the producer's lifespan hooks::

    relay = OutboxRelay(db.sessionmaker, redis, model=OutboxEvent, source="AvAdmin")
    create_service_app(..., on_startup=[start_relay], on_shutdown=[stop_relay])
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from avelar_kit import metrics
from avelar_kit.db.base import utcnow
from avelar_kit.db.tenancy import act_as_system
from avelar_kit.events.envelope import STREAM_FIELD, envelope_from_outbox, stream_name
from avelar_kit.events.outbox import OutboxMixin
from avelar_kit.jobs import stop_task

logger = logging.getLogger("avelar_kit.events")


class OutboxRelay:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: Any,
        *,
        model: type[OutboxMixin],
        source: str = "AvAdmin",
        stream: str | None = None,
        batch_size: int = 100,
        poll_interval: float = 0.2,
        max_backoff: float = 5.0,
        maxlen: int | None = 100_000,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.redis = redis
        self.model = model
        self.source = source
        self.stream = stream or stream_name(source)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        self.maxlen = maxlen
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many events went out."""
        m = cast(Any, self.model)
        async with self.sessionmaker() as session, session.begin():
            # The outbox holds every company's events (row-level security, ADR 0020).
            await act_as_system(session)
            rows = (
                await session.execute(
                    select(m)
                    .where(m.published_at.is_(None))
                    .order_by(m.created_at)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).scalars().all()
            if not rows:
                return 0
            async with self.redis.pipeline(transaction=True) as pipe:
                for row in rows:
                    pipe.xadd(self.stream, {STREAM_FIELD: envelope_from_outbox(row, self.source)},
                              maxlen=self.maxlen, approximate=True)
                await pipe.execute()
            await session.execute(
                update(m)
                .where(m.id.in_([row.id for row in rows]))
                .values(published_at=utcnow(), attempts=m.attempts + 1)
            )
        self.published += len(rows)
        metrics.EVENTS_PUBLISHED.labels(self.source, self.stream).inc(len(rows))
        return len(rows)

    async def run(self) -> None:
        backoff = self.poll_interval
        while True:
            try:
                n = await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("outbox relay to %s failed (%s); retrying in %.1fs",
                               self.stream, type(exc).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(self.max_backoff, backoff * 2)
                continue
            backoff = self.poll_interval
            if n < self.batch_size:
                await asyncio.sleep(self.poll_interval)

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name=f"outbox-relay:{self.stream}")
            metrics.watch_relay(self)
            logger.info("outbox relay publishing to %s", self.stream)

    async def stop(self) -> None:
        metrics.unwatch_relay(self)
        if self._task is not None:
            await stop_task(self._task)
            self._task = None
