from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from avelar_kit.br import Money
from lucrum.bank_accounts.models import AccountType, BankAccount
from lucrum.banks.data import BANKS, bank_label, bank_name
from lucrum.db import ZERO
from lucrum.money import MoneyTotal
from lucrum.text import NoControlChars


def _bank_code(value: str) -> str:
    code = value.strip()
    if code.isdigit() and len(code) < 3:
        code = code.zfill(3)
    if code not in BANKS:
        raise ValueError("código de banco desconhecido; consulte GET /api/banks")
    return code


def _agency(value: str) -> str:
    cleaned = re.sub(r"[\s.]", "", value).upper()
    if re.fullmatch(r"[0-9]{4}", cleaned) or re.fullmatch(r"[0-9]{4}-[0-9X]", cleaned):
        return cleaned
    if re.fullmatch(r"[0-9]{5}", cleaned):  # typed without the hyphen before the check digit
        return f"{cleaned[:4]}-{cleaned[4]}"
    raise ValueError("agência inválida; use 4 dígitos e, se houver, o dígito: 1234 ou 1234-5")


def _account_number(value: str) -> str:
    cleaned = re.sub(r"[\s.]", "", value).upper()
    match = re.fullmatch(r"([0-9]{1,12})-?([0-9X])", cleaned)
    if match is None:
        raise ValueError("conta inválida; use o número com o dígito: 12345-6")
    return f"{match[1]}-{match[2]}"


BankCode = Annotated[str, AfterValidator(_bank_code)]
Agency = Annotated[str, StringConstraints(max_length=12), AfterValidator(_agency)]
AccountNumber = Annotated[str, StringConstraints(max_length=24), AfterValidator(_account_number)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
                 NoControlChars]


class BankAccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = Field(default=None, description="Apelido; padrão: o nome do banco")
    bank_code: BankCode = Field(examples=["341"])
    agency: Agency = Field(examples=["1234"])
    account_number: AccountNumber = Field(examples=["12345-6"])
    account_type: AccountType = AccountType.checking
    opening_balance: Money = Field(default=ZERO, description="Saldo no início do controle")
    is_default: bool | None = Field(
        default=None,
        description="Conta onde as vendas do StockTech entram. Omitido: a primeira conta ativa "
        "da empresa vira a padrão.",
    )


class BankAccountUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    bank_code: BankCode | None = None
    agency: Agency | None = None
    account_number: AccountNumber | None = None
    account_type: AccountType | None = None
    opening_balance: Money | None = None
    is_default: bool | None = None
    is_active: bool | None = None


class BankAccountOut(BaseModel):
    id: uuid.UUID
    name: str
    bank_code: str
    bank_name: str | None
    bank_label: str = Field(examples=["341 - Itaú Unibanco"])
    agency: str
    account_number: str
    account_type: AccountType
    opening_balance: Money
    balance: Money
    is_default: bool
    is_active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, obj: BankAccount) -> BankAccountOut:
        return cls(
            id=obj.id, name=obj.name, bank_code=obj.bank_code, bank_name=bank_name(obj.bank_code),
            bank_label=bank_label(obj.bank_code), agency=obj.agency,
            account_number=obj.account_number, account_type=obj.account_type,
            opening_balance=obj.opening_balance, balance=obj.balance, is_default=obj.is_default,
            is_active=obj.is_active, created_at=obj.created_at, updated_at=obj.updated_at,
        )


class ReconcileOut(BaseModel):
    bank_account_id: uuid.UUID
    opening_balance: Money
    ledger_sum: MoneyTotal
    computed_balance: MoneyTotal
    balance: Money
    drift: MoneyTotal = Field(description="balance - computed_balance; sempre 0 num livro íntegro")


