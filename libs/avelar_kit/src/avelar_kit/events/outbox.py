from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import DateTime, Integer, String, delete, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from avelar_kit.db.base import utcnow
from avelar_kit.tracing import event_context

EVENT_SCHEMA_VERSION = 1


class OutboxMixin:
    """Columns of an outbox table. Each producing service declares
    ``class OutboxEvent(OutboxMixin, Base): __tablename__ = "outbox_events"``.

    Rows are written in the same transaction as the change they describe, so an event exists
    if and only if the change was committed; the relay publishes and marks them afterwards.
    """

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    schema_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # The request that wrote the row: ``request_id``, ``traceparent``, ``tracestate`` (carried
    # into the envelope by the relay). NULL for rows written outside a request.
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSONB, nullable=True)


def record_event(
    session: AsyncSession, model: type[OutboxMixin], event_type: str, data: dict[str, Any]
) -> OutboxMixin:
    """Add an event to the outbox in the caller's transaction (it commits with the change)."""
    event = model()
    event.id = uuid.uuid4()
    event.event_type = event_type
    event.payload = data
    event.schema_version = EVENT_SCHEMA_VERSION
    event.created_at = utcnow()
    event.trace_context = event_context()
    session.add(event)
    return event


async def prune_published(
    session: AsyncSession, model: type[OutboxMixin], older_than: timedelta
) -> int:
    """Delete outbox rows published longer ago than ``older_than``; unpublished rows are never
    touched. Returns how many were deleted."""
    m = cast(Any, model)
    result = await session.execute(
        delete(m).where(m.published_at.is_not(None), m.published_at < utcnow() - older_than)
    )
    return int(getattr(result, "rowcount", 0) or 0)
