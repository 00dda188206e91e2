from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from avelar_kit.br import Money
from avelar_kit.db import SessionDep
from lucrum.dependencies import LucrumUser
from lucrum.events.repository import PendingPostingRepository

router = APIRouter(prefix="/api/pending-postings", tags=["pending postings"])


class PendingPostingOut(BaseModel):
    id: uuid.UUID
    side: str = Field(description="sale (receita do vendedor) ou purchase (despesa do comprador)")
    reason: str = Field(description="no_default_bank_account ou lucrum_not_enabled")
    stocktech_transaction_id: uuid.UUID
    product_name: str
    total_amount: Money
    created_at: datetime
    posted_at: datetime | None
    transaction_id: uuid.UUID | None = Field(description="O lançamento criado, quando postado")


@router.get("", response_model=list[PendingPostingOut])
async def list_pending_postings(
    session: SessionDep, caller: LucrumUser,
    include_posted: Annotated[bool, Query(description="Incluir as já lançadas")] = False,
) -> list[PendingPostingOut]:
    """StockTech sales of the company that are waiting for a default bank account (posted once,
    as soon as one exists)."""
    rows = await PendingPostingRepository(session).list_for(caller.account_id,
                                                            include_posted=include_posted)
    return [PendingPostingOut(
        id=r.id, side=r.side, reason=r.reason,
        stocktech_transaction_id=uuid.UUID(str(r.sale["transaction_id"])),
        product_name=str(r.sale.get("product_name", "")),
        total_amount=Decimal(str(r.sale["total_amount"])), created_at=r.created_at,
        posted_at=r.posted_at, transaction_id=r.transaction_id) for r in rows]
