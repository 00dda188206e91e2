"""A person's data in StockTech, gathered for AvAdmin's export (LGPD art. 18, II and V).

Erasure needs nothing here beyond the kit's handling of ``user.erased``: StockTech keeps no
name, CPF or number of a person, only the AvAdmin user id (the pseudonymous reference its
marketplace history keeps) and the cached copy of AvAdmin's profile, which the event drops."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from stocktech.privacy.repository import PrivacyRepository
from stocktech.transactions.models import Transaction


def _roles(tx: Transaction, user_id: uuid.UUID) -> list[str]:
    return [role for role, who in (("buyer", tx.buyer_user_id), ("seller", tx.seller_user_id),
                                   ("completed_by", tx.completed_by_user_id),
                                   ("cancelled_by", tx.cancelled_by_user_id)) if who == user_id]


class PrivacyService:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = PrivacyRepository(session)

    async def personal_data(self, user_id: uuid.UUID,
                            cached_profile: dict[str, Any] | None) -> dict[str, Any]:
        known = await self.repo.known_user(user_id)
        return {
            "known_user": ({"user_id": str(known.user_id), "account_id": str(known.account_id),
                            "is_active": known.is_active} if known is not None else None),
            "cached_profile": cached_profile,
            "products_listed": [
                {"id": str(p.id), "code": p.code, "name": p.name, "account_id": str(p.account_id),
                 "is_active": p.is_active, "created_at": p.created_at.isoformat()}
                for p in await self.repo.products_listed_by(user_id)],
            "transactions": [
                {"id": str(t.id), "roles": _roles(t, user_id), "product_code": t.product_code,
                 "product_name": t.product_name, "quantity": t.quantity,
                 "unit_price": f"{t.unit_price:.2f}", "total_amount": f"{t.total_amount:.2f}",
                 "status": t.status.value, "buyer_account_id": str(t.buyer_account_id),
                 "seller_account_id": str(t.seller_account_id),
                 "created_at": t.created_at.isoformat(),
                 "completed_at": t.completed_at.isoformat() if t.completed_at else None,
                 "cancelled_at": t.cancelled_at.isoformat() if t.cancelled_at else None}
                for t in await self.repo.transactions_of(user_id)],
        }
