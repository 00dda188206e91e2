"""The marketplace-wide taxonomy: platform operators manage it, every company reads it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.errors import Conflict, NotFound
from stocktech.catalog.models import Brand, Category
from stocktech.catalog.repository import TaxonomyRepository

T = TypeVar("T", Category, Brand)

# (Portuguese noun with article, stable code prefix)
_LABEL: dict[type[Any], tuple[str, str]] = {
    Category: ("A categoria", "category"),
    Brand: ("A marca", "brand"),
}


async def list_items(
    session: AsyncSession, model: type[T], *, include_inactive: bool = False
) -> Sequence[T]:
    return await TaxonomyRepository(session).list(model, include_inactive=include_inactive)


async def get_item(
    session: AsyncSession, model: type[T], item_id: uuid.UUID, *, include_inactive: bool = False
) -> T:
    item = await TaxonomyRepository(session).get(model, item_id)
    if item is None or (not item.is_active and not include_inactive):
        label, code = _LABEL[model]
        raise NotFound(f"{label} não foi encontrada", code=f"{code}_not_found")
    return item


async def _ensure_name_free(
    repo: TaxonomyRepository, model: type[T], name: str, current: uuid.UUID | None = None
) -> None:
    existing = await repo.get_by_name(model, name)
    if existing is not None and existing.id != current:
        label, code = _LABEL[model]
        raise Conflict(f"{label} '{existing.name}' já existe", code=f"{code}_exists")


async def create_item(session: AsyncSession, model: type[T], fields: dict[str, Any]) -> T:
    repo = TaxonomyRepository(session)
    await _ensure_name_free(repo, model, fields["name"])
    item = model(**fields)
    await repo.add(item)
    return item


async def update_item(
    session: AsyncSession, model: type[T], item_id: uuid.UUID, fields: dict[str, Any]
) -> T:
    repo = TaxonomyRepository(session)
    item = await get_item(session, model, item_id, include_inactive=True)
    if fields.get("name") is not None:
        await _ensure_name_free(repo, model, fields["name"], item.id)
    for key, value in fields.items():
        if key in ("name", "is_active") and value is None:
            continue
        setattr(item, key, value)
    await session.flush()
    return item
