from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lucrum.transactions.models import FinancialTransaction
from lucrum.transfers.models import Transfer


async def get(
    session: AsyncSession, company: uuid.UUID, transfer_id: uuid.UUID, *, for_update: bool = False
) -> Transfer | None:
    stmt = select(Transfer).where(Transfer.id == transfer_id, Transfer.account_id == company)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def page(
    session: AsyncSession, company: uuid.UUID, *, offset: int, limit: int
) -> tuple[Sequence[Transfer], int]:
    total = (await session.execute(
        select(func.count(Transfer.id)).where(Transfer.account_id == company)
    )).scalar_one()
    rows = (await session.execute(
        select(Transfer).where(Transfer.account_id == company)
        .order_by(Transfer.transfer_date.desc(), Transfer.created_at.desc(), Transfer.id)
        .offset(offset).limit(limit)
    )).scalars().all()
    return rows, int(total)


async def legs(
    session: AsyncSession, transfer_ids: Sequence[uuid.UUID]
) -> Sequence[FinancialTransaction]:
    if not transfer_ids:
        return []
    return (await session.execute(
        select(FinancialTransaction).where(FinancialTransaction.transfer_id.in_(transfer_ids))
    )).scalars().all()
