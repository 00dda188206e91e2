"""Purchases between companies: stock reserved atomically, plan limits, idempotent retries,
WhatsApp hand-off, and the completed event for Lucrum."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.auth.caller import Caller
from avelar_kit.avadmin.protocol import AvAdminReader
from avelar_kit.db.base import utcnow
from avelar_kit.db.tenancy import act_as_system, leave_system
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
from stocktech.accounts.repository import AccountRepository, KnownStanding
from stocktech.accounts.service import AccountService
from stocktech.events.models import OutboxEvent
from stocktech.products.repository import ProductRepository, ProductView
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

TRANSACTION_CREATED = "stocktech.transaction.created"
TRANSACTION_COMPLETED = "stocktech.transaction.completed"
TRANSACTION_CANCELLED = "stocktech.transaction.cancelled"


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


async def _check_transaction_limit(repo: TransactionRepository, account: KnownStanding) -> None:
    """Called with the buyer's row locked, so concurrent purchases are counted one by one."""
    if account.max_transactions is None:
        return
    used = await repo.count_this_month_as_buyer(account.account_id)
    PlanLimitReached.check(limit="max_transactions", plan=account.plan_name,
                           allowed=account.max_transactions, used=used,
                           hint="Mude de plano para comprar mais neste mês.")


def _answer(caller: Caller, view: ProductView, quantity: int, digits: str | None,
            tx_id: uuid.UUID, created_at: datetime) -> dict[str, Any]:
    """The purchase's 201 body (also what an Idempotency-Key replays), with the wa.me link
    that opens a chat with the seller when the seller has a WhatsApp number."""
    product = view.product
    total = product.price * quantity
    link = chat = None
    if digits is not None:
        chat = whatsapp.chat_id(digits)
        link = whatsapp.wa_me_link(digits, whatsapp.purchase_message(
            transaction_id=tx_id, code=product.code, name=product.name,
            quantity=quantity, total=total,
        ))
    return {
        "id": str(tx_id), "product_id": str(product.id), "product_code": product.code,
        "product_name": product.name, "buyer_account_id": str(caller.account_id),
        "buyer_user_id": str(caller.user_id), "seller_account_id": str(product.account_id),
        "seller_user_id": str(product.user_id), "quantity": quantity,
        "unit_price": format(product.price, "f"), "total_amount": format(total, "f"),
        "status": TransactionStatus.pending.value, "whatsapp_chat_id": chat,
        "whatsapp_link": link, "created_at": created_at.isoformat(), "completed_at": None,
        "completed_by_user_id": None, "cancelled_at": None, "cancelled_by_user_id": None,
    }


_STATUS_PT = {
    TransactionStatus.pending: "pendente",
    TransactionStatus.completed: "concluída",
    TransactionStatus.cancelled: "cancelada",
}


def created_payload(out: dict[str, Any]) -> dict[str, Any]:
    """``stocktech.transaction.created`` data (docs/stocktech-events.md), from the answer."""
    keys = ("product_id", "product_code", "product_name", "quantity", "unit_price",
            "total_amount", "seller_account_id", "buyer_account_id", "buyer_user_id",
            "whatsapp_chat_id", "status")
    return {"transaction_id": out["id"], **{k: out[k] for k in keys}}


def cancelled_payload(tx: Transaction, by_account: uuid.UUID) -> dict[str, Any]:
    """``stocktech.transaction.cancelled`` data (docs/stocktech-events.md)."""
    return {
        "transaction_id": str(tx.id), "product_id": str(tx.product_id),
        "product_code": tx.product_code, "product_name": tx.product_name,
        "quantity": tx.quantity, "unit_price": format(tx.unit_price, "f"),
        "total_amount": format(tx.total_amount, "f"),
        "seller_account_id": str(tx.seller_account_id),
        "buyer_account_id": str(tx.buyer_account_id), "buyer_user_id": str(tx.buyer_user_id),
        "whatsapp_chat_id": tx.whatsapp_chat_id, "status": tx.status.value,
        "cancelled_by_account_id": str(by_account),
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
        "whatsapp_chat_id": tx.whatsapp_chat_id,
    }


