from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.errors import Conflict, NotFound, Unprocessable
from lucrum.bank_accounts import repository as repo
from lucrum.bank_accounts.models import BankAccount
from lucrum.bank_accounts.schemas import BankAccountCreate, BankAccountUpdate, ReconcileOut
from lucrum.banks.data import bank_name


class BankAccountNotFound(NotFound):
    code = "bank_account_not_found"


def not_found() -> BankAccountNotFound:
    return BankAccountNotFound("Conta bancária não encontrada")


async def get(session: AsyncSession, company: uuid.UUID, bank_account_id: uuid.UUID) -> BankAccount:
    account = await repo.get(session, company, bank_account_id)
    if account is None:
        raise not_found()
    return account


async def get_active(
    session: AsyncSession, company: uuid.UUID, bank_account_id: uuid.UUID
) -> BankAccount:
    """A bank account of this company that can receive postings (404 / 409 otherwise)."""
    account = await get(session, company, bank_account_id)
    if not account.is_active:
        raise Conflict("A conta bancária está desativada; reative-a antes de lançar nela",
                       code="bank_account_inactive")
    return account


async def create(session: AsyncSession, company: uuid.UUID, data: BankAccountCreate) -> BankAccount:
    if await repo.identity_taken(session, company, data.bank_code, data.agency,
                                 data.account_number):
        raise Conflict("Esta conta (banco, agência e número) já está cadastrada",
                       code="bank_account_exists")
    make_default = data.is_default
    if make_default is None:
        make_default = not await repo.has_default(session, company)
    if make_default:
        await repo.clear_default(session, company)
    account = BankAccount(
        id=uuid.uuid4(), account_id=company,
        name=data.name or bank_name(data.bank_code) or data.bank_code,
        bank_code=data.bank_code, agency=data.agency, account_number=data.account_number,
        account_type=data.account_type, opening_balance=data.opening_balance,
        balance=data.opening_balance, is_default=make_default, is_active=True,
    )
    session.add(account)
    await session.flush()
    await session.refresh(account)
    return account


async def update(
    session: AsyncSession, company: uuid.UUID, bank_account_id: uuid.UUID,
    data: BankAccountUpdate,
) -> BankAccount:
    account = await get(session, company, bank_account_id)
    changes = data.model_dump(exclude_unset=True)
    for field in ("name", "bank_code", "agency", "account_number", "account_type", "is_active",
                  "is_default", "opening_balance"):
        if field in changes and changes[field] is None:
            raise_null(field)
    bank_code = changes.get("bank_code", account.bank_code)
    agency = changes.get("agency", account.agency)
    number = changes.get("account_number", account.account_number)
    if (bank_code, agency, number) != (account.bank_code, account.agency, account.account_number):
        if await repo.identity_taken(session, company, bank_code, agency, number,
                                     except_id=account.id):
            raise Conflict("Esta conta (banco, agência e número) já está cadastrada",
                           code="bank_account_exists")
    is_active = changes.get("is_active", account.is_active)
    is_default = changes.get("is_default", account.is_default)
    if not is_active and changes.get("is_default") is True:
        raise Conflict("Uma conta desativada não pode ser a conta padrão",
                       code="default_must_be_active")
    if not is_active:
        is_default = False
    if is_default and not account.is_default:
        previous = await repo.default_for(session, company)
        # Both rows locked up front in id order; locking the old default first and this one at
        # the flush deadlocked with transfers between the two.
        await repo.lock(session, [account.id] + ([previous.id] if previous else []))
        await repo.clear_default(session, company, except_id=account.id)
        await session.flush()
    for field in ("name", "bank_code", "agency", "account_number", "account_type"):
        if field in changes:
            setattr(account, field, changes[field])
    account.is_active = is_active
    account.is_default = is_default
    await session.flush()
    if "opening_balance" in changes:
        await repo.set_opening_balance(session, account.id, changes["opening_balance"])
    await session.refresh(account)
    return account


def raise_null(field: str) -> None:
    raise Unprocessable(f"O campo {field} não pode ser nulo", code="null_not_allowed")


async def remove(session: AsyncSession, company: uuid.UUID, bank_account_id: uuid.UUID) -> bool:
    """Hard delete when nothing refers to the account; otherwise deactivate it (its history
    stays). Returns True when it was deleted."""
    account = await get(session, company, bank_account_id)
    if await repo.is_referenced(session, account.id):
        account.is_active = False
        account.is_default = False
        await session.flush()
        return False
    await session.delete(account)
    await session.flush()
    return True


async def reconcile(
    session: AsyncSession, company: uuid.UUID, bank_account_id: uuid.UUID
) -> ReconcileOut:
    await get(session, company, bank_account_id)
    rows = await repo.ledger_sums(session, company, bank_account_id)
    (bid, opening, ledger, balance), = rows
    computed = opening + ledger
    return ReconcileOut(bank_account_id=bid, opening_balance=opening, ledger_sum=ledger,
                        computed_balance=computed, balance=balance, drift=balance - computed)
