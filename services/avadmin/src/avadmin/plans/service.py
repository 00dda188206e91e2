from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from avadmin import events
from avadmin.accounts.repository import AccountRepository
from avadmin.audit.models import AuditLog
from avadmin.modules.service import ModuleService
from avadmin.plans.models import Plan
from avadmin.plans.repository import PlanRepository
from avadmin.plans.schemas import PlanCreate, PlanUpdate
from avelar_kit.audit import record_audit, snapshot
from avelar_kit.errors import Conflict, NotFound

# What account.plan_changed carries: a change to any of these must reach the modules.
EVENT_FIELDS = ("name", "max_products", "max_users", "max_transactions", "features", "modules")


class PlanService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.plans = PlanRepository(session)

    async def create(self, actor: str, data: PlanCreate) -> Plan:
        if await self.plans.get_by_name(data.name):
            raise Conflict("Já existe um plano com este nome", code="plan_name_taken")
        await ModuleService(self.session).ensure_known(data.modules)
        plan = await self.plans.add(Plan(**data.model_dump()))
        record_audit(self.session, AuditLog, actor=actor, action="plan.created",
                     target=f"plan:{plan.id}", before={},
                     after=snapshot(plan, data.model_dump()))
        return plan

    async def update(self, actor: str, plan_id: uuid.UUID, data: PlanUpdate) -> Plan:
        plan = await self.plans.get(plan_id)
        if plan is None:
            raise NotFound("Plano não encontrado", code="plan_not_found")
        changes = data.model_dump(exclude_unset=True, exclude_none=True)
        if "modules" in changes:
            await ModuleService(self.session).ensure_known(changes["modules"])
        if "name" in changes and changes["name"] != plan.name:
            if await self.plans.get_by_name(changes["name"]):
                raise Conflict("Já existe um plano com este nome", code="plan_name_taken")
        before = snapshot(plan, changes)
        for field, value in changes.items():
            setattr(plan, field, value)
        await self.session.flush()
        if changes:
            record_audit(self.session, AuditLog, actor=actor, action="plan.updated",
                         target=f"plan:{plan.id}", before=before, after=snapshot(plan, changes))
        if any(f in changes for f in EVENT_FIELDS):
            # Every company on the plan learns its new limits through an event; a module the
            # plan no longer includes is switched off for them, as a plan change does.
            accounts = await AccountRepository(self.session).on_plan_for_update(plan.id)
            for account in accounts:
                events.account_plan_changed(self.session, account, plan)
                kept = [m for m in account.enabled_modules if m in plan.modules]
                if kept != list(account.enabled_modules):
                    account.enabled_modules = kept
                    events.account_updated(self.session, account)
            await self.session.flush()
        return plan
