from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field

from lucrum.money import MoneyTotal


class GroupBy(StrEnum):
    month = "month"
    category = "category"


class CashFlowRow(BaseModel):
    period: str | None = Field(default=None, examples=["2025-03"])
    category_id: uuid.UUID | None = None
    category: str | None = Field(default=None, description="null: sem categoria")
    income: MoneyTotal
    expense: MoneyTotal
    net: MoneyTotal


class CashFlowTotals(BaseModel):
    income: MoneyTotal
    expense: MoneyTotal
    net: MoneyTotal


class CashFlowOut(BaseModel):
    date_from: date = Field(serialization_alias="from")
    date_to: date = Field(serialization_alias="to")
    group_by: GroupBy
    bank_account_id: uuid.UUID | None
    rows: list[CashFlowRow]
    totals: CashFlowTotals


class BalanceRow(BaseModel):
    bank_account_id: uuid.UUID
    name: str
    bank_code: str
    is_active: bool
    balance: MoneyTotal


class BalancesOut(BaseModel):
    date: date
    accounts: list[BalanceRow]
    total: MoneyTotal


class DriftRow(BaseModel):
    bank_account_id: uuid.UUID
    opening_balance: MoneyTotal
    ledger_sum: MoneyTotal
    computed_balance: MoneyTotal
    balance: MoneyTotal
    drift: MoneyTotal


class DriftOut(BaseModel):
    ok: bool = Field(description="true quando nenhuma conta tem diferença")
    accounts: list[DriftRow]
