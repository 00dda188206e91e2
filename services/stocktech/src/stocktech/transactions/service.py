"""Purchases between companies: stock reserved atomically, plan limits, idempotent retries,
WhatsApp hand-off, and the completed event for Lucrum."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.auth.caller import Caller
from avelar_kit.avadmin.protocol import AvAdminReader
from avelar_kit.db.base import utcnow
from avelar_kit.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PlanLimitReached,
    ServiceUnavailable,
    Unprocessable,
)
from avelar_kit.events.outbox import record_event
from avelar_kit.metrics import PURCHASES
from stocktech.accounts.models import KnownAccount
from stocktech.accounts.repository import AccountRepository
from stocktech.accounts.service import authorise_write
from stocktech.events.models import OutboxEvent
from stocktech.products.repository import ProductRepository
from stocktech.transactions import whatsapp
from stocktech.transactions.models import Transaction, TransactionStatus
from stocktech.transactions.repository import IdempotencyRepository, TransactionRepository
from stocktech.transactions.schemas import (
    PurchaseCreate,
    Role,
    TransactionOut,
    TransactionPage,
)

logger = logging.getLogger("stocktech.transactions")

TRANSACTION_COMPLETED = "stocktech.transaction.completed"


@dataclass(frozen=True, slots=True)
class PurchaseResult:
    status_code: int
    body: dict[str, Any]
    replayed: bool


def _not_found() -> NotFound:
    return NotFound("Transação não encontrada", code="transaction_not_found")


def _insufficient(available: int) -> Conflict:
    return Conflict(f"Estoque insuficiente: há {available} unidade(s) disponível(is)",
                    code="insufficient_stock", extra={"available": available})


def _product_unavailable() -> NotFound:
    return NotFound("Produto não encontrado ou fora de venda", code="product_not_found")


def request_hash(body: PurchaseCreate) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _check_transaction_limit(repo: TransactionRepository, account: KnownAccount) -> None:
    """Called with the buyer's row locked, so concurrent purchases are counted one by one."""
    if account.max_transactions is None:
        return
    used = await repo.count_this_month_as_buyer(account.account_id)
    PlanLimitReached.check(limit="max_transactions", plan=account.plan_name,
                           allowed=account.max_transactions, used=used,
                           hint="Mude de plano para comprar mais neste mês.")


async def _seller_whatsapp(
    session: AsyncSession, avadmin: AvAdminReader, seller_account_id: uuid.UUID
) -> str | None:
    """The seller company's WhatsApp: AvAdmin's (cached) answer, else the last one learnt."""
    try:
        account = await avadmin.get_account(seller_account_id)
    except ServiceUnavailable:
        account = None
    if account is not None and account.whatsapp:
        return account.whatsapp
    known = await AccountRepository(session).get(seller_account_id)
    return known.whatsapp if known is not None else None


async def purchase(
    session: AsyncSession,
    avadmin: AvAdminReader,
    caller: Caller,
    body: PurchaseCreate,
    *,
    idempotency_key: str | None,
    event_precedence_seconds: int,
) -> PurchaseResult:
    idem = IdempotencyRepository(session)
    if idempotency_key is not None:
        digest = request_hash(body)
        if not await idem.claim(caller.account_id, idempotency_key, digest):
            stored = await idem.get(caller.account_id, idempotency_key)
            if stored is None or stored.response is None or stored.status_code is None:
                raise Conflict("Uma requisição com esta Idempotency-Key ainda está em andamento",
                               code="idempotency_in_progress")
            if stored.request_hash != digest:
                raise Unprocessable(
                    "Esta Idempotency-Key já foi usada com outro conteúdo; use uma nova chave",
                    code="idempotency_key_reused",
                )
            return PurchaseResult(stored.status_code, stored.response, replayed=True)

    products = ProductRepository(session)
    view = await products.view(body.product_id)
    if view is None or not (view.on_sale or view.product.account_id == caller.account_id):
        raise _product_unavailable()
    if view.product.account_id == caller.account_id:
        raise Unprocessable("Sua empresa não pode comprar um produto dela mesma",
                            code="self_purchase")
    if view.product.stock_quantity < body.quantity:
        # Sold out as of the last commit: the losers of a rush are answered from this one read,
        # without the AvAdmin checks, the buyer's row lock or the reservation attempt.
        raise _insufficient(view.product.stock_quantity)
    seller_phone = await _seller_whatsapp(session, avadmin, view.product.account_id)

    buyer = await authorise_write(session, caller,
                                  event_precedence_seconds=event_precedence_seconds)
    txs = TransactionRepository(session)
    await _check_transaction_limit(txs, buyer)

    digits = whatsapp.wa_digits(seller_phone)
    for _ in range(3):
        product = view.product
        tx_id = uuid.uuid4()
        created_at = utcnow()
        total = product.price * body.quantity
        link = chat = None
        if digits is not None:
            chat = whatsapp.chat_id(digits)
            link = whatsapp.wa_me_link(digits, whatsapp.purchase_message(
                transaction_id=tx_id, code=product.code, name=product.name,
                quantity=body.quantity, total=total,
            ))
        out = {
            "id": str(tx_id), "product_id": str(product.id), "product_code": product.code,
            "product_name": product.name, "buyer_account_id": str(caller.account_id),
            "buyer_user_id": str(caller.user_id), "seller_account_id": str(product.account_id),
            "seller_user_id": str(product.user_id), "quantity": body.quantity,
            "unit_price": format(product.price, "f"), "total_amount": format(total, "f"),
            "status": TransactionStatus.pending.value, "whatsapp_chat_id": chat,
            "whatsapp_link": link, "created_at": created_at.isoformat(), "completed_at": None,
            "completed_by_user_id": None, "cancelled_at": None, "cancelled_by_user_id": None,
        }
        if idempotency_key is not None:
            # Stored before the reservation, in the same transaction: it exists if and only if
            # the purchase commits, and nothing runs between the reservation and the COMMIT.
            await idem.store_response(caller.account_id, idempotency_key, 201, out)
        row = await txs.reserve_and_record({
            "quantity": body.quantity, "product_id": product.id, "price": product.price,
            "name": product.name, "id": tx_id, "buyer_account_id": caller.account_id,
            "buyer_user_id": caller.user_id, "chat": chat, "link": link,
            "created_at": created_at,
        })
        if row is not None:
            logger.info("purchase %s: %d x %s", tx_id, body.quantity, product.code)
            PURCHASES.inc()
            return PurchaseResult(201, out, replayed=False)
        again = await products.view(body.product_id, fresh=True)
        if again is None or not again.on_sale:
            raise _product_unavailable()
        available = again.product.stock_quantity
        if available < body.quantity:
            raise _insufficient(available)
        view = again  # the price or the name changed meanwhile: offer what is there now
    raise Conflict("O produto mudou durante a compra; tente de novo", code="product_changed")


