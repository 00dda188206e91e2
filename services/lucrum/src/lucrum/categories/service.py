from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.errors import Conflict, NotFound, Unprocessable
from lucrum.categories import repository as repo
from lucrum.categories.models import Category, CategoryKind
from lucrum.categories.schemas import CategoryCreate, CategoryUpdate


class CategoryNotFound(NotFound):
    code = "category_not_found"


async def get(session: AsyncSession, company: uuid.UUID, category_id: uuid.UUID) -> Category:
    category = await repo.get(session, company, category_id)
    if category is None:
        raise CategoryNotFound("Categoria não encontrada")
    return category


async def for_posting(
    session: AsyncSession, company: uuid.UUID, category_id: uuid.UUID, kind: CategoryKind
) -> Category:
    """A category a new or edited transaction may use: this company's, active, same kind."""
    category = await repo.get(session, company, category_id)
    if category is None:
        raise CategoryNotFound("Categoria não encontrada")
    if not category.is_active:
        raise Unprocessable("A categoria está desativada", code="category_inactive")
    if category.kind != kind:
        kind_pt = "receita" if kind == CategoryKind.income else "despesa"
        raise Unprocessable(f"A categoria não é de {kind_pt}", code="category_kind_mismatch")
    return category


async def create(session: AsyncSession, company: uuid.UUID, data: CategoryCreate) -> Category:
    await repo.ensure_defaults(session, company)
    if await repo.find_by_name(session, company, data.kind, data.name) is not None:
        raise Conflict("Já existe uma categoria com este nome", code="category_exists")
    category = Category(id=uuid.uuid4(), account_id=company, name=data.name, kind=data.kind,
                        is_active=True)
    session.add(category)
    await session.flush()
    await session.refresh(category)
    return category


async def update(
    session: AsyncSession, company: uuid.UUID, category_id: uuid.UUID, data: CategoryUpdate
) -> Category:
    category = await get(session, company, category_id)
    if data.name is not None and data.name.lower() != category.name.lower():
        if await repo.find_by_name(session, company, category.kind, data.name) is not None:
            raise Conflict("Já existe uma categoria com este nome", code="category_exists")
    if data.name is not None:
        category.name = data.name
    if data.is_active is not None:
        category.is_active = data.is_active
    await session.flush()
    return category


async def remove(session: AsyncSession, company: uuid.UUID, category_id: uuid.UUID) -> None:
    """Delete an unused category; one already on transactions is deactivated instead so that
    history and reports keep their names."""
    category = await get(session, company, category_id)
    if await repo.is_used(session, category.id):
        category.is_active = False
    else:
        await session.delete(category)
    await session.flush()
