"""Events Lucrum consumes. ``handle_event`` is a plain function of a session and an envelope,
so the stream consumer and the tests drive exactly the same code.

A StockTech sale becomes an income on the seller's default bank account and an expense on the
buyer's, for each side whose company has Lucrum enabled and a default account; a side that
cannot be posted yet waits as a ``PendingPosting`` the company sees (``GET
/api/pending-postings``) and is posted once as soon as the company has a default account.
Exactly once: the event id goes into ``handled_events`` in the same transaction as the postings
(a redelivery finds it and does nothing), and each posting carries ``source_ref`` =
``stocktech:<transaction_id>:sale|purchase`` under a unique (company, source_ref) constraint,
so even a second event about the same sale with a different id cannot post it twice.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.avadmin import AvAdminReader
from avelar_kit.avadmin.events import AccountUpdated
from avelar_kit.db.repository import constraint_name
from avelar_kit.events import EventEnvelope, Handler
from lucrum import clock, ledger
from lucrum.bank_accounts.models import BankAccount
from lucrum.bank_accounts.repository import BankAccountRepository
from lucrum.categories.defaults import PURCHASES, SALES
from lucrum.categories.models import CategoryKind
from lucrum.categories.repository import CategoryRepository
from lucrum.events.models import HandledEvent
from lucrum.events.repository import PendingPostingRepository
from lucrum.events.schemas import Envelope, StockTechSale
from lucrum.text import clean_text
from lucrum.transactions.codes import CodeGenerator, random_code
from lucrum.transactions.models import FinancialTransaction, TransactionSource, TransactionType
from lucrum.transactions.service import CODE_CONSTRAINT

logger = logging.getLogger("lucrum.events")

SALE_COMPLETED = "stocktech.transaction.completed"
MODULE = "Lucrum"
CODE_ATTEMPTS = 12


class InvalidEvent(ValueError):
    """The event cannot be read; retrying will not help (the consumer dead-letters it)."""


async def _mark_handled(session: AsyncSession, envelope: Envelope) -> bool:
    """Record the event id; False when it was already handled. A concurrent delivery of the
    same event waits here for the first one to commit, then sees the conflict."""
    result = await session.execute(
        insert(HandledEvent).values(event_id=envelope.id, event_type=envelope.type[:100],
                                    source=(envelope.source or "unknown")[:50])
        .on_conflict_do_nothing(index_elements=[HandledEvent.event_id])
        .returning(HandledEvent.event_id)
    )
    return result.first() is not None


async def _keep_pending(session: AsyncSession, sale: StockTechSale, *, company: uuid.UUID,
                        side: str, reason: str) -> None:
    """The side waits as a pending posting the company sees (never silently dropped)."""
    await PendingPostingRepository(session).keep(dict(
        id=uuid.uuid4(), account_id=company, side=side, reason=reason,
        source_ref=f"stocktech:{sale.transaction_id}:{side}",
        # JSONB refuses NUL like text does: the sale's texts cleaned, as for the entry.
        sale={k: clean_text(v) if isinstance(v, str) else v
              for k, v in sale.model_dump(mode="json").items()}))


async def _post_side(
    session: AsyncSession, avadmin: AvAdminReader, sale: StockTechSale, *,
    company: uuid.UUID, kind: TransactionType, codes: CodeGenerator,
) -> list[FinancialTransaction]:
    side = "sale" if kind == TransactionType.income else "purchase"
    await PendingPostingRepository(session).lock_company(company)
    account = await avadmin.get_account(company)
    if account is None or MODULE not in account.enabled_modules:
        logger.info("stocktech %s %s: company without Lucrum, kept as pending", side,
                    sale.transaction_id)
        await _keep_pending(session, sale, company=company, side=side,
                            reason="lucrum_not_enabled")
        return []
    bank = await BankAccountRepository(session).default_for(company)
    if bank is None:
        logger.info("stocktech %s %s: company has no default bank account, kept as pending",
                    side, sale.transaction_id)
        await _keep_pending(session, sale, company=company, side=side,
                            reason="no_default_bank_account")
        return []
    tx = await _post_to(session, sale, company=company, kind=kind, bank=bank, codes=codes)
    # The company can post now: whatever was waiting for it goes too.
    earlier = await _post_waiting(session, company, bank, codes)
    return ([tx] if tx is not None else []) + earlier


async def _post_to(
    session: AsyncSession, sale: StockTechSale, *, company: uuid.UUID, kind: TransactionType,
    bank: BankAccount, codes: CodeGenerator,
) -> FinancialTransaction | None:
    side = "sale" if kind == TransactionType.income else "purchase"
    categories = CategoryRepository(session)
    await categories.ensure_defaults(company)
    category = await categories.find_by_name(
        company,
        CategoryKind.income if kind == TransactionType.income else CategoryKind.expense,
        SALES if kind == TransactionType.income else PURCHASES,
    )
    label = f"{sale.quantity}x {sale.product_name}"
    if sale.product_code:
        label += f" ({sale.product_code})"
    # Text from another module: a NUL would make PostgreSQL refuse the row, and a refused row
    # here is a sale that never reaches the books.
    description = clean_text(f"Venda StockTech: {label}" if kind == TransactionType.income
                             else f"Compra StockTech: {label}")[:500]
    source_ref = f"stocktech:{sale.transaction_id}:{side}"
    for _ in range(CODE_ATTEMPTS):
        # ON CONFLICT on the source reference only: a code collision still raises, and is
        # retried below; a second posting of the same sale side is silently a no-op.
        try:
            async with session.begin_nested():
                result = await session.execute(
                    insert(FinancialTransaction).values(
                        id=uuid.uuid4(), account_id=company, bank_account_id=bank.id,
                        code=codes(), description=description, amount=sale.total_amount,
                        type=kind, category_id=category.id if category else None,
                        transaction_date=clock.local_date(sale.completed_at),
                        source=TransactionSource.stocktech, source_ref=source_ref,
                    )
                    .on_conflict_do_nothing(constraint="uq_financial_transactions_source_ref")
                    .returning(FinancialTransaction)
                )
                tx = result.scalar_one_or_none()
        except IntegrityError as exc:
            if constraint_name(exc) == CODE_CONSTRAINT:
                continue
            raise
        if tx is None:
            logger.info("stocktech %s %s already posted", side, sale.transaction_id)
        return tx
    raise RuntimeError("could not generate a unique transaction code")


async def _post_waiting(session: AsyncSession, company: uuid.UUID, bank: BankAccount,
                        codes: CodeGenerator) -> list[FinancialTransaction]:
    """Post the company's pending sale sides on ``bank``, once each (the row is locked and
    marked in this transaction; the source_ref constraint stops any second posting)."""
    rows = await PendingPostingRepository(session).waiting_for_update(company)
    posted: list[FinancialTransaction] = []
    for row in rows:
        sale = StockTechSale.model_validate(row.sale)
        kind = TransactionType.income if row.side == "sale" else TransactionType.expense
        tx = await _post_to(session, sale, company=company, kind=kind, bank=bank, codes=codes)
        row.posted_at = datetime.now(UTC)
        row.transaction_id = tx.id if tx is not None else None
        if tx is not None:
            posted.append(tx)
    if rows:
        logger.info("posted %d pending StockTech entries of company %s", len(posted), company)
    return posted


async def post_pending(session: AsyncSession, company: uuid.UUID,
                       codes: CodeGenerator = random_code) -> list[FinancialTransaction]:
    """A default bank account now exists (created or chosen): post what was waiting for it,
    and move its balance. Runs in the caller's transaction."""
    await PendingPostingRepository(session).lock_company(company)
    bank = await BankAccountRepository(session).default_for(company)
    if bank is None:
        return []
    posted = await _post_waiting(session, company, bank, codes)
    if posted:
        await BankAccountRepository(session).apply_deltas(
            ledger.merge([ledger.effect(tx) for tx in posted]))
    return posted


