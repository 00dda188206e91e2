from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from avelar_kit.br.types import NonNegativeMoney
from stocktech.transactions.models import TransactionStatus

MAX_QUANTITY = 100_000


class PurchaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: uuid.UUID
    quantity: Annotated[int, Field(gt=0, le=MAX_QUANTITY, strict=True)]


class TransactionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    product_id: uuid.UUID
    product_code: str
    product_name: str
    buyer_account_id: uuid.UUID
    buyer_user_id: uuid.UUID
    seller_account_id: uuid.UUID
    seller_user_id: uuid.UUID
    quantity: int
    unit_price: NonNegativeMoney
    total_amount: NonNegativeMoney
    status: TransactionStatus
    whatsapp_chat_id: str | None
    whatsapp_link: str | None
    created_at: datetime
    completed_at: datetime | None
    completed_by_user_id: uuid.UUID | None
    cancelled_at: datetime | None
    cancelled_by_user_id: uuid.UUID | None


class TransactionPage(BaseModel):
    items: list[TransactionOut]
    total: int
    page: int
    page_size: int


class Role(enum.StrEnum):
    buyer = "buyer"
    seller = "seller"
