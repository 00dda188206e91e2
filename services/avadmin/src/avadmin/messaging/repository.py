from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from avadmin.messaging.models import MessageStatus, OutgoingMessage
from avadmin.messaging.port import TemplateMessage
from avelar_kit.db.base import utcnow


class OutgoingMessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(self, to_number: str, message: TemplateMessage, *,
                      dedupe_key: str | None = None, expires_at: datetime | None = None,
                      sensitive: bool = False, account_id: uuid.UUID | None = None,
                      conversation_id: str | None = None) -> bool:
        """Add a message to the delivery outbox in the caller's transaction. With a
        ``dedupe_key`` already used nothing is added (returns False): exactly once per cause."""
        stmt = insert(OutgoingMessage).values(
            id=uuid.uuid4(), to_number=to_number, template=message.name,
            language=message.language, components=message.components, sensitive=sensitive,
            status=MessageStatus.pending.value, attempts=0, next_attempt_at=utcnow(),
            expires_at=expires_at, dedupe_key=dedupe_key, account_id=account_id,
            conversation_id=conversation_id, created_at=utcnow(),
        )
        if dedupe_key is not None:
            stmt = stmt.on_conflict_do_nothing(index_elements=[OutgoingMessage.dedupe_key])
        result = await self.session.execute(stmt.returning(OutgoingMessage.id))
        return result.first() is not None

    async def lock_due(self, now: datetime, limit: int) -> Sequence[OutgoingMessage]:
        stmt = (select(OutgoingMessage)
                .where(OutgoingMessage.status == MessageStatus.pending.value,
                       OutgoingMessage.next_attempt_at <= now)
                .order_by(OutgoingMessage.next_attempt_at, OutgoingMessage.created_at)
                .limit(limit).with_for_update(skip_locked=True))
        return (await self.session.scalars(stmt)).all()

    async def for_number(self, to_number: str) -> Sequence[OutgoingMessage]:
        stmt = (select(OutgoingMessage).where(OutgoingMessage.to_number == to_number)
                .order_by(OutgoingMessage.created_at))
        return (await self.session.scalars(stmt)).all()

    async def prune_delivered(self, before: datetime) -> int:
        """Sent and expired messages older than ``before``; dead letters stay for inspection."""
        result = await self.session.execute(
            delete(OutgoingMessage).where(
                OutgoingMessage.status.in_([MessageStatus.sent.value,
                                            MessageStatus.expired.value]),
                OutgoingMessage.created_at < before))
        return int(getattr(result, "rowcount", 0) or 0)
