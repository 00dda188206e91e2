from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from lucrum.db import ZERO


class Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    type: str
    occurred_at: datetime | None = None
    source: str | None = None
    schema_version: int = 1
    data: dict[str, object] = Field(default_factory=dict)


class StockTechSale(BaseModel):
    """``stocktech.transaction.completed`` data (docs/stocktech-events.md). Amounts arrive as
    strings and are read as Decimal; unknown fields are ignored (tolerant reader)."""

    model_config = ConfigDict(extra="ignore")

    transaction_id: uuid.UUID
    product_id: uuid.UUID | None = None
    product_code: str | None = None
    product_name: str = "Produto"
    quantity: int = Field(gt=0)
    unit_price: Decimal | None = None
    # Zero is legal (a product given away): nothing to post, but not an error either.
    total_amount: Decimal = Field(ge=ZERO, max_digits=15, decimal_places=2)
    seller_account_id: uuid.UUID
    seller_user_id: uuid.UUID | None = None
    buyer_account_id: uuid.UUID
    buyer_user_id: uuid.UUID | None = None
    completed_at: datetime
