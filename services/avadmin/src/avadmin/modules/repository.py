from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select

from avadmin.modules.models import Module
from avelar_kit.db.repository import RepositoryBase


class ModuleRepository(RepositoryBase):
    async def list_all(self) -> Sequence[Module]:
        return (await self.session.scalars(select(Module).order_by(Module.created_at,
                                                                   Module.name))).all()

    async def get(self, name: str) -> Module | None:
        return await self.session.get(Module, name)

    async def unknown(self, names: Iterable[str]) -> list[str]:
        wanted = list(names)
        if not wanted:
            return []
        known = set((await self.session.scalars(
            select(Module.name).where(Module.name.in_(wanted), Module.is_active.is_(True))
        )).all())
        return [n for n in wanted if n not in known]
