from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from avelar_kit.db.repository import RepositoryBase
from lucrum.categories.defaults import DEFAULT_CATEGORIES
from lucrum.categories.models import Category, CategoryKind
from lucrum.transactions.models import FinancialTransaction


class CategoryRepository(RepositoryBase):
    async def ensure_defaults(self, company: uuid.UUID) -> None:
        """Give a company without any category the default set. Idempotent and safe when two
        first requests race: the unique index makes the second insert a no-op."""
        exists = await self.session.execute(
            select(Category.id).where(Category.account_id == company).limit(1)
        )
        if exists.first() is not None:
            return
        await self.session.execute(
            insert(Category)
            .values([{"id": uuid.uuid4(), "account_id": company, "name": name, "kind": kind}
                     for name, kind in DEFAULT_CATEGORIES])
            .on_conflict_do_nothing()
        )

    async def list_for(
        self, company: uuid.UUID, *, kind: CategoryKind | None,
        include_inactive: bool,
    ) -> Sequence[Category]:
        stmt = select(Category).where(Category.account_id == company)
        if kind is not None:
            stmt = stmt.where(Category.kind == kind)
        if not include_inactive:
            stmt = stmt.where(Category.is_active)
        stmt = stmt.order_by(Category.kind, Category.name)
        return (await self.session.execute(stmt)).scalars().all()

    async def get(self, company: uuid.UUID, category_id: uuid.UUID) -> Category | None:
        result = await self.session.execute(
            select(Category).where(Category.id == category_id, Category.account_id == company)
        )
        return result.scalar_one_or_none()

    async def find_by_name(
        self, company: uuid.UUID, kind: CategoryKind, name: str
    ) -> Category | None:
        result = await self.session.execute(
            select(Category).where(Category.account_id == company, Category.kind == kind,
                                   func.lower(Category.name) == name.strip().lower())
        )
        return result.scalar_one_or_none()

    async def is_used(self, category_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            select(FinancialTransaction.id).where(FinancialTransaction.category_id == category_id)
            .limit(1)
        )
        return result.first() is not None

    async def names(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not ids:
            return {}
        rows = await self.session.execute(
            select(Category.id, Category.name).where(Category.id.in_(ids)))
        return {r[0]: r[1] for r in rows}
