"""Every query over transactions and idempotency keys."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert

from avelar_kit.br import clock
from avelar_kit.db.repository import RepositoryBase
from stocktech.transactions.models import IdempotencyKey, Transaction, TransactionStatus
from stocktech.transactions.schemas import Role

# The purchase's last round trip: take the units where the stock covers them (of any number of
# concurrent buyers only those the remaining stock covers get a row; the CHECK
# stock_quantity >= 0 stands behind it), record the transaction from the same row, and COMMIT,
# all in one message. The hot row of a popular product is locked from the UPDATE to the COMMIT,
# which PostgreSQL now runs back to back: it is never held while this process gets round to
# sending the COMMIT (at 50 buyers that wait, behind the event loop's other requests, was most
# of the row's lock time and bounded the throughput of a rush).
#
# One message is the simple query protocol, which takes no parameters: the values come from a
# transaction-local setting written by a parameterised statement just before
# (``avelar.purchase``, JSON), so this text is a constant and no value is ever inlined in SQL.
# Price and name must still be those the buyer was shown (and the WhatsApp message says).
# Nothing reserved (stock, off sale, price or name changed): ``1 / count(*)`` divides by zero,
# PostgreSQL skips the rest of the message (no COMMIT) and the transaction is left aborted for
# the caller to roll back. After the COMMIT, ``BEGIN`` opens an empty transaction, so that the
# session's own transaction state stays true; its COMMIT at the end of the request holds no lock.
_ARG = "current_setting('avelar.purchase')::jsonb"
# S608: the only thing formatted into this text is the constant _ARG above.
RESERVE_AND_COMMIT = f"""
WITH reserved AS (
    UPDATE products AS p
    SET stock_quantity = p.stock_quantity - ({_ARG}->>'quantity')::int, updated_at = now()
    WHERE p.id = ({_ARG}->>'product_id')::uuid AND p.is_active
      AND p.stock_quantity >= ({_ARG}->>'quantity')::int
      AND p.price = ({_ARG}->>'price')::numeric AND p.name = {_ARG}->>'name'
      AND EXISTS (SELECT 1 FROM known_accounts AS k
                  WHERE k.account_id = p.account_id AND k.status = 'active')
    RETURNING p.id, p.account_id, p.user_id, p.code, p.name, p.price
), recorded AS (
    INSERT INTO transactions (
        id, product_id, product_code, product_name, buyer_account_id, buyer_user_id,
        seller_account_id, seller_user_id, quantity, unit_price, total_amount,
        whatsapp_chat_id, whatsapp_link, status, created_at, updated_at)
    SELECT ({_ARG}->>'id')::uuid, r.id, r.code, r.name, ({_ARG}->>'buyer_account_id')::uuid,
           ({_ARG}->>'buyer_user_id')::uuid, r.account_id, r.user_id,
           ({_ARG}->>'quantity')::int, r.price, r.price * ({_ARG}->>'quantity')::int,
           {_ARG}->>'chat', {_ARG}->>'link', 'pending',
           ({_ARG}->>'created_at')::timestamptz, ({_ARG}->>'created_at')::timestamptz
    FROM reserved AS r
    RETURNING 1
)
SELECT 1 / count(*) FROM recorded;
COMMIT;
BEGIN
"""  # noqa: S608

# The platform takes the seller's row for the reservation (row-level security, ADR 0020: this
# is act_as_system's setting, folded into the statement that passes the purchase's values).
_PURCHASE_ARGS = text(
    "SELECT set_config('avelar.system', 'on', true), set_config('avelar.purchase', :args, true)")


def _json_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


class TransactionRepository(RepositoryBase):
    async def reserve_and_record(self, values: dict[str, Any]) -> bool:
        """Reserve, record and COMMIT (``RESERVE_AND_COMMIT``): True when the purchase is
        committed; False when the stock does not cover the quantity, the product is off sale
        or its price or name changed, and then the transaction is aborted: the caller rolls it
        back (everything it wrote goes with it)."""
        await self.session.execute(_PURCHASE_ARGS, {
            "args": json.dumps(values, default=_json_value, separators=(",", ":"))})
        conn = await self.session.connection()
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        try:
            await raw.execute(RESERVE_AND_COMMIT)
        except asyncpg.DivisionByZeroError:
            return False
        return True

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
