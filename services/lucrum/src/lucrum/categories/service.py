"""Income and expense categories of a company (a default Brazilian set to start with)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.audit import record_audit, snapshot
from avelar_kit.errors import Conflict, NotFound, Unprocessable
from lucrum.audit.models import AuditLog
from lucrum.categories.models import Category, CategoryKind
from lucrum.categories.repository import CategoryRepository
from lucrum.categories.schemas import CategoryCreate, CategoryUpdate


class CategoryNotFound(NotFound):
    code = "category_not_found"


def _name_taken() -> Conflict:
    return Conflict("Já existe uma categoria com este nome", code="category_exists")


# What a category's audit row shows of it.
FIELDS = ("name", "kind", "is_active")


class CategoryService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = CategoryRepository(session)

    async def list(self, company: uuid.UUID, *, kind: CategoryKind | None,
                   include_inactive: bool) -> Sequence[Category]:
        await self.repo.ensure_defaults(company)
        return await self.repo.list_for(company, kind=kind, include_inactive=include_inactive)

    async def get(self, company: uuid.UUID, category_id: uuid.UUID) -> Category:
        category = await self.repo.get(company, category_id)
        if category is None:
            raise CategoryNotFound("Categoria não encontrada")
        return category

    async def for_posting(
        self, company: uuid.UUID, category_id: uuid.UUID, kind: CategoryKind
    ) -> Category:
        """A category a new or edited transaction may use: this company's, active, same kind."""
        category = await self.get(company, category_id)
        if not category.is_active:
            raise Unprocessable("A categoria está desativada", code="category_inactive")
        if category.kind != kind:
            kind_pt = "receita" if kind == CategoryKind.income else "despesa"
            raise Unprocessable(f"A categoria não é de {kind_pt}", code="category_kind_mismatch")
        return category

    async def create(self, company: uuid.UUID, data: CategoryCreate, *,
                     actor: str) -> Category:
        await self.repo.ensure_defaults(company)
        if await self.repo.find_by_name(company, data.kind, data.name) is not None:
            raise _name_taken()
        category = Category(id=uuid.uuid4(), account_id=company, name=data.name, kind=data.kind,
                            is_active=True)
        await self.repo.add(category)
        await self.session.refresh(category)
        record_audit(self.session, AuditLog, actor=actor, action="category.created",
                     account_id=company, target=f"category:{category.id}", before={},
                     after=snapshot(category, FIELDS))
        return category

    async def update(
        self, company: uuid.UUID, category_id: uuid.UUID, data: CategoryUpdate, *, actor: str
    ) -> Category:
        category = await self.get(company, category_id)
        before = snapshot(category, FIELDS)
        if data.name is not None and data.name.lower() != category.name.lower():
            if await self.repo.find_by_name(company, category.kind, data.name) is not None:
                raise _name_taken()
        if data.name is not None:
            category.name = data.name
        if data.is_active is not None:
            category.is_active = data.is_active
        await self.session.flush()
        after = snapshot(category, FIELDS)
        changed = [f for f in FIELDS if before[f] != after[f]]
        if changed:
            record_audit(self.session, AuditLog, actor=actor, action="category.updated",
                         account_id=company, target=f"category:{category.id}",
                         before={f: before[f] for f in changed},
                         after={f: after[f] for f in changed})
        return category

    async def remove(self, company: uuid.UUID, category_id: uuid.UUID, *, actor: str) -> None:
        """Delete an unused category; one already on transactions is deactivated instead so that
        history and reports keep their names."""
        category = await self.get(company, category_id)
        before = snapshot(category, FIELDS)
        if await self.repo.is_used(category.id):
            category.is_active = False
            action, after = "category.deactivated", {"is_active": False}
            before = {"is_active": before["is_active"]}
        else:
            await self.session.delete(category)
            action, after = "category.deleted", {}
        await self.session.flush()
        record_audit(self.session, AuditLog, actor=actor, action=action, account_id=company,
                     target=f"category:{category_id}", before=before, after=after)
