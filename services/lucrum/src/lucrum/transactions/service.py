"""Ledger rules: every entry and its balance effect are written in one database transaction."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.audit import record_audit, snapshot
from avelar_kit.auth.caller import Caller
from avelar_kit.db.repository import constraint_name
from avelar_kit.errors import (
    Conflict,
    NotFound,
    PlanLimitReached,
    ServiceUnavailable,
    Unprocessable,
)
from avelar_kit.metrics import POSTINGS
from lucrum import clock, ledger
from lucrum.audit.models import AuditLog
from lucrum.bank_accounts.repository import BankAccountRepository
from lucrum.bank_accounts.service import BankAccountService
from lucrum.categories.models import CategoryKind
from lucrum.categories.repository import CategoryRepository
from lucrum.categories.service import CategoryService
from lucrum.transactions.codes import CodeGenerator, normalize_code, random_code
from lucrum.transactions.models import FinancialTransaction, TransactionSource, TransactionType
from lucrum.transactions.repository import TransactionRepository
from lucrum.transactions.schemas import (
    EntryType,
    TransactionCreate,
    TransactionFilters,
    TransactionUpdate,
)

logger = logging.getLogger("lucrum.transactions")

CODE_CONSTRAINT = "uq_financial_transactions_code"
CODE_ATTEMPTS = 12


class TransactionNotFound(NotFound):
    code = "transaction_not_found"


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


def _kind(entry_type: EntryType | TransactionType) -> CategoryKind:
    return CategoryKind.income if entry_type == "income" else CategoryKind.expense


def _not_found() -> TransactionNotFound:
    return TransactionNotFound("Lançamento não encontrado")


def _refuse_transfer_leg(tx: FinancialTransaction) -> None:
    if TransactionType(tx.type).is_transfer:
        raise Conflict("Este lançamento é parte de uma transferência; altere ou exclua a "
                       "transferência", code="transfer_leg")


NOT_NULL = ("bank_account_id", "description", "amount", "type", "transaction_date")
EDITABLE = ("bank_account_id", "description", "amount", "transaction_date")


class TransactionService:
    """The ledger's entries. ``codes`` draws the random codes of new entries (tests squeeze the
    code space to force collisions)."""

    def __init__(self, session: AsyncSession, codes: CodeGenerator = random_code) -> None:
        self.session = session
        self.codes = codes
        self.repo = TransactionRepository(session)
        self.balances = BankAccountRepository(session)

    async def insert_entry(self, p: Posting) -> FinancialTransaction:
        """Insert one entry under a fresh random code, retrying on the (rare) code collision.

        The insert runs in a savepoint so that a collision rolls back only itself, not the
        request's transaction. The balance is not touched here: callers apply all effects
        together (in id order) once their entries exist.
        """
        for attempt in range(1, CODE_ATTEMPTS + 1):
            tx = FinancialTransaction(
                id=uuid.uuid4(), account_id=p.company, bank_account_id=p.bank_account_id,
                code=self.codes(), description=p.description, amount=p.amount, type=p.type,
                category_id=p.category_id, transaction_date=p.transaction_date, source=p.source,
                source_ref=p.source_ref, external_id=p.external_id, transfer_id=p.transfer_id,
                created_by=p.created_by,
            )
            try:
                async with self.session.begin_nested():
                    await self.repo.add(tx)
            except IntegrityError as exc:
                if constraint_name(exc) != CODE_CONSTRAINT:
                    raise
                logger.info("transaction code collision, retrying (attempt %d)", attempt)
                continue
            POSTINGS.labels(source=str(p.source), type=str(p.type)).inc()
            return tx
        raise ServiceUnavailable("Não foi possível gerar um código único; tente novamente",
                                 code="code_generation_failed", retry_after=1)

    async def post(self, p: Posting) -> FinancialTransaction:
        tx = await self.insert_entry(p)
        await self.balances.apply_deltas(ledger.merge([ledger.effect(tx)]))
        return tx

    async def _check_plan(self, caller: Caller) -> None:
        # The plan's max_transactions is a monthly quota on entries people post by hand.
        # Imports and StockTech sales record money that already moved at the bank or in the
        # marketplace; refusing them would only make the books disagree with reality. The
        # caller's plan was read fresh enough for a write (avelar_kit.auth.caller).
        plan = caller.plan
        if plan is None or plan.max_transactions is None:
            return
        used = await self.repo.count_manual_since(caller.account_id, clock.month_start())
        PlanLimitReached.check(limit="max_transactions", plan=plan.name,
                               allowed=plan.max_transactions, used=used,
                               what="lançamentos manuais por mês",
                               hint="O limite deste mês foi atingido; mude de plano para lançar "
                               "mais.")

    async def _category_name(self, company: uuid.UUID, category_id: uuid.UUID | None,
                             kind: CategoryKind) -> str | None:
        if category_id is None:
            return None
        category = await CategoryService(self.session).for_posting(company, category_id, kind)
        return category.name

    async def create(
        self, caller: Caller, data: TransactionCreate
    ) -> tuple[FinancialTransaction, str | None]:
        company, user_id = caller.account_id, caller.user_id
        await BankAccountService(self.session).get_active(company, data.bank_account_id)
        category_name = await self._category_name(company, data.category_id, _kind(data.type))
        await self._check_plan(caller)
        tx = await self.post(Posting(
            company=company, bank_account_id=data.bank_account_id,
            type=TransactionType(data.type.value), amount=data.amount,
            description=data.description,
            transaction_date=data.transaction_date or clock.today(),
            category_id=data.category_id, created_by=user_id,
        ))
        return tx, category_name

    async def page(
        self, company: uuid.UUID, f: TransactionFilters, *, offset: int, limit: int
    ) -> tuple[Sequence[tuple[FinancialTransaction, str | None]], int]:
        return await self.repo.page(company, f, offset=offset, limit=limit)

    async def get(
        self, company: uuid.UUID, tx_id: uuid.UUID
    ) -> tuple[FinancialTransaction, str | None]:
        tx = await self.repo.get(company, tx_id)
        if tx is None:
            raise _not_found()
        if tx.category_id is None:
            return tx, None
        names = await CategoryRepository(self.session).names({tx.category_id})
        return tx, names.get(tx.category_id)

    async def get_by_code(
        self, company: uuid.UUID, code: str
    ) -> tuple[FinancialTransaction, str | None]:
        try:
            normalized = normalize_code(code)
        except ValueError as exc:
            raise Unprocessable(str(exc).capitalize(), code="invalid_code") from exc
        tx = await self.repo.get_by_code(company, normalized)
        if tx is None:
            raise _not_found()
        return await self.get(company, tx.id)

    async def update(
        self, company: uuid.UUID, tx_id: uuid.UUID, data: TransactionUpdate
    ) -> tuple[FinancialTransaction, str | None]:
        tx = await self.repo.get(company, tx_id, for_update=True)
        if tx is None:
            raise _not_found()
        _refuse_transfer_leg(tx)
        changes = data.model_dump(exclude_unset=True)
        for field in NOT_NULL:
            if field in changes and changes[field] is None:
                raise Unprocessable(f"O campo {field} não pode ser nulo", code="null_not_allowed")
        before = ledger.effect(tx)

        new_type = EntryType(changes.get("type", tx.type))
        if "bank_account_id" in changes and changes["bank_account_id"] != tx.bank_account_id:
            await BankAccountService(self.session).get_active(company, changes["bank_account_id"])
        category_id = changes.get("category_id", tx.category_id)
        category_name = await self._category_name(company, category_id, _kind(new_type))

        for field in EDITABLE:
            if field in changes:
                setattr(tx, field, changes[field])
        tx.type = TransactionType(new_type.value)
        tx.category_id = category_id
        await self.session.flush()
        after = ledger.effect(tx)
        # Old effect out, new effect in: when only the amount changed this is the difference on
        # one account; when the account changed, a reversal on the old one and a posting on the
        # new.
        await self.balances.apply_deltas(ledger.merge([(before[0], -before[1])], [after]))
        await self.session.refresh(tx)
        return tx, category_name

    async def delete(self, company: uuid.UUID, tx_id: uuid.UUID, *, actor: str) -> None:
        tx = await self.repo.get(company, tx_id, for_update=True)
        if tx is None:
            raise _not_found()
        _refuse_transfer_leg(tx)
        record_audit(self.session, AuditLog, actor=actor, action="entry.deleted",
                     account_id=company, target=f"entry:{tx.id}", after={},
                     before=snapshot(tx, ("code", "type", "amount", "description",
                                          "bank_account_id", "transaction_date")))
        bank_account_id, delta = ledger.effect(tx)
        await self.session.delete(tx)
        await self.session.flush()
        await self.balances.apply_deltas({bank_account_id: -delta})
