from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select

from avelar_kit.db.repository import RepositoryBase
from lucrum.transactions.models import FinancialTransaction
from lucrum.transfers.models import Transfer


class TransferRepository(RepositoryBase):
    async def get(
        self, company: uuid.UUID, transfer_id: uuid.UUID, *, for_update: bool = False
    ) -> Transfer | None:
        stmt = select(Transfer).where(Transfer.id == transfer_id, Transfer.account_id == company)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def page(
        self, company: uuid.UUID, *, offset: int, limit: int
    ) -> tuple[Sequence[Transfer], int]:
        total = (await self.session.execute(
            select(func.count(Transfer.id)).where(Transfer.account_id == company)
        )).scalar_one()
        rows = (await self.session.execute(
            select(Transfer).where(Transfer.account_id == company)
            .order_by(Transfer.transfer_date.desc(), Transfer.created_at.desc(), Transfer.id)
            .offset(offset).limit(limit)
        )).scalars().all()
        return rows, int(total)

    async def legs(self, transfer_ids: Sequence[uuid.UUID]) -> Sequence[FinancialTransaction]:
        if not transfer_ids:
            return []
        return (await self.session.execute(
            select(FinancialTransaction).where(FinancialTransaction.transfer_id.in_(transfer_ids))
        )).scalars().all()
