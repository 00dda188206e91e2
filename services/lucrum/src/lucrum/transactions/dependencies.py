from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import Depends, Query

from avelar_kit.errors import Unprocessable
from lucrum.transactions.models import TransactionType
from lucrum.transactions.schemas import TransactionFilters


async def filters(
    date_from: Annotated[date | None, Query(alias="from", description="Data inicial")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="Data final")] = None,
    type: Annotated[TransactionType | None, Query()] = None,
    category_id: uuid.UUID | None = None,
    bank_account_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Texto na descrição ou código")]
    = None,
) -> TransactionFilters:
    if date_from and date_to and date_from > date_to:
        raise Unprocessable("A data inicial é posterior à final", code="invalid_period")
    return TransactionFilters(date_from=date_from, date_to=date_to, type=type,
                              category_id=category_id, bank_account_id=bank_account_id, q=q)


FiltersDep = Annotated[TransactionFilters, Depends(filters)]
