"""Every query over transactions and idempotency keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert

from avelar_kit.br import clock
from avelar_kit.db.repository import RepositoryBase
from stocktech.transactions.models import IdempotencyKey, Transaction, TransactionStatus
from stocktech.transactions.schemas import Role

# The purchase in one statement: take the units where the stock covers them (of any number of
# concurrent buyers only those the remaining stock covers get a row; the CHECK
# stock_quantity >= 0 stands behind it) and record the transaction from the same row. The
# product row stays locked from this statement to the COMMIT that follows it at once, and no
# longer: the hot row of a popular product is held for two round trips, not for the rest of the
# request. Price and name must still be those the buyer was shown (and the WhatsApp message
# says); if either changed, nothing happens and the caller looks again.
_RESERVE_AND_RECORD = text("""
WITH reserved AS (
    UPDATE products AS p
    SET stock_quantity = p.stock_quantity - :quantity, updated_at = now()
    WHERE p.id = :product_id AND p.is_active AND p.stock_quantity >= :quantity
      AND p.price = :price AND p.name = :name
      AND EXISTS (SELECT 1 FROM known_accounts AS k
                  WHERE k.account_id = p.account_id AND k.status = 'active')
    RETURNING p.id, p.account_id, p.user_id, p.code, p.name, p.price
)
INSERT INTO transactions (
    id, product_id, product_code, product_name, buyer_account_id, buyer_user_id,
    seller_account_id, seller_user_id, quantity, unit_price, total_amount, whatsapp_chat_id,
    whatsapp_link, status, created_at, updated_at)
SELECT CAST(:id AS uuid), r.id, r.code, r.name, CAST(:buyer_account_id AS uuid),
       CAST(:buyer_user_id AS uuid), r.account_id, r.user_id, :quantity, r.price,
       r.price * :quantity, CAST(:chat AS varchar), CAST(:link AS text), 'pending',
       CAST(:created_at AS timestamptz), CAST(:created_at AS timestamptz)
FROM reserved AS r
RETURNING product_code, product_name, seller_account_id, seller_user_id, unit_price,
          total_amount
""")


class TransactionRepository(RepositoryBase):
    async def reserve_and_record(self, values: dict[str, Any]) -> Any | None:
        """Run ``_RESERVE_AND_RECORD``; the recorded row's snapshot, or None when the stock
        does not cover the quantity, the product is off sale or its price or name changed."""
        result = await self.session.execute(_RESERVE_AND_RECORD, values)
        return result.one_or_none()

    async def count_this_month_as_buyer(self, account_id: uuid.UUID) -> int:
        stmt = select(func.count()).select_from(Transaction).where(
            Transaction.buyer_account_id == account_id,
            # Plan months follow the Brazilian calendar (the kit's one Brasília clock): a
            # purchase at 22:00 on the 31st in São Paulo belongs to that month, not the next.
            Transaction.created_at >= clock.month_start(),
            Transaction.status != TransactionStatus.cancelled,
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def get_for_party(
        self, tx_id: uuid.UUID, account_id: uuid.UUID
    ) -> Transaction | None:
        stmt = select(Transaction).where(
            Transaction.id == tx_id,
            or_(Transaction.buyer_account_id == account_id,
                Transaction.seller_account_id == account_id),
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def transition(
        self, tx_id: uuid.UUID, *, allowed: Any, values: dict[str, Any]
    ) -> Transaction | None:
        """Move a pending transaction to another status in one conditional UPDATE: of two
        concurrent cancels (or a cancel and a complete), exactly one gets the row."""
        stmt = (
            update(Transaction)
            .where(Transaction.id == tx_id, Transaction.status == TransactionStatus.pending,
                   allowed)
            .values(**values, updated_at=func.now())
            .returning(Transaction)
            .execution_options(populate_existing=True, synchronize_session=False)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def page(
        self, account_id: uuid.UUID, *, role: Role | None, status: TransactionStatus | None,
        offset: int, limit: int,
    ) -> tuple[Sequence[Transaction], int]:
        if role is Role.buyer:
            cond: Any = Transaction.buyer_account_id == account_id
        elif role is Role.seller:
            cond = Transaction.seller_account_id == account_id
        else:
            cond = or_(Transaction.buyer_account_id == account_id,
                       Transaction.seller_account_id == account_id)
        conds = [cond]
        if status is not None:
            conds.append(Transaction.status == status)
        stmt = (select(Transaction).where(*conds)
                .order_by(Transaction.created_at.desc(), Transaction.id)
                .offset(offset).limit(limit))
        items = (await self.session.execute(stmt)).scalars().all()
        total = (await self.session.execute(
            select(func.count()).select_from(Transaction).where(*conds)
        )).scalar_one()
        return items, int(total)


class IdempotencyRepository(RepositoryBase):
    async def claim(self, account_id: uuid.UUID, key: str, request_hash: str) -> bool:
        """True when this request owns the key. If another transaction holds it uncommitted,
        this waits on the primary key until that one commits (False) or rolls back (True)."""
        stmt = (
            insert(IdempotencyKey)
            .values(account_id=account_id, key=key, request_hash=request_hash)
            .on_conflict_do_nothing(index_elements=["account_id", "key"])
            .returning(IdempotencyKey.key)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def get(self, account_id: uuid.UUID, key: str) -> IdempotencyKey | None:
        stmt = (
            select(IdempotencyKey)
            .where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def store_response(
        self, account_id: uuid.UUID, key: str, status_code: int, response: dict[str, Any]
    ) -> None:
        await self.session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
            .values(status_code=status_code, response=response)
        )

    async def prune(self, older_than_hours: int) -> int:
        cutoff = func.now() - func.make_interval(0, 0, 0, 0, older_than_hours)
        stmt = delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)
        result = await self.session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)