class TransactionService:
    """Purchases between companies and their life: pending, then completed or cancelled."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = TransactionRepository(session)
        self.products = ProductRepository(session)
        self.idempotency = IdempotencyRepository(session)

    async def purchase(
        self,
        avadmin: AvAdminReader,
        caller: Caller,
        body: PurchaseCreate,
        *,
        idempotency_key: str | None,
        event_precedence_seconds: int,
    ) -> PurchaseResult:
        if idempotency_key is not None:
            replay = await self._claim_or_replay(caller, idempotency_key, body)
            if replay is not None:
                return replay
        view = await self._product_to_buy(caller, body.product_id, body.quantity)
        seller_phone = await self._seller_whatsapp(avadmin, view.product.account_id)

        buyer = await AccountService(self.session).authorise_write(
            caller, event_precedence_seconds=event_precedence_seconds)
        await _check_transaction_limit(self.repo, buyer)

        digits = whatsapp.wa_digits(seller_phone)
        for _ in range(3):
            product = view.product
            tx_id = uuid.uuid4()
            created_at = utcnow()
            out = _answer(caller, view, body.quantity, digits, tx_id, created_at)
            if idempotency_key is not None:
                # Stored before the reservation, in the same transaction: it exists if and only
                # if the purchase commits, and nothing runs between the reservation and the
                # COMMIT.
                await self.idempotency.store_response(caller.account_id, idempotency_key, 201,
                                                      out)
            # AvAdmin tells the seller by WhatsApp (docs/stocktech-events.md). Written before
            # the reservation too (nothing runs between it and the COMMIT); dropped if it fails.
            event = record_event(self.session, OutboxEvent, TRANSACTION_CREATED,
                                 created_payload(out))
            await self.session.flush()
            # The seller's stock is another company's row: the platform takes it, for this one
            # statement (row-level security, ADR 0020). Set before it, so the product's row
            # is not held a round trip longer; on success the COMMIT follows at once.
            await act_as_system(self.session)
            row = await self.repo.reserve_and_record({
                "quantity": body.quantity, "product_id": product.id, "price": product.price,
                "name": product.name, "id": tx_id, "buyer_account_id": caller.account_id,
                "buyer_user_id": caller.user_id, "chat": out["whatsapp_chat_id"],
                "link": out["whatsapp_link"], "created_at": created_at,
            })
            if row is not None:
                logger.info("purchase %s: %d x %s", tx_id, body.quantity, product.code)
                PURCHASES.inc()
                return PurchaseResult(201, out, replayed=False)
            await leave_system(self.session)
            await self.session.delete(event)
            await self.session.flush()
            # The price or the name changed meanwhile: offer what is there now.
            view = await self._still_available(body)
        raise Conflict("O produto mudou durante a compra; tente de novo", code="product_changed")

    async def _claim_or_replay(self, caller: Caller, key: str,
                               body: PurchaseCreate) -> PurchaseResult | None:
        """None when this request owns ``key``; else the first answer given under it."""
        digest = request_hash(body)
        if await self.idempotency.claim(caller.account_id, key, digest):
            return None
        stored = await self.idempotency.get(caller.account_id, key)
        if stored is None or stored.response is None or stored.status_code is None:
            raise Conflict("Uma requisição com esta Idempotency-Key ainda está em andamento",
                           code="idempotency_in_progress")
        if stored.request_hash != digest:
            raise Unprocessable(
                "Esta Idempotency-Key já foi usada com outro conteúdo; use uma nova chave",
                code="idempotency_key_reused",
            )
        return PurchaseResult(stored.status_code, stored.response, replayed=True)

    async def _product_to_buy(self, caller: Caller, product_id: uuid.UUID,
                              quantity: int) -> ProductView:
        view = await self.products.view(product_id)
        if view is None or not (view.on_sale or view.product.account_id == caller.account_id):
            raise _product_unavailable()
        if view.product.account_id == caller.account_id:
            raise Unprocessable("Sua empresa não pode comprar um produto dela mesma",
                                code="self_purchase")
        if view.product.stock_quantity < quantity:
            # Sold out as of the last commit: the losers of a rush are answered from this one
            # read, without the AvAdmin checks, the buyer's row lock or the reservation attempt.
            raise _insufficient(view.product.stock_quantity)
        return view

    async def _seller_whatsapp(
        self, avadmin: AvAdminReader, seller_account_id: uuid.UUID
    ) -> str | None:
        """The seller company's WhatsApp: AvAdmin's (cached) answer, else the last one learnt."""
        try:
            account = await avadmin.get_account(seller_account_id)
        except ServiceUnavailable:
            account = None
        if account is not None and account.whatsapp:
            return account.whatsapp
        known = await AccountRepository(self.session).get(seller_account_id)
        return known.whatsapp if known is not None else None

    async def _still_available(self, body: PurchaseCreate) -> ProductView:
        """After a reservation found nothing: why (off sale, not enough stock), or the product
        as it is now when only its price or name changed."""
        again = await self.products.view(body.product_id, fresh=True)
        if again is None or not again.on_sale:
            raise _product_unavailable()
        if again.product.stock_quantity < body.quantity:
            raise _insufficient(again.product.stock_quantity)
        return again

    async def get(self, caller: Caller, tx_id: uuid.UUID) -> TransactionOut:
        tx = await self.repo.get_for_party(tx_id, caller.account_id)
        if tx is None:
            raise _not_found()
        return TransactionOut.model_validate(tx)

    async def _explain_refusal(self, caller: Caller, tx_id: uuid.UUID, action: str) -> NoReturn:
        tx = await self.repo.get_for_party(tx_id, caller.account_id)
        if tx is None:
            raise _not_found()
        if tx.status != TransactionStatus.pending:
            raise Conflict(f"A transação já está {_STATUS_PT[tx.status]}",
                           code="transaction_not_pending",
                           extra={"transaction_status": tx.status.value})
        raise Forbidden(f"Somente o vendedor pode {action} esta transação",
                        code="seller_only")

    async def complete(self, caller: Caller, tx_id: uuid.UUID) -> TransactionOut:
        tx = await self.repo.transition(
            tx_id,
            allowed=Transaction.seller_account_id == caller.account_id,
            values={"status": TransactionStatus.completed, "completed_at": utcnow(),
                    "completed_by_user_id": caller.user_id},
        )
        if tx is None:
            await self._explain_refusal(caller, tx_id, "concluir")
        # Same transaction as the status change: the event exists if and only if it committed.
        record_event(self.session, OutboxEvent, TRANSACTION_COMPLETED, completed_payload(tx))
        await self.session.flush()
        return TransactionOut.model_validate(tx)

    async def cancel(self, caller: Caller, tx_id: uuid.UUID) -> TransactionOut:
        tx = await self.repo.transition(
            tx_id,
            allowed=or_(Transaction.buyer_account_id == caller.account_id,
                        Transaction.seller_account_id == caller.account_id),
            values={"status": TransactionStatus.cancelled, "cancelled_at": utcnow(),
                    "cancelled_by_user_id": caller.user_id},
        )
        if tx is None:
            await self._explain_refusal(caller, tx_id, "cancelar")
        # Only the request that moved the row out of "pending" gets here, so the units come back
        # exactly once however many cancels race. The product is the seller's row, whichever
        # party cancels: the platform puts the units back (row-level security, ADR 0020).
        await act_as_system(self.session)
        await self.products.restore_stock(tx.product_id, tx.quantity)
        await leave_system(self.session)
        record_event(self.session, OutboxEvent, TRANSACTION_CANCELLED,
                     cancelled_payload(tx, caller.account_id))
        await self.session.flush()
        return TransactionOut.model_validate(tx)

    async def list(
        self, caller: Caller, *, role: Role | None, status: TransactionStatus | None,
        page: int, page_size: int,
    ) -> TransactionPage:
        items, total = await self.repo.page(
            caller.account_id, role=role, status=status, offset=(page - 1) * page_size,
            limit=page_size,
        )
        return TransactionPage(items=[TransactionOut.model_validate(t) for t in items],
                               total=total, page=page, page_size=page_size)