async def handle_event(
    session: AsyncSession, envelope: dict[str, Any], *, avadmin: AvAdminReader,
    codes: CodeGenerator = random_code, record_handled: bool = True,
) -> list[FinancialTransaction]:
    """Apply one event in the caller's transaction (the caller commits). Returns the entries it
    posted (empty for events of other types, repeats, and companies without Lucrum).

    Raises ``InvalidEvent`` for an unreadable event and lets ``ServiceUnavailable`` (AvAdmin
    down, no cached answer) through so that the event is retried later, not lost.
    ``record_handled=False`` when the caller (the kit's ``StreamConsumer``) has already recorded
    the event id in this transaction.
    """
    try:
        env = Envelope.model_validate(envelope)
    except ValidationError as exc:
        raise InvalidEvent("malformed envelope") from exc
    if env.type != SALE_COMPLETED:
        return []
    try:
        sale = StockTechSale.model_validate(env.data)
    except ValidationError as exc:
        raise InvalidEvent(f"malformed {SALE_COMPLETED} data") from exc
    if record_handled and not await _mark_handled(session, env):
        logger.info("event %s already handled", env.id)
        return []
    if sale.total_amount == 0:
        logger.info("stocktech sale %s has a zero total: nothing to post", sale.transaction_id)
        return []
    posted: list[FinancialTransaction] = []
    # Sides in company id order: each may create its company's default categories (rows under a
    # unique index), and a sale X->Y handled while Y->X is would otherwise wait in a cycle.
    sides = sorted(((sale.seller_account_id, TransactionType.income),
                    (sale.buyer_account_id, TransactionType.expense)), key=lambda s: s[0])
    for company, kind in sides:
        posted += await _post_side(session, avadmin, sale, company=company, kind=kind,
                                   codes=codes)
    # Both balances at the end, in id order: a sale from X to Y and one from Y to X handled at
    # the same time lock the two accounts in the same order and cannot deadlock.
    await BankAccountRepository(session).apply_deltas(
        ledger.merge([ledger.effect(tx) for tx in posted]))
    return posted


async def on_account_updated(event: EventEnvelope, session: AsyncSession) -> None:
    """AvAdmin's ``account.updated``: a company with Lucrum (enabled again, typically) posts
    the sale sides that waited for it, once, on its default account if it has one. Run by
    Lucrum's AvAdmin consumer after the cache invalidation, in the same transaction."""
    try:
        payload = AccountUpdated.model_validate(event.data)
    except ValidationError as exc:
        raise InvalidEvent("malformed account.updated data") from exc
    if MODULE in payload.enabled_modules and payload.status == "active":
        await post_pending(session, payload.account_id)


# Lucrum's own handlers of AvAdmin events (``create_module_app(handlers=...)``).
AVADMIN_HANDLERS: dict[str, Handler] = {"account.updated": on_account_updated}
