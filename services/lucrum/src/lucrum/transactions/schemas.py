from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from avelar_kit.br import PositiveMoney
from lucrum import clock
from lucrum.text import NoControlChars
from lucrum.transactions.models import FinancialTransaction, TransactionSource, TransactionType

Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=500), NoControlChars]
EntryDate = Annotated[date, AfterValidator(clock.plausible)]


class EntryType(StrEnum):
    """What a person posts by hand: money in or money out. Transfers have their own endpoint."""

    income = "income"
    expense = "expense"


class TransactionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bank_account_id: uuid.UUID
    description: Description
    amount: PositiveMoney = Field(description="Sempre positivo; `type` dá o sentido")
    type: EntryType
    category_id: uuid.UUID | None = None
    transaction_date: EntryDate | None = Field(default=None,
                                               description="Padrão: hoje (Brasília)")


class TransactionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bank_account_id: uuid.UUID | None = None
    description: Description | None = None
    amount: PositiveMoney | None = None
    type: EntryType | None = None
    category_id: uuid.UUID | None = Field(default=None, description="null remove a categoria")
    transaction_date: EntryDate | None = None


class TransactionOut(BaseModel):
    id: uuid.UUID
    code: str = Field(examples=["LC12345678A"])
    bank_account_id: uuid.UUID
    description: str
    amount: PositiveMoney
    type: TransactionType
    category_id: uuid.UUID | None
    category: str | None
    transaction_date: date
    source: TransactionSource
    source_ref: str | None = Field(description="Origem, ex.: stocktech:<id da transação>:sale")
    external_id: str | None
    transfer_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, tx: FinancialTransaction, category: str | None) -> TransactionOut:
        return cls(
            id=tx.id, code=tx.code, bank_account_id=tx.bank_account_id,
            description=tx.description, amount=tx.amount, type=tx.type,
            category_id=tx.category_id, category=category, transaction_date=tx.transaction_date,
            source=tx.source, source_ref=tx.source_ref, external_id=tx.external_id,
            transfer_id=tx.transfer_id, created_at=tx.created_at, updated_at=tx.updated_at,
        )


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


class TransactionFilters(BaseModel):
    date_from: date | None = None
    date_to: date | None = None
    type: TransactionType | None = None
    category_id: uuid.UUID | None = None
    bank_account_id: uuid.UUID | None = None
    q: str | None = None
