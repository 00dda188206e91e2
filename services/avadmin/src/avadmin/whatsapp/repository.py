from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from avadmin.whatsapp.models import VerificationCode
from avelar_kit.db.base import utcnow


class VerificationCodeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def retire(self, purpose: str, subject_id: uuid.UUID) -> None:
        """A new code replaces the previous ones of the same purpose and subject."""
        await self.session.execute(
            update(VerificationCode)
            .where(VerificationCode.purpose == purpose, VerificationCode.subject_id == subject_id,
                   VerificationCode.consumed_at.is_(None))
            .values(consumed_at=utcnow()))

    def add(self, code: VerificationCode) -> None:
        self.session.add(code)

    async def latest_for_update(self, purpose: str,
                                subject_id: uuid.UUID) -> VerificationCode | None:
        stmt = (select(VerificationCode)
                .where(VerificationCode.purpose == purpose,
                       VerificationCode.subject_id == subject_id,
                       VerificationCode.consumed_at.is_(None))
                .order_by(VerificationCode.created_at.desc()).limit(1).with_for_update())
        return await self.session.scalar(stmt)

    async def count_attempt(self, code_id: uuid.UUID) -> None:
        await self.session.execute(
            update(VerificationCode).where(VerificationCode.id == code_id)
            .values(attempts=VerificationCode.attempts + 1))

    async def consume(self, code_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(VerificationCode).where(VerificationCode.id == code_id)
            .values(consumed_at=at))

    async def prune_expired(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(VerificationCode).where(VerificationCode.expires_at < before))
        return int(getattr(result, "rowcount", 0) or 0)
