"""Internal API for AvAdmin: a company's usage against its plan (issue 11, plan changes)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel

from avelar_kit.auth.dependencies import ServicePrincipal
from avelar_kit.db.session import SessionDep
from stocktech.products.repository import ProductRepository
from stocktech.transactions.repository import TransactionRepository

router = APIRouter(prefix="/api/internal", tags=["internal"])


class UsageOut(BaseModel):
    account_id: uuid.UUID
    products_active: int
    purchases_this_month: int


@router.get("/accounts/{account_id}/usage", response_model=UsageOut)
async def account_usage(account_id: uuid.UUID, service: ServicePrincipal,
                        session: SessionDep) -> UsageOut:
    """Active products and this month's purchases (not cancelled) of a company, as counted for
    the plan's max_products and max_transactions. Internal services only."""
    return UsageOut(
        account_id=account_id,
        products_active=await ProductRepository(session).count_active(account_id),
        purchases_this_month=await TransactionRepository(session).count_this_month_as_buyer(
            account_id))
