"""A company's own data (its admins) and its lifecycle (platform operators)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from avadmin import events
from avadmin.accounts.models import Account, AccountStatus
from avadmin.accounts.repository import AccountRepository
from avadmin.accounts.schemas import AccountUpdate
from avadmin.audit.models import AuditLog
from avadmin.billing.usage import StockTechUsage, excess, read_usage, refuse_if_exceeds
from avadmin.plans.models import Plan
from avadmin.plans.repository import PlanRepository
from avelar_kit.audit import record_audit, snapshot
from avelar_kit.db.tenancy import act_as_system, leave_system
from avelar_kit.errors import Conflict, NotFound, ServiceUnavailable, Unprocessable


def _not_found() -> NotFound:
    return NotFound("Empresa não encontrada", code="account_not_found")


class AccountService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.accounts = AccountRepository(session)

    async def get(self, account_id: uuid.UUID) -> Account:
        account = await self.accounts.get(account_id)
        if account is None:
            raise _not_found()
        return account

    async def update(self, actor: str, account_id: uuid.UUID, data: AccountUpdate) -> Account:
        account = await self.accounts.get(account_id, for_update=True)
        if account is None:
            raise _not_found()
        changes = data.model_dump(exclude_unset=True, exclude_none=True)
        if "cnpj" in changes and changes["cnpj"] != account.cnpj:
            # A CNPJ is unique across the platform: the one question this company's
            # transaction asks about every company (only whether it is taken), then back.
            await act_as_system(self.session)
            taken = await self.accounts.cnpj_taken(changes["cnpj"], exclude=account.id)
            await leave_system(self.session)
            if taken:
                raise Conflict("Já existe uma empresa com este CNPJ", code="cnpj_taken")
        if "enabled_modules" in changes:
            outside = [m for m in changes["enabled_modules"] if m not in account.plan.modules]
            if outside:
                raise Unprocessable(
                    f"O plano {account.plan.name} não inclui: {', '.join(outside)}",
                    code="module_not_in_plan",
                    extra={"errors": [{"field": "enabled_modules",
                                       "message": "módulo fora do plano"}]})
        fields = sorted({*changes, "whatsapp_verified"} if "whatsapp" in changes else changes)
        before = snapshot(account, fields)
        if changes.get("whatsapp", account.whatsapp) != account.whatsapp:
            account.whatsapp_verified = False  # a new number is verified again
        for field, value in changes.items():
            setattr(account, field, value)
        await self.session.flush()
        if changes:
            events.account_updated(self.session, account)
            record_audit(self.session, AuditLog, actor=actor, action="account.updated",
                         account_id=account.id, target=f"account:{account.id}",
                         before=before, after=snapshot(account, fields))
        return account

    async def set_status(self, operator_id: uuid.UUID, account_id: uuid.UUID,
                         status: AccountStatus, reason: str | None) -> Account:
        account = await self.accounts.get(account_id, for_update=True)
        if account is None:
            raise _not_found()
        if account.status == status:
            return account  # idempotent: no second event
        old = account.status
        account.status = status
        await self.session.flush()
        if status == AccountStatus.suspended:
            events.account_suspended(self.session, account)
        else:
            events.account_reactivated(self.session, account)
        record_audit(self.session, AuditLog, actor=f"operator:{operator_id}",
                     action=f"account.{status.value}", account_id=account.id,
                     target=f"account:{account.id}", before={"status": old},
                     after={"status": status}, details={"reason": reason} if reason else {})
        return account

    async def change_plan(self, operator_id: uuid.UUID, account_id: uuid.UUID,
                          plan_id: uuid.UUID, *, force: bool = False, reason: str | None = None,
                          usage: StockTechUsage | None = None) -> Account:
        """An operator's plan change obeys the usage check a company's own change does, unless
        forced; a forced change is recorded with its reason."""
        account = await self.accounts.get(account_id, for_update=True)
        if account is None:
            raise _not_found()
        plan = await PlanRepository(self.session).get(plan_id)
        if plan is None or not plan.is_active:
            raise Unprocessable("Plano não encontrado ou inativo", code="plan_not_found")
        if plan.id == account.plan_id:
            return account
        if force and not (reason and reason.strip()):
            raise Unprocessable("Informe o motivo para forçar a mudança de plano",
                                code="reason_required",
                                extra={"errors": [{"field": "reason",
                                                   "message": "obrigatório com force"}]})
        over: list[dict[str, object]] = []
        current = None
        try:
            current = await read_usage(self.session, account.id, usage)
        except ServiceUnavailable:
            if not force:
                raise
        if current is not None:
            over = excess(current, plan)
            if not force:
                refuse_if_exceeds(current, plan)
        old = account.plan.name
        await self.apply_plan(account, plan)
        details: dict[str, object] = {}
        if force:
            details.update(forced=True, reason=reason, exceeded=over)
        record_audit(self.session, AuditLog, actor=f"operator:{operator_id}",
                     action="account.plan_changed", account_id=account.id,
                     target=f"account:{account.id}", before={"plan": old},
                     after={"plan": plan.name}, details=details)
        return account

    async def apply_plan(self, account: Account, plan: Plan, *,
                         enable_new_modules: bool = False) -> None:
        """Move the company onto ``plan`` (locked row) and tell the modules: account.plan_changed
        with the full limits and features, account.updated when the modules changed."""
        old_modules = set(account.plan.modules)
        account.plan_id = plan.id
        modules_before = list(account.enabled_modules)
        modules = [m for m in account.enabled_modules if m in plan.modules]
        if enable_new_modules:
            modules += [m for m in plan.modules if m not in old_modules and m not in modules]
        account.enabled_modules = modules
        await self.session.flush()
        await self.accounts.refresh_plan(account)
        events.account_plan_changed(self.session, account, plan)
        if account.enabled_modules != modules_before:
            events.account_updated(self.session, account)