async def get_transaction(session: AsyncSession, caller: Caller, tx_id: uuid.UUID
                          ) -> TransactionOut:
    tx = await TransactionRepository(session).get_for_party(tx_id, caller.account_id)
    if tx is None:
        raise _not_found()
    return TransactionOut.model_validate(tx)


async def _explain_refusal(repo: TransactionRepository, caller: Caller, tx_id: uuid.UUID,
                           action: str) -> NoReturn:
    tx = await repo.get_for_party(tx_id, caller.account_id)
    if tx is None:
        raise _not_found()
    if tx.status != TransactionStatus.pending:
        raise Conflict(f"A transação já está {_STATUS_PT[tx.status]}",
                       code="transaction_not_pending",
                       extra={"transaction_status": tx.status.value})
    raise Forbidden(f"Somente o vendedor pode {action} esta transação",
                    code="seller_only")


_STATUS_PT = {
    TransactionStatus.pending: "pendente",
    TransactionStatus.completed: "concluída",
    TransactionStatus.cancelled: "cancelada",
}


def completed_payload(tx: Transaction) -> dict[str, Any]:
    """``stocktech.transaction.completed`` data (docs/stocktech-events.md). Money as strings."""
    assert tx.completed_at is not None and tx.completed_by_user_id is not None
    return {
        "transaction_id": str(tx.id),
        "product_id": str(tx.product_id),
        "product_code": tx.product_code,
        "product_name": tx.product_name,
        "quantity": tx.quantity,
        "unit_price": format(tx.unit_price, "f"),
        "total_amount": format(tx.total_amount, "f"),
        "seller_account_id": str(tx.seller_account_id),
        "seller_user_id": str(tx.completed_by_user_id),
        "buyer_account_id": str(tx.buyer_account_id),
        "buyer_user_id": str(tx.buyer_user_id),
        "completed_at": tx.completed_at.isoformat(),
    }


async def complete(session: AsyncSession, caller: Caller, tx_id: uuid.UUID) -> TransactionOut:
    repo = TransactionRepository(session)
    tx = await repo.transition(
        tx_id,
        allowed=Transaction.seller_account_id == caller.account_id,
        values={"status": TransactionStatus.completed, "completed_at": utcnow(),
                "completed_by_user_id": caller.user_id},
    )
    if tx is None:
        await _explain_refusal(repo, caller, tx_id, "concluir")
    # Same transaction as the status change: the event exists if and only if it committed.
    record_event(session, OutboxEvent, TRANSACTION_COMPLETED, completed_payload(tx))
    await session.flush()
    return TransactionOut.model_validate(tx)


async def cancel(session: AsyncSession, caller: Caller, tx_id: uuid.UUID) -> TransactionOut:
    repo = TransactionRepository(session)
    tx = await repo.transition(
        tx_id,
        allowed=or_(Transaction.buyer_account_id == caller.account_id,
                    Transaction.seller_account_id == caller.account_id),
        values={"status": TransactionStatus.cancelled, "cancelled_at": utcnow(),
                "cancelled_by_user_id": caller.user_id},
    )
    if tx is None:
        await _explain_refusal(repo, caller, tx_id, "cancelar")
    # Only the request that moved the row out of "pending" gets here, so the units come back
    # exactly once however many cancels race.
    await ProductRepository(session).restore_stock(tx.product_id, tx.quantity)
    return TransactionOut.model_validate(tx)


async def list_transactions(
    session: AsyncSession, caller: Caller, *, role: Role | None, status: TransactionStatus | None,
    page: int, page_size: int,
) -> TransactionPage:
    items, total = await TransactionRepository(session).page(
        caller.account_id, role=role, status=status, offset=(page - 1) * page_size,
        limit=page_size,
    )
    return TransactionPage(items=[TransactionOut.model_validate(t) for t in items], total=total,
                           page=page, page_size=page_size)
