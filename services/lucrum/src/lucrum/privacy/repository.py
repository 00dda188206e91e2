"""Every row of Lucrum that names a person (by AvAdmin user id)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from avelar_kit.db.repository import RepositoryBase
from lucrum.transactions.models import FinancialTransaction
from lucrum.transfers.models import Transfer


class PrivacyRepository(RepositoryBase):
    async def entries_created_by(self, user_id: uuid.UUID) -> Sequence[FinancialTransaction]:
        t = FinancialTransaction
        result = await self.session.execute(
            select(t).where(t.created_by == user_id).order_by(t.transaction_date, t.created_at))
        return result.scalars().all()

    async def transfers_created_by(self, user_id: uuid.UUID) -> Sequence[Transfer]:
        result = await self.session.execute(
            select(Transfer).where(Transfer.created_by == user_id)
            .order_by(Transfer.transfer_date, Transfer.created_at))
        return result.scalars().all()
