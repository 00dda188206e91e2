"""Billing over HTTP: checkout, transactions, subscription, receipts, MercadoPago's webhook."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Query, Request, Response
from fastapi.responses import HTMLResponse

from avadmin.billing import signature
from avadmin.billing.gateway import PaymentGateway
from avadmin.billing.models import BillingMethod, BillingStatus, BillingTransaction
from avadmin.billing.receipt import render
from avadmin.billing.repository import BillingRepository
from avadmin.billing.schemas import (
    CardOut,
    CheckoutIn,
    CheckoutOut,
    PixOut,
    PlanRef,
    SubscriptionOut,
    TransactionOut,
)
from avadmin.billing.scope import billing_scope
from avadmin.billing.service import BillingService, CheckoutResult, price_for
from avadmin.billing.usage import StockTechUsage
from avadmin.config import Settings
from avadmin.dependencies import SettingsDep
from avadmin.permissions import CanCheckout
from avadmin.plans.models import BillingCycle
from avelar_kit.auth.caller import PUBLIC
from avelar_kit.auth.dependencies import UserPrincipal
from avelar_kit.db.session import SessionDep, SystemSessionDep
from avelar_kit.errors import Unauthorized

logger = logging.getLogger("avadmin.billing")

router = APIRouter(prefix="/api/billing", tags=["billing"],
                   dependencies=[Depends(billing_scope)])
IdempotencyKey = Annotated[str, Header(
    alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
    description="Obrigatório: repetir a chamada com a mesma chave devolve o mesmo checkout")]


async def _gateway(request: Request) -> PaymentGateway | None:
    gateway: PaymentGateway | None = request.app.state.gateway
    return gateway


async def _usage(request: Request) -> StockTechUsage | None:
    usage: StockTechUsage | None = request.app.state.usage
    return usage


GatewayDep = Annotated[PaymentGateway | None, Depends(_gateway)]
UsageDep = Annotated[StockTechUsage | None, Depends(_usage)]


def transaction_out(tx: BillingTransaction) -> TransactionOut:
    return TransactionOut(
        id=tx.id, plan_id=tx.plan_id, plan_name=tx.plan.name, amount=tx.amount,
        currency=tx.currency, status=tx.status, method=tx.method, cycle=tx.cycle,
        mercadopago_id=tx.mercadopago_id, created_at=tx.created_at, paid_at=tx.paid_at,
        period_start=tx.period_start, period_end=tx.period_end,
        failure_reason=tx.failure_reason,
        receipt_url=(f"/api/billing/transactions/{tx.id}/receipt"
                     if tx.status == BillingStatus.paid else None))


def checkout_out(result: CheckoutResult) -> CheckoutOut:
    tx = result.tx
    out = CheckoutOut(transaction=transaction_out(tx), applies=result.applies,
                      effective_at=result.effective_at)
    if tx.method == BillingMethod.pix and tx.pix_qr_code and tx.pix_qr_code_base64:
        out.pix = PixOut(qr_code=tx.pix_qr_code, qr_code_base64=tx.pix_qr_code_base64,
                         ticket_url=tx.checkout_url, expires_at=tx.expires_at)
    elif tx.method == BillingMethod.card:
        out.card = CardOut(checkout_url=tx.checkout_url, preapproval_id=tx.preapproval_id)
    return out


@router.post("/checkout", response_model=CheckoutOut, status_code=201)
async def checkout(data: CheckoutIn, admin: CanCheckout, session: SessionDep,
                   settings: SettingsDep, gateway: GatewayDep, usage: UsageDep,
                   response: Response, idempotency_key: IdempotencyKey) -> CheckoutOut:
    """Start paying for a plan: a pending transaction and what the payer needs (Pix: QR code
    image and copy-and-paste code with the expiry; card: MercadoPago's page to authorise the
    subscription). Upgrades apply when paid; a downgrade is refused when the company's usage
    exceeds the new plan (409 `plan_usage_exceeded`, listing what to remove) and otherwise
    applies at the end of the paid period. Company admins only; `Idempotency-Key` required."""
    assert admin.account_id is not None
    result = await BillingService(session, settings, gateway, usage).checkout(
        admin.account_id, f"user:{admin.user_id}", data, idempotency_key)
    if result.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return checkout_out(result)


@router.get("/transactions", response_model=list[TransactionOut])
async def list_transactions(
    principal: UserPrincipal, session: SessionDep, settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[TransactionOut]:
    """The company's charges, newest first."""
    assert principal.account_id is not None
    rows = await BillingService(session, settings, None).transactions(
        principal.account_id, limit=limit, offset=offset)
    return [transaction_out(tx) for tx in rows]


