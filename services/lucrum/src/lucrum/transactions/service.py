"""Ledger rules: every entry and its balance effect are written in one database transaction."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.auth.caller import Caller
from avelar_kit.errors import (
    Conflict,
    NotFound,
    PlanLimitReached,
    ServiceUnavailable,
    Unprocessable,
)
from avelar_kit.metrics import POSTINGS
from lucrum import clock, ledger
from lucrum.bank_accounts import service as bank_accounts
from lucrum.categories import repository as categories_repo
from lucrum.categories import service as categories
from lucrum.categories.models import CategoryKind
from lucrum.codes import CodeGenerator, normalize_code
from lucrum.transactions import repository as repo
from lucrum.transactions.models import FinancialTransaction, TransactionSource, TransactionType
from lucrum.transactions.schemas import EntryType, TransactionCreate, TransactionUpdate

logger = logging.getLogger("lucrum.transactions")

CODE_CONSTRAINT = "uq_financial_transactions_code"
CODE_ATTEMPTS = 12


class TransactionNotFound(NotFound):
    code = "transaction_not_found"


def constraint_of(exc: IntegrityError) -> str | None:
    cause = getattr(exc.orig, "__cause__", None)
    name = getattr(cause, "constraint_name", None)
    return str(name) if name else None


@dataclass(frozen=True, slots=True)
class Posting:
    company: uuid.UUID
    bank_account_id: uuid.UUID
    type: TransactionType
    amount: Decimal
    description: str
    transaction_date: date
    category_id: uuid.UUID | None = None
    source: TransactionSource = TransactionSource.manual
    source_ref: str | None = None
    external_id: str | None = None
    transfer_id: uuid.UUID | None = None
    created_by: uuid.UUID | None = None


async def insert_entry(
    session: AsyncSession, p: Posting, codes: CodeGenerator
) -> FinancialTransaction:
    """Insert one entry under a fresh random code, retrying on the (rare) code collision.

    The insert runs in a savepoint so that a collision rolls back only itself, not the request's
    transaction. The balance is not touched here: callers apply all effects together (in id
    order) once their entries exist.
    """
    for attempt in range(1, CODE_ATTEMPTS + 1):
        tx = FinancialTransaction(
            id=uuid.uuid4(), account_id=p.company, bank_account_id=p.bank_account_id,
            code=codes(), description=p.description, amount=p.amount, type=p.type,
            category_id=p.category_id, transaction_date=p.transaction_date, source=p.source,
            source_ref=p.source_ref, external_id=p.external_id, transfer_id=p.transfer_id,
            created_by=p.created_by,
        )
        try:
            async with session.begin_nested():
                session.add(tx)
                await session.flush()
        except IntegrityError as exc:
            if constraint_of(exc) != CODE_CONSTRAINT:
                raise
            logger.info("transaction code collision, retrying (attempt %d)", attempt)
            continue
        POSTINGS.labels(source=str(p.source), type=str(p.type)).inc()
        return tx
    raise ServiceUnavailable("Não foi possível gerar um código único; tente novamente",
                             code="code_generation_failed", retry_after=1)


async def post(session: AsyncSession, p: Posting, codes: CodeGenerator) -> FinancialTransaction:
    tx = await insert_entry(session, p, codes)
    await ledger.apply_deltas(session, ledger.merge([ledger.effect(tx)]))
    return tx


def _kind(entry_type: EntryType | TransactionType) -> CategoryKind:
    return CategoryKind.income if entry_type == "income" else CategoryKind.expense


async def _check_plan(session: AsyncSession, caller: Caller) -> None:
    # The plan's max_transactions is a monthly quota on entries people post by hand. Imports
    # and StockTech sales record money that already moved at the bank or in the marketplace;
    # refusing them would only make the books disagree with reality. The caller's plan was
    # read fresh enough for a write (avelar_kit.auth.caller).
    plan = caller.plan
    if plan is None or plan.max_transactions is None:
        return
    used = await repo.count_manual_since(session, caller.account_id, clock.month_start_utc())
    PlanLimitReached.check(limit="max_transactions", plan=plan.name,
                           allowed=plan.max_transactions, used=used,
                           what="lançamentos manuais por mês",
                           hint="O limite deste mês foi atingido; mude de plano para lançar mais.")


async def create(
    session: AsyncSession, caller: Caller, data: TransactionCreate, *, codes: CodeGenerator,
) -> tuple[FinancialTransaction, str | None]:
    company, user_id = caller.account_id, caller.user_id
    await bank_accounts.get_active(session, company, data.bank_account_id)
    category_name = None
    if data.category_id is not None:
        category = await categories.for_posting(session, company, data.category_id,
                                                _kind(data.type))
        category_name = category.name
    await _check_plan(session, caller)
    tx = await post(session, Posting(
        company=company, bank_account_id=data.bank_account_id,
        type=TransactionType(data.type.value), amount=data.amount,
        description=data.description, transaction_date=data.transaction_date or clock.today(),
        category_id=data.category_id, created_by=user_id,
    ), codes)
    return tx, category_name


async def get(
    session: AsyncSession, company: uuid.UUID, tx_id: uuid.UUID
) -> tuple[FinancialTransaction, str | None]:
    tx = await repo.get(session, company, tx_id)
    if tx is None:
        raise TransactionNotFound("Lançamento não encontrado")
    names = await categories_repo.names(session, {tx.category_id} if tx.category_id else set())
    return tx, names.get(tx.category_id) if tx.category_id else None


async def get_by_code(
    session: AsyncSession, company: uuid.UUID, code: str
) -> tuple[FinancialTransaction, str | None]:
    try:
        normalized = normalize_code(code)
    except ValueError as exc:
        raise Unprocessable(str(exc).capitalize(), code="invalid_code") from exc
    tx = await repo.get_by_code(session, company, normalized)
    if tx is None:
        raise TransactionNotFound("Lançamento não encontrado")
    return await get(session, company, tx.id)


def _refuse_transfer_leg(tx: FinancialTransaction) -> None:
    if TransactionType(tx.type).is_transfer:
        raise Conflict("Este lançamento é parte de uma transferência; altere ou exclua a "
                       "transferência", code="transfer_leg")


async def update(
    session: AsyncSession, company: uuid.UUID, tx_id: uuid.UUID, data: TransactionUpdate
) -> tuple[FinancialTransaction, str | None]:
    tx = await repo.get(session, company, tx_id, for_update=True)
    if tx is None:
        raise TransactionNotFound("Lançamento não encontrado")
    _refuse_transfer_leg(tx)
    changes = data.model_dump(exclude_unset=True)
    for field in ("bank_account_id", "description", "amount", "type", "transaction_date"):
        if field in changes and changes[field] is None:
            raise Unprocessable(f"O campo {field} não pode ser nulo", code="null_not_allowed")
    before = ledger.effect(tx)

    new_type = EntryType(changes.get("type", tx.type))
    if "bank_account_id" in changes and changes["bank_account_id"] != tx.bank_account_id:
        await bank_accounts.get_active(session, company, changes["bank_account_id"])
    category_id = changes.get("category_id", tx.category_id)
    category_name = None
    if category_id is not None:
        category = await categories.for_posting(session, company, category_id, _kind(new_type))
        category_name = category.name

    for field in ("bank_account_id", "description", "amount", "transaction_date"):
        if field in changes:
            setattr(tx, field, changes[field])
    tx.type = TransactionType(new_type.value)
    tx.category_id = category_id
    await session.flush()
    after = ledger.effect(tx)
    # Old effect out, new effect in: when only the amount changed this is the difference on one
    # account; when the account changed, a reversal on the old one and a posting on the new.
    await ledger.apply_deltas(
        session, ledger.merge([(before[0], -before[1])], [after])
    )
    await session.refresh(tx)
    return tx, category_name


async def delete(session: AsyncSession, company: uuid.UUID, tx_id: uuid.UUID) -> None:
    tx = await repo.get(session, company, tx_id, for_update=True)
    if tx is None:
        raise TransactionNotFound("Lançamento não encontrado")
    _refuse_transfer_leg(tx)
    bank_account_id, delta = ledger.effect(tx)
    await session.delete(tx)
    await session.flush()
    await ledger.apply_deltas(session, {bank_account_id: -delta})
