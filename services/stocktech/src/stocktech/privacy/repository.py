"""Every row of StockTech that names a person (by AvAdmin user id)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import or_, select

from avelar_kit.db.repository import RepositoryBase
from stocktech.accounts.models import KnownUser
from stocktech.products.models import Product
from stocktech.transactions.models import Transaction


class PrivacyRepository(RepositoryBase):
    async def known_user(self, user_id: uuid.UUID) -> KnownUser | None:
        return await self.session.get(KnownUser, user_id)

    async def products_listed_by(self, user_id: uuid.UUID) -> Sequence[Product]:
        result = await self.session.execute(
            select(Product).where(Product.user_id == user_id).order_by(Product.created_at))
        return result.scalars().all()

    async def transactions_of(self, user_id: uuid.UUID) -> Sequence[Transaction]:
        t = Transaction
        result = await self.session.execute(
            select(t).where(or_(t.buyer_user_id == user_id, t.seller_user_id == user_id,
                                t.completed_by_user_id == user_id,
                                t.cancelled_by_user_id == user_id))
            .order_by(t.created_at))
        return result.scalars().all()
