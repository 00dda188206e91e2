from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from avelar_kit.db import SessionDep
from lucrum.dependencies import CanCreateTransfer, CanDeleteTransfer, CodeGeneratorDep, LucrumUser
from lucrum.transactions.schemas import Page
from lucrum.transfers.schemas import TransferCreate, TransferOut
from lucrum.transfers.service import TransferService

router = APIRouter(prefix="/api/transfers", tags=["transfers"])


@router.post("", response_model=TransferOut, status_code=status.HTTP_201_CREATED)
async def create_transfer(
    body: TransferCreate, session: SessionDep, caller: CanCreateTransfer, codes: CodeGeneratorDep
) -> TransferOut:
    """Move money between two bank accounts of the company: both balances change atomically
    and the two legs (`transfer_out`, `transfer_in`) are never counted as income or expense.
    The origin may go negative (overdraft)."""
    return await TransferService(session, codes).create(caller.account_id, caller.user_id, body)


@router.get("", response_model=Page[TransferOut])
async def list_transfers(
    session: SessionDep, caller: LucrumUser,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[TransferOut]:
    """The company's transfers, newest first."""
    items, total = await TransferService(session).page(
        caller.account_id, offset=(page - 1) * page_size, limit=page_size)
    return Page[TransferOut](items=items, total=total, page=page, page_size=page_size)


@router.get("/{transfer_id}", response_model=TransferOut)
async def get_transfer(
    transfer_id: uuid.UUID, session: SessionDep, caller: LucrumUser
) -> TransferOut:
    """One transfer with the codes of its two legs."""
    return await TransferService(session).get(caller.account_id, transfer_id)


@router.delete("/{transfer_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_transfer(
    transfer_id: uuid.UUID, session: SessionDep, caller: CanDeleteTransfer
) -> Response:
    """Undo a transfer: both legs are removed and both balances restored together."""
    await TransferService(session).delete(caller.account_id, transfer_id,
                                          actor=f"user:{caller.user_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
