from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from avelar_kit.db import SessionDep
from lucrum.dependencies import (
    CanCreateEntry,
    CanDeleteEntry,
    CanUpdateEntry,
    CodeGeneratorDep,
    LucrumUser,
)
from lucrum.transactions.dependencies import FiltersDep
from lucrum.transactions.schemas import (
    Page,
    TransactionCreate,
    TransactionOut,
    TransactionUpdate,
)
from lucrum.transactions.service import TransactionService

router = APIRouter(prefix="/api/financial-transactions", tags=["financial transactions"])


@router.get("", response_model=Page[TransactionOut])
async def list_transactions(
    session: SessionDep, caller: LucrumUser,
    f: FiltersDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[TransactionOut]:
    """The company's ledger, newest first, filtered by period (`from`, `to`), `type`,
    `category_id`, `bank_account_id` and text (`q`, in the description or the exact code)."""
    rows, total = await TransactionService(session).page(
        caller.account_id, f, offset=(page - 1) * page_size, limit=page_size)
    return Page[TransactionOut](items=[TransactionOut.of(tx, cat) for tx, cat in rows],
                                total=total, page=page, page_size=page_size)


@router.post("", response_model=TransactionOut, status_code=status.HTTP_201_CREATED)
async def create_transaction(
    body: TransactionCreate, session: SessionDep, caller: CanCreateEntry,
    codes: CodeGeneratorDep,
) -> TransactionOut:
    """Post an income or an expense. The bank account's balance changes in the same database
    transaction; the entry gets a code `LC` + 8 digits + check letter. Counts towards the
    plan's monthly `max_transactions`."""
    tx, category = await TransactionService(session, codes).create(caller, body)
    return TransactionOut.of(tx, category)


@router.get("/by-code/{code}", response_model=TransactionOut)
async def get_transaction_by_code(
    code: str, session: SessionDep, caller: LucrumUser
) -> TransactionOut:
    """Find an entry by its code (`LC12345678A`; spaces, dots, hyphens and case are ignored).
    A code whose check letter does not match is refused with 422 before any lookup."""
    tx, category = await TransactionService(session).get_by_code(caller.account_id, code)
    return TransactionOut.of(tx, category)


@router.get("/{transaction_id}", response_model=TransactionOut)
async def get_transaction(
    transaction_id: uuid.UUID, session: SessionDep, caller: LucrumUser
) -> TransactionOut:
    """One ledger entry."""
    tx, category = await TransactionService(session).get(caller.account_id, transaction_id)
    return TransactionOut.of(tx, category)


@router.patch("/{transaction_id}", response_model=TransactionOut)
async def update_transaction(
    transaction_id: uuid.UUID, body: TransactionUpdate, session: SessionDep,
    caller: CanUpdateEntry,
) -> TransactionOut:
    """Edit an entry; the balance is corrected by the difference (or moved between accounts)
    in the same database transaction. Transfer legs are changed through their transfer."""
    tx, category = await TransactionService(session).update(caller.account_id, transaction_id,
                                                            body)
    return TransactionOut.of(tx, category)


@router.delete("/{transaction_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_transaction(
    transaction_id: uuid.UUID, session: SessionDep, caller: CanDeleteEntry
) -> Response:
    """Delete an entry and reverse its effect on the balance."""
    await TransactionService(session).delete(caller.account_id, transaction_id,
                                             actor=f"user:{caller.user_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