@router.get("/transactions/{tx_id}/receipt", response_class=HTMLResponse)
async def receipt(tx_id: uuid.UUID, principal: UserPrincipal, session: SessionDep,
                  settings: SettingsDep) -> HTMLResponse:
    """A printable receipt (HTML) of a paid transaction."""
    assert principal.account_id is not None
    tx, account = await BillingService(session, settings, None).paid_transaction(
        principal.account_id, tx_id)
    return HTMLResponse(render(tx, account))


@router.get("/subscription", response_model=SubscriptionOut)
async def subscription(principal: UserPrincipal, session: SessionDep,
                       settings: SettingsDep) -> SubscriptionOut:
    """Current plan, cycle, status, paid until, next charge and amount."""
    assert principal.account_id is not None
    account, sub, scheduled = await BillingService(session, settings, None).subscription(
        principal.account_id)
    cycle = sub.cycle if sub else BillingCycle.monthly
    paid_until = sub.paid_until if sub else None
    card_active = bool(sub and sub.method == BillingMethod.card
                       and sub.preapproval_status not in ("cancelled", "paused"))
    return SubscriptionOut(
        plan=PlanRef(id=account.plan.id, name=account.plan.name), cycle=cycle,
        status=account.status, method=sub.method if sub else None,
        amount=(sub.amount if sub and sub.amount is not None
                else price_for(account.plan, cycle)),
        paid_until=paid_until,
        next_charge_at=paid_until if card_active else None,
        grace_until=(paid_until + timedelta(days=settings.billing_grace_days)
                     if paid_until else None),
        scheduled_plan=PlanRef(id=scheduled.id, name=scheduled.name) if scheduled else None,
        scheduled_at=sub.scheduled_at if sub else None,
        card_subscription_status=sub.preapproval_status if sub else None)


def verify_webhook(request: Request, settings: Settings, data_id: str | None) -> None:
    secret = settings.mercadopago_webhook_secret
    try:
        signature.verify(secret.get_secret_value() if secret else "",
                         request.headers.get("x-signature"), request.headers.get("x-request-id"),
                         data_id, tolerance=settings.webhook_tolerance_seconds)
    except signature.SignatureError as exc:
        logger.warning("mercadopago webhook refused: %s", exc)
        raise Unauthorized("Assinatura do webhook inválida", code="invalid_signature") from exc


# Public on purpose: MercadoPago authenticates by the x-signature HMAC, checked inside.
@router.post("/webhooks/mercadopago", include_in_schema=True, dependencies=[PUBLIC])
async def mercadopago_webhook(request: Request, session: SystemSessionDep, settings: SettingsDep,
                              background: BackgroundTasks) -> dict[str, bool]:
    """MercadoPago's notifications. The `x-signature` is verified (401 otherwise, nothing
    changes); the notification is stored and the answer goes out at once; the payment or
    subscription is then read from MercadoPago and applied."""
    params = request.query_params
    data_id = params.get("data.id") or params.get("id")
    verify_webhook(request, settings, params.get("data.id"))
    topic = params.get("type") or params.get("topic")
    if not data_id or not topic or len(data_id) > 100 or len(topic) > 60:
        return {"received": True}
    await BillingRepository(session).enqueue(topic, data_id, request.headers.get("x-request-id"))
    worker = getattr(request.app.state, "billing_worker", None)
    if worker is not None:
        background.add_task(worker.kick)
    return {"received": True}
