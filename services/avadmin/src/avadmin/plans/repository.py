from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from avadmin.models import Plan


class PlanRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list(self, *, only_active: bool = True) -> Sequence[Plan]:
        stmt = select(Plan).order_by(Plan.price, Plan.name)
        if only_active:
            stmt = stmt.where(Plan.is_active.is_(True))
        return (await self.session.scalars(stmt)).all()

    async def get(self, plan_id: uuid.UUID) -> Plan | None:
        return await self.session.get(Plan, plan_id)

    async def get_by_name(self, name: str) -> Plan | None:
        return await self.session.scalar(select(Plan).where(Plan.name == name))

    async def add(self, plan: Plan) -> Plan:
        self.session.add(plan)
        await self.session.flush()
        return plan
