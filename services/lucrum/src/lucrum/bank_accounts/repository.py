from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal

from sqlalchemy import func, select, update

from avelar_kit.db.repository import RepositoryBase
from lucrum.bank_accounts.models import BankAccount
from lucrum.ledger import balance_guard, signed_amount
from lucrum.transactions.models import FinancialTransaction
from lucrum.transfers.models import Transfer


class BankAccountRepository(RepositoryBase):
    async def get(self, company: uuid.UUID, bank_account_id: uuid.UUID) -> BankAccount | None:
        result = await self.session.execute(
            select(BankAccount).where(BankAccount.id == bank_account_id,
                                      BankAccount.account_id == company)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def list_for(
        self, company: uuid.UUID, *, include_inactive: bool
    ) -> Sequence[BankAccount]:
        stmt = select(BankAccount).where(BankAccount.account_id == company)
        if not include_inactive:
            stmt = stmt.where(BankAccount.is_active)
        stmt = stmt.order_by(BankAccount.is_default.desc(), BankAccount.name, BankAccount.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def default_for(self, company: uuid.UUID) -> BankAccount | None:
        result = await self.session.execute(
            select(BankAccount).where(BankAccount.account_id == company, BankAccount.is_default)
        )
        return result.scalar_one_or_none()

    async def has_default(self, company: uuid.UUID) -> bool:
        return await self.default_for(company) is not None

    async def lock(self, ids: Iterable[uuid.UUID]) -> None:
        """Row locks in id order, the order ``lucrum.ledger`` takes them, so that an operation on
        several accounts never waits in a cycle with a posting or a transfer. NO KEY UPDATE: the
        lock an UPDATE takes, which does not block inserts referencing the rows."""
        await self.session.execute(
            select(BankAccount.id).where(BankAccount.id.in_(list(ids))).order_by(BankAccount.id)
            .with_for_update(key_share=True)
        )

    async def clear_default(self, company: uuid.UUID, except_id: uuid.UUID | None = None) -> None:
        stmt = (update(BankAccount)
                .where(BankAccount.account_id == company, BankAccount.is_default)
                .values(is_default=False, updated_at=func.clock_timestamp())
                .execution_options(synchronize_session=False))
        if except_id is not None:
            stmt = stmt.where(BankAccount.id != except_id)
        await self.session.execute(stmt)

    async def identity_taken(
        self, company: uuid.UUID, bank_code: str, agency: str, number: str,
        *, except_id: uuid.UUID | None = None,
    ) -> bool:
        stmt = select(BankAccount.id).where(
            BankAccount.account_id == company, BankAccount.bank_code == bank_code,
            BankAccount.agency == agency, BankAccount.account_number == number,
        )
        if except_id is not None:
            stmt = stmt.where(BankAccount.id != except_id)
        return (await self.session.execute(stmt.limit(1))).first() is not None

    async def is_referenced(self, bank_account_id: uuid.UUID) -> bool:
        tx = await self.session.execute(
            select(FinancialTransaction.id)
            .where(FinancialTransaction.bank_account_id == bank_account_id).limit(1)
        )
        if tx.first() is not None:
            return True
        tr = await self.session.execute(
            select(Transfer.id).where(
                (Transfer.from_bank_account_id == bank_account_id)
                | (Transfer.to_bank_account_id == bank_account_id)
            ).limit(1)
        )
        return tr.first() is not None

    async def apply_deltas(self, deltas: dict[uuid.UUID, Decimal]) -> None:
        """Move each account's balance by its delta (``lucrum.ledger``), one UPDATE each, in id
        order."""
        for bank_account_id in sorted(deltas):
            delta = deltas[bank_account_id]
            if not delta:
                continue
            async with balance_guard():
                await self.session.execute(
                    update(BankAccount)
                    .where(BankAccount.id == bank_account_id)
                    .values(balance=BankAccount.balance + delta,
                            updated_at=func.clock_timestamp())
                    .execution_options(synchronize_session=False)
                )

    async def set_opening_balance(self, bank_account_id: uuid.UUID, new_opening: Decimal) -> None:
        # One statement: the balance moves by exactly the change in the opening balance, computed
        # from the row as it is under the lock, not from a value read earlier.
        async with balance_guard():
            await self.session.execute(
                update(BankAccount)
                .where(BankAccount.id == bank_account_id)
                .values(opening_balance=new_opening,
                        balance=BankAccount.balance + (new_opening - BankAccount.opening_balance),
                        updated_at=func.clock_timestamp())
                .execution_options(synchronize_session=False)
            )

    async def ledger_sums(
        self, company: uuid.UUID, bank_account_id: uuid.UUID | None = None
    ) -> list[tuple[uuid.UUID, Decimal, Decimal, Decimal]]:
        """Per bank account: (id, opening_balance, sum of the ledger, stored balance)."""
        ledger = (
            select(FinancialTransaction.bank_account_id.label("bid"),
                   func.sum(signed_amount()).label("total"))
            .where(FinancialTransaction.account_id == company)
            .group_by(FinancialTransaction.bank_account_id)
            .subquery()
        )
        stmt = (
            select(BankAccount.id, BankAccount.opening_balance,
                   func.coalesce(ledger.c.total, 0), BankAccount.balance)
            .outerjoin(ledger, ledger.c.bid == BankAccount.id)
            .where(BankAccount.account_id == company)
            .order_by(BankAccount.id)
        )
        if bank_account_id is not None:
            stmt = stmt.where(BankAccount.id == bank_account_id)
        rows = (await self.session.execute(stmt)).all()
        return [(r[0], Decimal(r[1]), Decimal(r[2]), Decimal(r[3])) for r in rows]

    async def all_drift(self) -> list[tuple[uuid.UUID, uuid.UUID, Decimal, Decimal]]:
        """Every bank account of every company whose balance differs from opening + ledger:
        (company, bank account, stored balance, computed balance). Empty when the books are
        right."""
        ledger = (
            select(FinancialTransaction.bank_account_id.label("bid"),
                   func.sum(signed_amount()).label("total"))
            .group_by(FinancialTransaction.bank_account_id)
            .subquery()
        )
        computed = BankAccount.opening_balance + func.coalesce(ledger.c.total, 0)
        stmt = (
            select(BankAccount.account_id, BankAccount.id, BankAccount.balance, computed)
            .outerjoin(ledger, ledger.c.bid == BankAccount.id)
            .where(BankAccount.balance != computed)
            .order_by(BankAccount.account_id, BankAccount.id)
        )
        rows = (await self.session.execute(stmt)).all()
        return [(r[0], r[1], Decimal(r[2]), Decimal(r[3])) for r in rows]

    async def count_all(self) -> int:
        return int((await self.session.execute(select(func.count(BankAccount.id)))).scalar_one())
