from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from avadmin.plans.models import Plan
from avelar_kit.db.repository import RepositoryBase


class PlanRepository(RepositoryBase):
    async def list(self, *, only_active: bool = True) -> Sequence[Plan]:
        stmt = select(Plan).order_by(Plan.price, Plan.name)
        if only_active:
            stmt = stmt.where(Plan.is_active.is_(True))
        return (await self.session.scalars(stmt)).all()

    async def get(self, plan_id: uuid.UUID) -> Plan | None:
        return await self.session.get(Plan, plan_id)

    async def get_by_name(self, name: str) -> Plan | None:
        return await self.session.scalar(select(Plan).where(Plan.name == name))
