"""Platform operators (SaaS staff): accounts across tenants, plans."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from avadmin.accounts.models import AccountStatus
from avadmin.accounts.repository import AccountRepository
from avadmin.accounts.schemas import AccountOut
from avadmin.accounts.service import AccountService
from avadmin.modules.repository import ModuleRepository
from avadmin.modules.schemas import ModuleCreate, ModuleOut
from avadmin.modules.service import ModuleService
from avadmin.operators.schemas import AccountPage, PlanChange, StatusChange
from avadmin.plans.repository import PlanRepository
from avadmin.plans.schemas import PlanCreate, PlanOut, PlanUpdate
from avadmin.plans.service import PlanService
from avelar_kit.auth.caller import OperatorId
from avelar_kit.db.session import SessionDep

router = APIRouter(prefix="/api/operator", tags=["operators"])


@router.get("/accounts", response_model=AccountPage)
async def list_accounts(
    operator: OperatorId,
    session: SessionDep,
    status_: Annotated[AccountStatus | None, Query(alias="status")] = None,
    q: Annotated[str | None, Query(max_length=100, pattern="^[^\x00]*$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AccountPage:
    """All companies, newest first, filterable by status and name/CNPJ."""
    rows, total = await AccountRepository(session).list(status=status_, search=q, limit=limit,
                                                        offset=offset)
    return AccountPage(items=[AccountOut.model_validate(a) for a in rows], total=total,
                       limit=limit, offset=offset)


@router.post("/accounts/{account_id}/suspend", response_model=AccountOut)
async def suspend_account(account_id: uuid.UUID, operator: OperatorId, session: SessionDep,
                          data: StatusChange | None = None) -> AccountOut:
    """Suspend a company: its users can no longer log in or act in any module."""
    account = await AccountService(session).set_status(
        operator, account_id, AccountStatus.suspended, data.reason if data else None)
    return AccountOut.model_validate(account)


@router.post("/accounts/{account_id}/reactivate", response_model=AccountOut)
async def reactivate_account(account_id: uuid.UUID, operator: OperatorId, session: SessionDep,
                             data: StatusChange | None = None) -> AccountOut:
    """Reactivate a suspended company."""
    account = await AccountService(session).set_status(
        operator, account_id, AccountStatus.active, data.reason if data else None)
    return AccountOut.model_validate(account)


@router.post("/accounts/{account_id}/plan", response_model=AccountOut)
async def change_account_plan(account_id: uuid.UUID, data: PlanChange, operator: OperatorId,
                              session: SessionDep, request: Request) -> AccountOut:
    """Move a company to another plan; the modules learn the new limits by event. Refused with
    409 `plan_usage_exceeded` (listing what to remove) when the company's usage exceeds the new
    plan, unless `force` with a `reason` (recorded in the audit log)."""
    account = await AccountService(session).change_plan(
        operator, account_id, data.plan_id, force=data.force, reason=data.reason,
        usage=request.app.state.usage)
    return AccountOut.model_validate(account)


@router.get("/modules", response_model=list[ModuleOut])
async def list_modules(operator: OperatorId, session: SessionDep) -> list[ModuleOut]:
    """Modules companies can enable: the first-party ones and registered partner modules."""
    return [ModuleOut.model_validate(m) for m in await ModuleRepository(session).list_all()]


@router.post("/modules", response_model=ModuleOut, status_code=status.HTTP_201_CREATED)
async def register_module(data: ModuleCreate, operator: OperatorId,
                          session: SessionDep) -> ModuleOut:
    """Register a partner module; then add it to plans so that companies can enable it."""
    return ModuleOut.model_validate(
        await ModuleService(session).register(f"operator:{operator}", data))


@router.get("/plans", response_model=list[PlanOut])
async def list_all_plans(operator: OperatorId, session: SessionDep) -> list[PlanOut]:
    """Every plan, inactive included."""
    return [PlanOut.model_validate(p)
            for p in await PlanRepository(session).list(only_active=False)]


@router.post("/plans", response_model=PlanOut, status_code=status.HTTP_201_CREATED)
async def create_plan(data: PlanCreate, operator: OperatorId, session: SessionDep) -> PlanOut:
    """Create a plan."""
    return PlanOut.model_validate(
        await PlanService(session).create(f"operator:{operator}", data))


@router.patch("/plans/{plan_id}", response_model=PlanOut)
async def update_plan(plan_id: uuid.UUID, data: PlanUpdate, operator: OperatorId,
                      session: SessionDep) -> PlanOut:
    """Edit a plan; companies on it learn changed limits by event."""
    return PlanOut.model_validate(
        await PlanService(session).update(f"operator:{operator}", plan_id, data))
