from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from avelar_kit.br import PositiveMoney
from lucrum.transactions.schemas import Description, EntryDate


class TransferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_bank_account_id: uuid.UUID
    to_bank_account_id: uuid.UUID
    amount: PositiveMoney
    transfer_date: EntryDate | None = Field(default=None, description="Padrão: hoje (Brasília)")
    description: Description | None = Field(default=None,
                                            description="Padrão: 'Transferência entre contas'")

    @model_validator(mode="after")
    def _distinct(self) -> TransferCreate:
        if self.from_bank_account_id == self.to_bank_account_id:
            raise ValueError("as contas de origem e destino devem ser diferentes")
        return self


class LegOut(BaseModel):
    id: uuid.UUID
    code: str
    bank_account_id: uuid.UUID


class TransferOut(BaseModel):
    id: uuid.UUID
    from_bank_account_id: uuid.UUID
    to_bank_account_id: uuid.UUID
    amount: PositiveMoney
    transfer_date: date
    description: str
    outgoing: LegOut | None
    incoming: LegOut | None
    created_at: datetime
