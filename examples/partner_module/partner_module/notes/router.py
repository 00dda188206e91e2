from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from avelar_kit.auth import UserPrincipal
from avelar_kit.avadmin import AvAdminReader
from avelar_kit.db import SessionDep
from avelar_kit.errors import NotFound
from partner_module.models import AccountLimits, Note

router = APIRouter(prefix="/api/partner", tags=["notes"])


async def get_avadmin(request: Request) -> AvAdminReader:
    reader: AvAdminReader = request.app.state.avadmin
    return reader


AvAdmin = Annotated[AvAdminReader, Depends(get_avadmin)]


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=500)


class NoteOut(BaseModel):
    id: uuid.UUID
    text: str


class CompanyOut(BaseModel):
    company_name: str
    plan: str
    max_products: int


@router.get("/company", response_model=CompanyOut)
async def company(principal: UserPrincipal, avadmin: AvAdmin) -> CompanyOut:
    """The caller's company as AvAdmin describes it (cached; last known copy if AvAdmin is
    down)."""
    _, account_id = principal.require_user()
    account = await avadmin.get_account(account_id)
    if account is None:
        raise NotFound("Empresa não encontrada", code="account_not_found")
    return CompanyOut(company_name=account.company_name, plan=account.plan.name,
                      max_products=account.plan.max_products)


@router.post("/notes", response_model=NoteOut, status_code=status.HTTP_201_CREATED)
async def add_note(data: NoteIn, principal: UserPrincipal, session: SessionDep) -> NoteOut:
    """Write something: the access rules already required fresh enough AvAdmin data."""
    _, account_id = principal.require_user()
    note = Note(account_id=account_id, text=data.text)
    session.add(note)
    await session.flush()
    return NoteOut(id=note.id, text=note.text)


class LimitsOut(BaseModel):
    plan_name: str
    max_products: int
    changes: int


@router.get("/limits", response_model=LimitsOut)
async def limits(principal: UserPrincipal, session: SessionDep) -> LimitsOut:
    """Plan limits as received through the ``account.plan_changed`` event."""
    _, account_id = principal.require_user()
    row = await session.scalar(select(AccountLimits).where(AccountLimits.account_id == account_id))
    if row is None:
        raise NotFound("Nenhuma mudança de plano recebida", code="limits_not_found")
    return LimitsOut(plan_name=row.plan_name, max_products=row.max_products, changes=row.changes)
