from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Date, cast, func, select

from avelar_kit.db.repository import RepositoryBase
from lucrum.bank_accounts.models import BankAccount
from lucrum.categories.models import Category
from lucrum.ledger import signed_amount
from lucrum.transactions.models import FinancialTransaction, TransactionType

_REAL = (TransactionType.income, TransactionType.expense)


def _income() -> ColumnElement[Any]:
    return func.coalesce(func.sum(FinancialTransaction.amount).filter(
        FinancialTransaction.type == TransactionType.income), 0)


def _expense() -> ColumnElement[Any]:
    return func.coalesce(func.sum(FinancialTransaction.amount).filter(
        FinancialTransaction.type == TransactionType.expense), 0)


def _base(company: uuid.UUID, date_from: date, date_to: date,
          bank_account_id: uuid.UUID | None) -> list[ColumnElement[bool]]:
    # Transfers are movements between the company's own accounts: never income nor expense.
    conds: list[ColumnElement[bool]] = [
        FinancialTransaction.account_id == company,
        FinancialTransaction.type.in_(_REAL),
        FinancialTransaction.transaction_date >= date_from,
        FinancialTransaction.transaction_date <= date_to,
    ]
    if bank_account_id is not None:
        conds.append(FinancialTransaction.bank_account_id == bank_account_id)
    return conds


class ReportRepository(RepositoryBase):
    async def by_month(
        self, company: uuid.UUID, date_from: date, date_to: date,
        bank_account_id: uuid.UUID | None,
    ) -> list[tuple[date, Decimal, Decimal]]:
        month = cast(func.date_trunc("month", FinancialTransaction.transaction_date), Date)
        stmt = (select(month, _income(), _expense())
                .where(*_base(company, date_from, date_to, bank_account_id))
                .group_by(month).order_by(month))
        rows = (await self.session.execute(stmt)).all()
        return [(r[0], Decimal(r[1]), Decimal(r[2])) for r in rows]

    async def by_category(
        self, company: uuid.UUID, date_from: date, date_to: date,
        bank_account_id: uuid.UUID | None,
    ) -> list[tuple[uuid.UUID | None, str | None, Decimal, Decimal]]:
        stmt = (select(FinancialTransaction.category_id, Category.name,
                       _income(), _expense())
                .outerjoin(Category, Category.id == FinancialTransaction.category_id)
                .where(*_base(company, date_from, date_to, bank_account_id))
                .group_by(FinancialTransaction.category_id, Category.name)
                .order_by(Category.name.nulls_last()))
        return [(r[0], r[1], Decimal(r[2]), Decimal(r[3]))
                for r in (await self.session.execute(stmt)).all()]

    async def balances_at(self, company: uuid.UUID, at: date) -> list[tuple[BankAccount, Decimal]]:
        """Each account's balance at the end of ``at``: opening balance plus every entry dated on
        or before that day (the opening balance is where the ledger starts)."""
        ledger = (
            select(FinancialTransaction.bank_account_id.label("bid"),
                   func.sum(signed_amount()).label("total"))
            .where(FinancialTransaction.account_id == company,
                   FinancialTransaction.transaction_date <= at)
            .group_by(FinancialTransaction.bank_account_id)
            .subquery()
        )
        stmt = (select(BankAccount, func.coalesce(ledger.c.total, 0))
                .outerjoin(ledger, ledger.c.bid == BankAccount.id)
                .where(BankAccount.account_id == company)
                .order_by(BankAccount.is_default.desc(), BankAccount.name, BankAccount.id))
        rows = (await self.session.execute(stmt)).all()
        return [(r[0], r[0].opening_balance + Decimal(r[1])) for r in rows]
