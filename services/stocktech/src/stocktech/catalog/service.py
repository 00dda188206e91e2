"""The marketplace-wide taxonomy: platform operators manage it, every company reads it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.audit import record_audit, snapshot
from avelar_kit.errors import Conflict, NotFound
from stocktech.audit.models import AuditLog
from stocktech.catalog.models import Brand, Category
from stocktech.catalog.repository import TaxonomyRepository

T = TypeVar("T", Category, Brand)

# (Portuguese noun with article, stable code prefix)
_LABEL: dict[type[Any], tuple[str, str]] = {
    Category: ("A categoria", "category"),
    Brand: ("A marca", "brand"),
}


class TaxonomyService:
    """Categories and brands (one shape, so one service: ``model`` says which)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = TaxonomyRepository(session)

    async def list(self, model: type[T], *, include_inactive: bool = False) -> Sequence[T]:
        return await self.repo.list(model, include_inactive=include_inactive)

    async def get(self, model: type[T], item_id: uuid.UUID, *,
                  include_inactive: bool = False) -> T:
        item = await self.repo.get(model, item_id)
        if item is None or (not item.is_active and not include_inactive):
            label, code = _LABEL[model]
            raise NotFound(f"{label} não foi encontrada", code=f"{code}_not_found")
        return item

    async def _ensure_name_free(self, model: type[T], name: str,
                                current: uuid.UUID | None = None) -> None:
        existing = await self.repo.get_by_name(model, name)
        if existing is not None and existing.id != current:
            label, code = _LABEL[model]
            raise Conflict(f"{label} '{existing.name}' já existe", code=f"{code}_exists")

    async def create(self, actor: str, model: type[T], fields: dict[str, Any]) -> T:
        await self._ensure_name_free(model, fields["name"])
        item = await self.repo.add(model(**fields))
        code = _LABEL[model][1]
        record_audit(self.session, AuditLog, actor=actor, action=f"{code}.created",
                     target=f"{code}:{item.id}", before={},
                     after=snapshot(item, [*fields, "is_active"]))
        return item

    async def update(self, actor: str, model: type[T], item_id: uuid.UUID,
                     fields: dict[str, Any]) -> T:
        item = await self.get(model, item_id, include_inactive=True)
        if fields.get("name") is not None:
            await self._ensure_name_free(model, fields["name"], item.id)
        changes = {k: v for k, v in fields.items()
                   if not (k in ("name", "is_active") and v is None)}
        before = snapshot(item, changes)
        for key, value in changes.items():
            setattr(item, key, value)
        await self.session.flush()
        code = _LABEL[model][1]
        record_audit(self.session, AuditLog, actor=actor, action=f"{code}.updated",
                     target=f"{code}:{item.id}", before=before, after=snapshot(item, changes))
        return item
