from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import func, select

from avelar_kit.db.repository import RepositoryBase
from stocktech.catalog.models import Brand, Category

T = TypeVar("T", Category, Brand)


class TaxonomyRepository(RepositoryBase):
    """Categories and brands share their shape and their queries."""

    async def list(self, model: type[T], *, include_inactive: bool) -> Sequence[T]:
        stmt = select(model).order_by(model.name)
        if not include_inactive:
            stmt = stmt.where(model.is_active.is_(True))
        return (await self.session.execute(stmt)).scalars().all()

    async def get(self, model: type[T], item_id: uuid.UUID) -> T | None:
        return await self.session.get(model, item_id)

    async def get_by_name(self, model: type[T], name: str) -> T | None:
        stmt = select(model).where(func.lower(model.name) == name.lower())
        return (await self.session.execute(stmt)).scalar_one_or_none()
