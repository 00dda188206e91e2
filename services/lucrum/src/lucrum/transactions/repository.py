from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.dialects.postgresql import insert

from avelar_kit.db.repository import RepositoryBase
from lucrum.categories.models import Category
from lucrum.transactions.models import FinancialTransaction, TransactionSource
from lucrum.transactions.schemas import TransactionFilters


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

def filtered(company: uuid.UUID, f: TransactionFilters) -> Select[FinancialTransaction]:
    stmt = select(FinancialTransaction).where(FinancialTransaction.account_id == company)
    if f.date_from is not None:
        stmt = stmt.where(FinancialTransaction.transaction_date >= f.date_from)
    if f.date_to is not None:
        stmt = stmt.where(FinancialTransaction.transaction_date <= f.date_to)
    if f.type is not None:
        stmt = stmt.where(FinancialTransaction.type == f.type)
    if f.category_id is not None:
        stmt = stmt.where(FinancialTransaction.category_id == f.category_id)
    if f.bank_account_id is not None:
        stmt = stmt.where(FinancialTransaction.bank_account_id == f.bank_account_id)
    if f.q:
        pattern = f"%{_escape_like(f.q.strip())}%"
        stmt = stmt.where(or_(FinancialTransaction.description.ilike(pattern, escape="\\"),
                              FinancialTransaction.code == f.q.strip().upper()))
    return stmt


class TransactionRepository(RepositoryBase):
    async def get(
        self, company: uuid.UUID, tx_id: uuid.UUID, *, for_update: bool = False
    ) -> FinancialTransaction | None:
        stmt = select(FinancialTransaction).where(FinancialTransaction.id == tx_id,
                                                  FinancialTransaction.account_id == company)
        if for_update:
            # Locks the entry before any balance row, the order every edit and delete follows.
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_by_code(self, company: uuid.UUID, code: str) -> FinancialTransaction | None:
        stmt = select(FinancialTransaction).where(FinancialTransaction.code == code,
                                                  FinancialTransaction.account_id == company)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def page(
        self, company: uuid.UUID, f: TransactionFilters, *, offset: int, limit: int
    ) -> tuple[Sequence[tuple[FinancialTransaction, str | None]], int]:
        base = filtered(company, f)
        total = (await self.session.execute(
            select(func.count()).select_from(base.subquery())
        )).scalar_one()
        stmt = (
            base.add_columns(Category.name)
            .outerjoin(Category, Category.id == FinancialTransaction.category_id)
            .order_by(FinancialTransaction.transaction_date.desc(),
                      FinancialTransaction.created_at.desc(), FinancialTransaction.id)
            .offset(offset).limit(limit)
        )
        rows = (await self.session.execute(stmt)).all()
        return [(r[0], r[1]) for r in rows], int(total)

    async def all_rows(
        self, company: uuid.UUID, f: TransactionFilters
    ) -> Sequence[tuple[FinancialTransaction, str | None]]:
        stmt = (
            filtered(company, f).add_columns(Category.name)
            .outerjoin(Category, Category.id == FinancialTransaction.category_id)
            .order_by(FinancialTransaction.transaction_date, FinancialTransaction.created_at,
                      FinancialTransaction.id)
        )
        return [(r[0], r[1]) for r in (await self.session.execute(stmt)).all()]

    async def count_manual_since(self, company: uuid.UUID, since: datetime) -> int:
        stmt = select(func.count(FinancialTransaction.id)).where(
            FinancialTransaction.account_id == company,
            FinancialTransaction.source == TransactionSource.manual,
            FinancialTransaction.created_at >= since,
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def legs_of(
        self, transfer_id: uuid.UUID, *, for_update: bool = False
    ) -> Sequence[FinancialTransaction]:
        stmt = (select(FinancialTransaction).where(FinancialTransaction.transfer_id == transfer_id)
                .order_by(FinancialTransaction.type))
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalars().all()

    async def insert_new(self, rows: list[dict[str, Any]]) -> list[str]:
        """Insert entries, skipping those whose (bank account, external id) is already there
        or whose code collides (``ON CONFLICT DO NOTHING``); the external ids inserted."""
        result = await self.session.execute(
            insert(FinancialTransaction).values(rows).on_conflict_do_nothing()
            .returning(FinancialTransaction.external_id)
        )
        return [str(external_id) for (external_id,) in result.all()]

    async def known_external_ids(
        self, bank_account_id: uuid.UUID, external_ids: Iterable[str]
    ) -> list[str]:
        result = await self.session.execute(
            select(FinancialTransaction.external_id).where(
                FinancialTransaction.bank_account_id == bank_account_id,
                FinancialTransaction.external_id.in_(list(external_ids)),
            )
        )
        return [str(external_id) for (external_id,) in result.all()]
