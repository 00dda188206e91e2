from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from avadmin import events
from avadmin.models import Account, Plan
from avadmin.plans.repository import PlanRepository
from avadmin.plans.schemas import PlanCreate, PlanUpdate
from avelar_kit.errors import Conflict, NotFound

LIMIT_FIELDS = ("max_products", "max_users", "max_transactions", "features")


class PlanService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.plans = PlanRepository(session)

    async def create(self, data: PlanCreate) -> Plan:
        if await self.plans.get_by_name(data.name):
            raise Conflict("Já existe um plano com este nome", code="plan_name_taken")
        return await self.plans.add(Plan(**data.model_dump()))

    async def update(self, plan_id: uuid.UUID, data: PlanUpdate) -> Plan:
        plan = await self.plans.get(plan_id)
        if plan is None:
            raise NotFound("Plano não encontrado", code="plan_not_found")
        changes = data.model_dump(exclude_unset=True, exclude_none=True)
        if "name" in changes and changes["name"] != plan.name:
            if await self.plans.get_by_name(changes["name"]):
                raise Conflict("Já existe um plano com este nome", code="plan_name_taken")
        for field, value in changes.items():
            setattr(plan, field, value)
        await self.session.flush()
        if any(f in changes for f in LIMIT_FIELDS):
            # Every company on the plan learns its new limits through an event.
            accounts = (await self.session.scalars(
                select(Account).where(Account.plan_id == plan.id))).all()
            for account in accounts:
                events.account_plan_changed(self.session, account, plan)
        return plan
