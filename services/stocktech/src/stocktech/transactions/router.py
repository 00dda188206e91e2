"""Purchases between companies."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, status
from fastapi.responses import JSONResponse

from avelar_kit.db.session import SessionDep
from stocktech.dependencies import (
    AvAdminDep,
    CanBuy,
    CanCancel,
    CanComplete,
    SettingsDep,
    StockTechUser,
)
from stocktech.transactions.models import TransactionStatus
from stocktech.transactions.schemas import (
    PurchaseCreate,
    Role,
    TransactionOut,
    TransactionPage,
)
from stocktech.transactions.service import TransactionService

router = APIRouter(prefix="/api/transactions", tags=["transactions"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID is fine). Retrying with the same key and body "
        "returns the first answer without buying again; the same key with another body is 422.",
    ),
]


@router.post("", response_model=TransactionOut, status_code=status.HTTP_201_CREATED,
             responses={201: {"headers": {"Idempotent-Replayed": {
                 "description": "true when this is the stored answer of an earlier request",
                 "schema": {"type": "string"}}}}})
async def create_purchase(
    session: SessionDep, caller: CanBuy, avadmin: AvAdminDep, settings: SettingsDep,
    body: PurchaseCreate, idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Buy ``quantity`` units of another company's product.

    The units are reserved at once (never more than the stock, however many buyers race), the
    unit price is captured, and the answer carries a wa.me link to talk to the seller. The
    transaction stays ``pending`` until the seller completes it or either side cancels it."""
    result = await TransactionService(session).purchase(
        avadmin, caller, body, idempotency_key=idempotency_key,
        event_precedence_seconds=settings.event_precedence_seconds,
    )
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return JSONResponse(result.body, status_code=result.status_code, headers=headers)


@router.get("", response_model=TransactionPage)
async def list_transactions(
    session: SessionDep, caller: StockTechUser,
    role: Annotated[Role | None, Query(description="buyer or seller; both when absent")] = None,
    status: TransactionStatus | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> TransactionPage:
    """The caller's company's purchases and sales, newest first."""
    return await TransactionService(session).list(caller, role=role, status=status, page=page,
                                                  page_size=page_size)


@router.get("/{transaction_id}", response_model=TransactionOut)
async def get_transaction(
    session: SessionDep, caller: StockTechUser, transaction_id: uuid.UUID
) -> TransactionOut:
    """One transaction, visible only to its buyer and its seller (404 for anyone else)."""
    return await TransactionService(session).get(caller, transaction_id)


@router.post("/{transaction_id}/complete", response_model=TransactionOut)
async def complete_transaction(
    session: SessionDep, caller: CanComplete, transaction_id: uuid.UUID
) -> TransactionOut:
    """The seller confirms the sale. Emits ``stocktech.transaction.completed`` (for Lucrum)."""
    return await TransactionService(session).complete(caller, transaction_id)


@router.post("/{transaction_id}/cancel", response_model=TransactionOut)
async def cancel_transaction(
    session: SessionDep, caller: CanCancel, transaction_id: uuid.UUID
) -> TransactionOut:
    """Buyer or seller gives up a pending transaction; the reserved units return to stock."""
    return await TransactionService(session).cancel(caller, transaction_id)
