from __future__ import annotations

import uuid

from fastapi import APIRouter

from avadmin.accounts.models import Account
from avadmin.accounts.schemas import (
    AccountOut,
    AccountUpdate,
    InternalAccountOut,
    InternalPlanOut,
    PlanSummaryOut,
)
from avadmin.accounts.service import AccountService
from avadmin.dependencies import ReaderPrincipal, visible_account
from avadmin.permissions import CanUpdateAccount
from avadmin.security.scopes import minimised
from avelar_kit.auth.dependencies import UserPrincipal
from avelar_kit.db.session import SessionDep

router = APIRouter(tags=["accounts"])


@router.get("/api/accounts/me", response_model=AccountOut)
async def my_account(principal: UserPrincipal, session: SessionDep) -> AccountOut:
    """The caller's company, with its plan."""
    assert principal.account_id is not None
    return AccountOut.model_validate(await AccountService(session).get(principal.account_id))


@router.patch("/api/accounts/me", response_model=AccountOut)
async def update_my_account(data: AccountUpdate, admin: CanUpdateAccount,
                            session: SessionDep) -> AccountOut:
    """Edit the company's data and enabled modules (within the plan). Admins only."""
    assert admin.account_id is not None
    account = await AccountService(session).update(f"user:{admin.user_id}", admin.account_id,
                                                   data)
    return AccountOut.model_validate(account)


def internal_account(account: Account) -> InternalAccountOut:
    return InternalAccountOut(
        id=account.id, company_name=account.company_name, cnpj=account.cnpj,
        whatsapp=account.whatsapp, enabled_modules=list(account.enabled_modules),
        status=account.status,
        plan=PlanSummaryOut(id=account.plan.id, name=account.plan.name,
                            max_products=account.plan.max_products,
                            max_users=account.plan.max_users,
                            max_transactions=account.plan.max_transactions,
                            features=list(account.plan.features)),
    )


@router.get("/api/accounts/{account_id}", response_model=InternalAccountOut)
async def get_account(account_id: uuid.UUID, principal: ReaderPrincipal,
                      session: SessionDep) -> InternalAccountOut:
    """Internal API (the seed's fields): a company and its plan summary."""
    visible_account(principal, account_id)
    out = internal_account(await AccountService(session).get(account_id))
    return InternalAccountOut.model_validate(minimised(principal, "account", out.model_dump()))


@router.get("/api/accounts/{account_id}/plan", response_model=InternalPlanOut)
async def get_account_plan(account_id: uuid.UUID, principal: ReaderPrincipal,
                           session: SessionDep) -> InternalPlanOut:
    """Internal API: the company's plan and limits; `status` is the company's status."""
    visible_account(principal, account_id)
    account = await AccountService(session).get(account_id)
    plan = account.plan
    return InternalPlanOut(id=plan.id, name=plan.name, max_products=plan.max_products,
                           max_users=plan.max_users, max_transactions=plan.max_transactions,
                           features=list(plan.features), status=account.status)
