from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from avelar_kit.db import SessionDep
from lucrum.bank_accounts.schemas import (
    BankAccountCreate,
    BankAccountOut,
    BankAccountUpdate,
    ReconcileOut,
)
from lucrum.bank_accounts.service import BankAccountService
from lucrum.dependencies import (
    CanCreateBankAccount,
    CanDeleteBankAccount,
    CanUpdateBankAccount,
    LucrumUser,
)

router = APIRouter(prefix="/api/bank-accounts", tags=["bank accounts"])


@router.get("", response_model=list[BankAccountOut])
async def list_bank_accounts(
    session: SessionDep, caller: LucrumUser,
    include_inactive: Annotated[bool, Query(description="Incluir contas desativadas")] = False,
) -> list[BankAccountOut]:
    """The company's bank accounts with their current balances (default account first)."""
    rows = await BankAccountService(session).list(caller.account_id,
                                                  include_inactive=include_inactive)
    return [BankAccountOut.of(r) for r in rows]


@router.post("", response_model=BankAccountOut, status_code=status.HTTP_201_CREATED)
async def create_bank_account(
    body: BankAccountCreate, session: SessionDep, caller: CanCreateBankAccount
) -> BankAccountOut:
    """Register a bank account. `bank_code` is a COMPE code from `GET /api/banks`; the balance
    starts at `opening_balance`. The company's first account becomes its default (where
    StockTech sales are posted) unless `is_default` says otherwise."""
    account = await BankAccountService(session).create(caller.account_id, body,
                                                       actor=f"user:{caller.user_id}")
    return BankAccountOut.of(account)


@router.get("/{bank_account_id}", response_model=BankAccountOut)
async def get_bank_account(
    bank_account_id: uuid.UUID, session: SessionDep, caller: LucrumUser
) -> BankAccountOut:
    """One bank account with its current balance."""
    account = await BankAccountService(session).get(caller.account_id, bank_account_id)
    return BankAccountOut.of(account)


@router.patch("/{bank_account_id}", response_model=BankAccountOut)
async def update_bank_account(
    bank_account_id: uuid.UUID, body: BankAccountUpdate, session: SessionDep,
    caller: CanUpdateBankAccount,
) -> BankAccountOut:
    """Change an account's details. Changing `opening_balance` moves the balance by the same
    difference; `is_default: true` moves the default flag here; `is_active: false` deactivates."""
    account = await BankAccountService(session).update(caller.account_id, bank_account_id,
                                                       body, actor=f"user:{caller.user_id}")
    return BankAccountOut.of(account)


@router.delete("/{bank_account_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_bank_account(
    bank_account_id: uuid.UUID, session: SessionDep, caller: CanDeleteBankAccount
) -> Response:
    """Remove an account. One with transactions or transfers is never deleted: it is
    deactivated and keeps its history (reactivate with PATCH `is_active: true`)."""
    await BankAccountService(session).remove(caller.account_id, bank_account_id,
                                             actor=f"user:{caller.user_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{bank_account_id}/reconcile", response_model=ReconcileOut)
async def reconcile_bank_account(
    bank_account_id: uuid.UUID, session: SessionDep, caller: LucrumUser
) -> ReconcileOut:
    """Recompute the balance from the opening balance and the ledger and compare it with the
    stored balance. `drift` is always 0 unless something bypassed the ledger."""
    return await BankAccountService(session).reconcile(caller.account_id, bank_account_id)
