"""The payment gateway port and its MercadoPago adapter (REST over httpx, async).

MercadoPago's official SDK is synchronous; the handful of calls AvAdmin needs are made here
against the published API (api.mercadopago.com): ``/preapproval_plan`` (one per plan, cycle and
amount), ``/preapproval`` (the company's card subscription), ``/v1/payments`` (Pix, and reading
any payment back). The rest of billing sees only the port's small dataclasses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import httpx

from avelar_kit.errors import ServiceUnavailable

logger = logging.getLogger("avadmin.billing.gateway")


class GatewayError(Exception):
    """The gateway refused the call or answered something unreadable."""


@dataclass(frozen=True)
class PaymentInfo:
    id: str
    status: str  # pending | approved | authorized | in_process | rejected | cancelled | ...
    status_detail: str | None
    amount: Decimal
    currency: str
    external_reference: str | None
    updated_at: datetime
    method: str | None
    preapproval_id: str | None  # set on the charges of a subscription


@dataclass(frozen=True)
class PixCharge:
    payment: PaymentInfo
    qr_code: str
    qr_code_base64: str
    ticket_url: str | None
    expires_at: datetime | None


@dataclass(frozen=True)
class PreapprovalInfo:
    id: str
    status: str  # pending | authorized | paused | cancelled
    external_reference: str | None
    init_point: str | None
    amount: Decimal
    currency: str
    next_payment_date: datetime | None
    updated_at: datetime


class PaymentGateway(Protocol):
    async def create_plan(self, *, reason: str, months: int, amount: Decimal,
                          back_url: str) -> str: ...

    async def create_preapproval(self, *, preapproval_plan_id: str, reason: str,
                                 external_reference: str, payer_email: str, back_url: str,
                                 notification_url: str,
                                 card_token_id: str | None) -> PreapprovalInfo: ...

    async def get_preapproval(self, preapproval_id: str) -> PreapprovalInfo: ...

    async def cancel_preapproval(self, preapproval_id: str) -> None: ...

    async def create_pix(self, *, amount: Decimal, description: str, external_reference: str,
                         payer_email: str, expires_at: datetime, notification_url: str,
                         idempotency_key: str) -> PixCharge: ...

    async def get_payment(self, payment_id: str) -> PaymentInfo: ...


def parse_dt(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso_mp(at: datetime) -> str:
    """The date format MercadoPago documents: yyyy-MM-dd'T'HH:mm:ss.SSSZ (offset with colon)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{at.astimezone(UTC).microsecond // 1000:03d}+00:00"


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise GatewayError(f"unreadable amount {value!r}") from exc


def payment_from(data: dict[str, Any]) -> PaymentInfo:
    poi = data.get("point_of_interaction") or {}
    tdata = poi.get("transaction_data") or {}
    preapproval = tdata.get("subscription_id") or (data.get("metadata") or {}).get(
        "preapproval_id")
    updated = parse_dt(data.get("date_last_updated")) or parse_dt(data.get("date_created"))
    if data.get("id") is None or updated is None:
        raise GatewayError("payment without id or dates")
    return PaymentInfo(
        id=str(data["id"]), status=str(data.get("status") or ""),
        status_detail=data.get("status_detail"),
        amount=_money(data.get("transaction_amount")),
        currency=str(data.get("currency_id") or ""),
        external_reference=data.get("external_reference"), updated_at=updated,
        method=data.get("payment_method_id"),
        preapproval_id=str(preapproval) if preapproval else None,
    )


def preapproval_from(data: dict[str, Any]) -> PreapprovalInfo:
    recurring = data.get("auto_recurring") or {}
    updated = parse_dt(data.get("last_modified")) or parse_dt(data.get("date_created"))
    if not data.get("id") or updated is None:
        raise GatewayError("preapproval without id or dates")
    return PreapprovalInfo(
        id=str(data["id"]), status=str(data.get("status") or ""),
        external_reference=data.get("external_reference"), init_point=data.get("init_point"),
        amount=_money(recurring.get("transaction_amount")),
        currency=str(recurring.get("currency_id") or ""),
        next_payment_date=parse_dt(data.get("next_payment_date")), updated_at=updated,
    )


class MercadoPagoGateway:
    """``PaymentGateway`` over MercadoPago's REST API."""

    def __init__(self, base_url: str, access_token: str, *, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
            headers={"Authorization": f"Bearer {access_token}",
                     "Content-Type": "application/json"})

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _call(self, method: str, path: str, *, json: Any = None,
                    headers: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            resp = await self.client.request(method, path, json=json, headers=headers)
        except httpx.HTTPError as exc:
            logger.warning("mercadopago %s %s: %s", method, path, type(exc).__name__)
            raise ServiceUnavailable("O MercadoPago não respondeu; tente novamente em instantes",
                                     code="gateway_unavailable", retry_after=10) from exc
        if resp.status_code >= 500 or resp.status_code == 429:
            logger.warning("mercadopago %s %s: HTTP %s", method, path, resp.status_code)
            raise ServiceUnavailable("O MercadoPago está indisponível; tente novamente",
                                     code="gateway_unavailable", retry_after=10)
        if resp.status_code >= 400:
            logger.warning("mercadopago %s %s refused: HTTP %s", method, path, resp.status_code)
            raise GatewayError(f"HTTP {resp.status_code} on {method} {path}")
        try:
            body = resp.json()
        except ValueError as exc:
            raise GatewayError(f"non-JSON answer on {method} {path}") from exc
        if not isinstance(body, dict):
            raise GatewayError(f"unexpected answer on {method} {path}")
        return body

    async def create_plan(self, *, reason: str, months: int, amount: Decimal,
                          back_url: str) -> str:
        body = await self._call("POST", "/preapproval_plan", json={
            "reason": reason, "back_url": back_url,
            "auto_recurring": {"frequency": months, "frequency_type": "months",
                               "transaction_amount": float(amount), "currency_id": "BRL"}})
        if not body.get("id"):
            raise GatewayError("preapproval_plan without id")
        return str(body["id"])

    async def create_preapproval(self, *, preapproval_plan_id: str, reason: str,
                                 external_reference: str, payer_email: str, back_url: str,
                                 notification_url: str,
                                 card_token_id: str | None) -> PreapprovalInfo:
        payload: dict[str, Any] = {
            "preapproval_plan_id": preapproval_plan_id, "reason": reason,
            "external_reference": external_reference, "payer_email": payer_email,
            "back_url": back_url, "notification_url": notification_url}
        if card_token_id:
            payload["card_token_id"] = card_token_id
            payload["status"] = "authorized"
        else:
            payload["status"] = "pending"
        return preapproval_from(await self._call("POST", "/preapproval", json=payload))

    async def get_preapproval(self, preapproval_id: str) -> PreapprovalInfo:
        return preapproval_from(await self._call("GET", f"/preapproval/{preapproval_id}"))

    async def cancel_preapproval(self, preapproval_id: str) -> None:
        await self._call("PUT", f"/preapproval/{preapproval_id}", json={"status": "cancelled"})

    async def create_pix(self, *, amount: Decimal, description: str, external_reference: str,
                         payer_email: str, expires_at: datetime, notification_url: str,
                         idempotency_key: str) -> PixCharge:
        body = await self._call("POST", "/v1/payments", headers={
            "X-Idempotency-Key": idempotency_key}, json={
            "transaction_amount": float(amount), "description": description,
            "payment_method_id": "pix", "payer": {"email": payer_email},
            "external_reference": external_reference,
            "date_of_expiration": iso_mp(expires_at), "notification_url": notification_url})
        tdata = (body.get("point_of_interaction") or {}).get("transaction_data") or {}
        if not tdata.get("qr_code") or not tdata.get("qr_code_base64"):
            raise GatewayError("Pix payment without QR code")
        return PixCharge(payment=payment_from(body), qr_code=str(tdata["qr_code"]),
                         qr_code_base64=str(tdata["qr_code_base64"]),
                         ticket_url=tdata.get("ticket_url"),
                         expires_at=parse_dt(body.get("date_of_expiration")))

    async def get_payment(self, payment_id: str) -> PaymentInfo:
        return payment_from(await self._call("GET", f"/v1/payments/{payment_id}"))
