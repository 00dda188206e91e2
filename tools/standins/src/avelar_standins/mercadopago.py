"""A local MercadoPago: the slice of its HTTP API AvelarSys uses, with its webhook signatures.

Speaks MercadoPago's published shapes (api.mercadopago.com):

- ``POST /preapproval_plan``, ``GET /preapproval_plan/{id}``: subscription plans
  (``auto_recurring``: ``frequency``, ``frequency_type``, ``transaction_amount``,
  ``currency_id``).
- ``POST /preapproval``, ``GET|PUT /preapproval/{id}``: a payer's subscription (``status``
  pending/authorized/paused/cancelled, ``init_point``, ``external_reference``,
  ``next_payment_date``).
- ``POST /v1/payments`` (Pix: ``payment_method_id=pix``; ``X-Idempotency-Key``),
  ``GET /v1/payments/{id}``: ``status`` pending/approved/rejected/cancelled, ``status_detail``,
  ``currency_id``, ``transaction_amount``, ``external_reference``, ``date_last_updated``,
  ``date_of_expiration`` and ``point_of_interaction.transaction_data`` (``qr_code``,
  ``qr_code_base64``, ``ticket_url``).

Webhooks go to the payment's ``notification_url`` (or ``--webhook-url``) as MercadoPago sends
them: ``POST <url>?data.id=<id>&type=<topic>`` with the JSON body ``{"action", "api_version",
"data": {"id"}, "date_created", "id", "live_mode", "type", "user_id"}`` and the headers
``x-request-id`` and ``x-signature: ts=<unix>,v1=<hex>``, v1 being the HMAC-SHA256 (key: the
webhook secret) of the manifest ``id:<data.id>;request-id:<x-request-id>;ts:<ts>;``.

What a person does on MercadoPago's pages (pay the Pix, authorise the card) is done here from
the page at ``/`` or the command line::

    python -m avelar_standins.mercadopago approve <payment or preapproval id>
    python -m avelar_standins.mercadopago reject|expire|charge <id>
    python -m avelar_standins.mercadopago list

Tests also use ``/_standin/*`` to replay a notification (identical deliveries) or to make the
API answer a stale state (as an eventually consistent read replica would).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import html
import itertools
import json
import os
import struct
import sys
import time
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

DEFAULT_PORT = 8003
SECRET_ENV = "MERCADOPAGO_STANDIN_WEBHOOK_SECRET"  # noqa: S105 (a variable name)
WEBHOOK_URL_ENV = "MERCADOPAGO_STANDIN_WEBHOOK_URL"
TOKEN_ENV = "MERCADOPAGO_STANDIN_ACCESS_TOKEN"  # noqa: S105 (a variable name)
URL_ENV = "MERCADOPAGO_STANDIN_URL"
USER_ID = 1234567890


def sign(secret: str, data_id: str, request_id: str | None, ts: str) -> str:
    """MercadoPago's v1: HMAC-SHA256 hex of ``id:{data.id};request-id:{x-request-id};ts:{ts};``
    (data.id lower-cased when alphanumeric; a part whose value is absent is left out)."""
    parts = []
    if data_id:
        parts.append(f"id:{data_id.lower() if data_id.isalnum() else data_id};")
    if request_id:
        parts.append(f"request-id:{request_id};")
    if ts:
        parts.append(f"ts:{ts};")
    return hmac.new(secret.encode(), "".join(parts).encode(), hashlib.sha256).hexdigest()


def _iso(at: datetime) -> str:
    # MercadoPago's format: milliseconds and the -03:00 offset (Brasília).
    local = at.astimezone(UTC) - timedelta(hours=3)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}-03:00"


def _now() -> datetime:
    return datetime.now(UTC)


def brl(value: Any) -> str:
    """R$ 1.234,56 (what a Brazilian payer reads)."""
    return "R$ " + format(float(value), ",.2f").translate(str.maketrans(",.", ".,"))


def _png(payload: str, size: int = 25) -> str:
    """A small black-and-white PNG drawn from the payload (base64): stands in for the QR image."""
    digest = hashlib.sha256(payload.encode()).digest() * 10
    bits = itertools.cycle("".join(f"{b:08b}" for b in digest))
    rows = b"".join(b"\x00" + bytes(0 if next(bits) == "1" else 255 for _ in range(size))
                    for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 0, 0,
                                                             0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return base64.b64encode(png).decode()


def _br_code(payment_id: int, amount: str) -> str:
    """A Pix copy-and-paste code (EMV BR Code layout; not payable anywhere)."""
    merchant = f"0014br.gov.bcb.pix2536standin.mercadopago.local/pix/{payment_id}"
    body = (f"000201010212" f"26{len(merchant):02d}{merchant}" "52040000" "5303986"
            f"54{len(amount):02d}{amount}" "5802BR" "5914AVELARSYS LTDA" "6009SAO PAULO"
            f"62{len(str(payment_id)) + 4:02d}05{len(str(payment_id)):02d}{payment_id}" "6304")
    crc = 0xFFFF
    for byte in body.encode():
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return body + f"{crc:04X}"


@dataclass
class Store:
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)
    preapprovals: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[int, dict[str, Any]] = field(default_factory=dict)
    idempotency: dict[str, int] = field(default_factory=dict)
    # What GET answers when a test asked for a stale read (id -> older snapshot).
    stale: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    next_payment_id: int = 1_300_000_001


def create_app(*, webhook_secret: str, webhook_url: str | None = None,
               access_token: str | None = None, public_url: str | None = None) -> FastAPI:
    app = FastAPI(title="MercadoPago (stand-in local)", docs_url="/docs", redoc_url=None)
    store = Store()
    app.state.store = store
    base = (public_url or f"http://127.0.0.1:{DEFAULT_PORT}").rstrip("/")

    def auth(authorization: str | None) -> None:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise HTTPException(401, {"message": "unauthorized", "error": "unauthorized",
                                      "status": 401, "cause": []})
        if access_token and authorization[7:] != access_token:
            raise HTTPException(401, {"message": "invalid access token", "status": 401,
                                      "error": "unauthorized", "cause": []})

    def bad_request(message: str) -> HTTPException:
        return HTTPException(400, {"message": message, "error": "bad_request", "status": 400,
                                   "cause": [{"code": 400, "description": message}]})

    def amount_of(value: Any) -> Decimal:
        try:
            amount = Decimal(str(value))
        except ArithmeticError as exc:
            raise bad_request("transaction_amount must be a number") from exc
        if not amount.is_finite() or amount <= 0:
            raise bad_request("transaction_amount must be positive")
        return amount.quantize(Decimal("0.01"))

    async def deliver(topic: str, data_id: str, url: str | None, *, repeat: int = 1,
                      ts: str | None = None, action: str | None = None) -> list[int]:
        target = url or webhook_url
        if not target:
            return []
        request_id = str(uuid.uuid4())
        ts = ts or str(int(time.time()))
        headers = {"x-request-id": request_id, "content-type": "application/json",
                   "x-signature": f"ts={ts},v1={sign(webhook_secret, data_id, request_id, ts)}"}
        body = {"action": action or f"{topic}.updated", "api_version": "v1",
                "data": {"id": data_id}, "date_created": _iso(_now()),
                "id": int(time.time() * 1000), "live_mode": False, "type": topic,
                "user_id": USER_ID}
        statuses, elapsed = [], []
        async with httpx.AsyncClient(timeout=10) as client:
            for _ in range(repeat):
                started = time.perf_counter()
                try:
                    resp = await client.post(target, params={"data.id": data_id, "type": topic},
                                             json=body, headers=headers)
                    statuses.append(resp.status_code)
                except httpx.HTTPError:
                    statuses.append(0)
                elapsed.append(round((time.perf_counter() - started) * 1000, 1))
        store.deliveries.append({"topic": topic, "data_id": data_id, "statuses": statuses,
                                 "request_id": request_id, "elapsed_ms": elapsed})
        return statuses

    # -- the API -------------------------------------------------------------------------------

    @app.post("/preapproval_plan", status_code=201)
    async def create_plan(request: Request,
                          authorization: str | None = Header(None)) -> dict[str, Any]:
        auth(authorization)
        body = await request.json()
        recurring = body.get("auto_recurring") or {}
        if not body.get("reason") or recurring.get("frequency_type") not in ("days", "months"):
            raise bad_request("reason and auto_recurring.frequency_type are required")
        plan_id = uuid.uuid4().hex
        now = _iso(_now())
        plan = {"id": plan_id, "reason": body["reason"], "status": "active",
                "back_url": body.get("back_url"), "collector_id": USER_ID,
                "application_id": USER_ID, "date_created": now, "last_modified": now,
                "init_point": f"{base}/checkout?preapproval_plan_id={plan_id}",
                "auto_recurring": {
                    "frequency": int(recurring.get("frequency", 1)),
                    "frequency_type": recurring["frequency_type"],
                    "transaction_amount": float(amount_of(recurring.get("transaction_amount"))),
                    "currency_id": recurring.get("currency_id", "BRL")}}
        store.plans[plan_id] = plan
        return plan

    @app.get("/preapproval_plan/{plan_id}")
    async def get_plan(plan_id: str, authorization: str | None = Header(None)) -> dict[str, Any]:
        auth(authorization)
        if plan_id not in store.plans:
            raise HTTPException(404, {"message": "plan not found", "status": 404})
        return store.plans[plan_id]

    @app.post("/preapproval", status_code=201)
    async def create_preapproval(request: Request,
                                 authorization: str | None = Header(None)) -> dict[str, Any]:
        auth(authorization)
        body = await request.json()
        if not body.get("payer_email"):
            raise bad_request("payer_email is required")
        plan = store.plans.get(body.get("preapproval_plan_id") or "")
        recurring = dict(plan["auto_recurring"]) if plan else dict(body.get("auto_recurring")
                                                                   or {})
        if not recurring:
            raise bad_request("auto_recurring or preapproval_plan_id is required")
        pre_id = uuid.uuid4().hex
        now = _now()
        pre = {"id": pre_id, "payer_id": None, "payer_email": body["payer_email"],
               "back_url": body.get("back_url"), "collector_id": USER_ID,
               "application_id": USER_ID, "status": "pending",
               "reason": body.get("reason") or (plan["reason"] if plan else ""),
               "external_reference": body.get("external_reference"),
               "preapproval_plan_id": plan["id"] if plan else None,
               "date_created": _iso(now), "last_modified": _iso(now),
               "init_point": f"{base}/checkout?preapproval_id={pre_id}",
               "auto_recurring": recurring, "next_payment_date": _iso(now),
               "notification_url": body.get("notification_url")}
        store.preapprovals[pre_id] = pre
        if body.get("card_token_id"):
            # A card given up front authorises the subscription and is charged at once.
            await approve_preapproval(pre_id)
        return public(pre)

    def public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if k != "notification_url"}

    def read(key: str, obj: dict[str, Any]) -> dict[str, Any]:
        return public(store.stale.get(key) or obj)

    @app.get("/preapproval/{pre_id}")
    async def get_preapproval(pre_id: str,
                              authorization: str | None = Header(None)) -> dict[str, Any]:
        auth(authorization)
        if pre_id not in store.preapprovals:
            raise HTTPException(404, {"message": "preapproval not found", "status": 404})
        return read(f"preapproval:{pre_id}", store.preapprovals[pre_id])

    @app.put("/preapproval/{pre_id}")
    async def update_preapproval(pre_id: str, request: Request,
                                 authorization: str | None = Header(None)) -> dict[str, Any]:
        auth(authorization)
        pre = store.preapprovals.get(pre_id)
        if pre is None:
            raise HTTPException(404, {"message": "preapproval not found", "status": 404})
        body = await request.json()
        if body.get("status") in ("cancelled", "paused", "authorized"):
            pre["status"] = body["status"]
        if "auto_recurring" in body and "transaction_amount" in body["auto_recurring"]:
            pre["auto_recurring"]["transaction_amount"] = float(
                amount_of(body["auto_recurring"]["transaction_amount"]))
        pre["last_modified"] = _iso(_now())
        await deliver("subscription_preapproval", pre_id, pre.get("notification_url"))
        return public(pre)

    @app.post("/v1/payments", status_code=201)
    async def create_payment(
        request: Request, authorization: str | None = Header(None),
        idempotency_key: str | None = Header(None, alias="X-Idempotency-Key"),
    ) -> dict[str, Any]:
        auth(authorization)
        if idempotency_key and idempotency_key in store.idempotency:
            return public(store.payments[store.idempotency[idempotency_key]])
        body = await request.json()
        if body.get("payment_method_id") != "pix":
            raise bad_request("this stand-in creates Pix payments only (payment_method_id=pix)")
        if not (body.get("payer") or {}).get("email"):
            raise bad_request("payer.email is required")
        amount = amount_of(body.get("transaction_amount"))
        now = _now()
        expires = body.get("date_of_expiration") or _iso(now + timedelta(hours=24))
        payment = new_payment(amount, body.get("external_reference"),
                              body.get("description"), "pix", "bank_transfer",
                              body.get("notification_url"), status="pending",
                              detail="pending_waiting_transfer")
        payment["date_of_expiration"] = expires
        code = _br_code(payment["id"], f"{amount:.2f}")
        payment["point_of_interaction"] = {
            "type": "OPENPLATFORM",
            "transaction_data": {"qr_code": code, "qr_code_base64": _png(code),
                                 "ticket_url": f"{base}/pix/{payment['id']}"}}
        if idempotency_key:
            store.idempotency[idempotency_key] = payment["id"]
        return public(payment)

    def new_payment(amount: Decimal, reference: str | None, description: str | None,
                    method: str, kind: str, url: str | None, *, status: str,
                    detail: str) -> dict[str, Any]:
        pid = store.next_payment_id
        store.next_payment_id += 1
        now = _iso(_now())
        payment: dict[str, Any] = {
            "id": pid, "status": status, "status_detail": detail, "currency_id": "BRL",
            "transaction_amount": float(amount), "external_reference": reference,
            "description": description, "payment_method_id": method,
            "payment_type_id": kind, "date_created": now, "date_last_updated": now,
            "date_approved": now if status == "approved" else None, "live_mode": False,
            "collector_id": USER_ID, "metadata": {}, "notification_url": url}
        store.payments[pid] = payment
        return payment

    @app.get("/v1/payments/{payment_id}")
    async def get_payment(payment_id: int,
                          authorization: str | None = Header(None)) -> dict[str, Any]:
        auth(authorization)
        if payment_id not in store.payments:
            raise HTTPException(404, {"message": "Payment not found", "error": "not_found",
                                      "status": 404, "cause": []})
        return read(f"payment:{payment_id}", store.payments[payment_id])

    # -- what the payer does (page, CLI) -------------------------------------------------------

    def set_payment(payment: dict[str, Any], status: str, detail: str) -> None:
        payment["status"] = status
        payment["status_detail"] = detail
        now = _iso(_now())
        payment["date_last_updated"] = now
        if status == "approved":
            payment["date_approved"] = now

    async def act_on_payment(pid: int, action: str) -> dict[str, Any]:
        payment = store.payments.get(pid)
        if payment is None:
            raise HTTPException(404, {"message": "payment not found"})
        if payment["status"] != "pending":
            raise HTTPException(409, {"message": f"payment is {payment['status']}, not pending"})
        status, detail = {"approve": ("approved", "accredited"),
                          "reject": ("rejected", "cc_rejected_other_reason"),
                          "expire": ("cancelled", "expired")}[action]
        set_payment(payment, status, detail)
        await deliver("payment", str(pid), payment.get("notification_url"))
        return public(payment)

    async def charge(pre: dict[str, Any], approved: bool) -> dict[str, Any]:
        """One recurring charge of a subscription (MercadoPago bills it on the card)."""
        recurring = pre["auto_recurring"]
        payment = new_payment(Decimal(str(recurring["transaction_amount"])),
                              pre.get("external_reference"), pre.get("reason"), "master",
                              "credit_card", pre.get("notification_url"),
                              status="approved" if approved else "rejected",
                              detail=("accredited" if approved
                                      else "cc_rejected_insufficient_amount"))
        payment["currency_id"] = recurring.get("currency_id", "BRL")
        payment["metadata"] = {"preapproval_id": pre["id"]}
        payment["point_of_interaction"] = {
            "type": "SUBSCRIPTIONS",
            "transaction_data": {"subscription_id": pre["id"],
                                 "subscription_sequence": {"number": 1, "total": None},
                                 "invoice_period": {"period": recurring["frequency"],
                                                    "type": recurring["frequency_type"]}}}
        months = recurring["frequency"] * (12 if recurring["frequency_type"] == "years" else 1)
        pre["next_payment_date"] = _iso(_now() + timedelta(days=30 * months))
        await deliver("payment", str(payment["id"]), pre.get("notification_url"))
        return public(payment)

    async def approve_preapproval(pre_id: str) -> dict[str, Any]:
        pre = store.preapprovals[pre_id]
        pre["status"] = "authorized"
        pre["last_modified"] = _iso(_now())
        await deliver("subscription_preapproval", pre_id, pre.get("notification_url"))
        return await charge(pre, approved=True)

    async def act_on_preapproval(pre_id: str, action: str) -> dict[str, Any]:
        pre = store.preapprovals.get(pre_id)
        if pre is None:
            raise HTTPException(404, {"message": "preapproval not found"})
        if action == "approve":
            if pre["status"] != "pending":
                raise HTTPException(409, {"message": f"preapproval is {pre['status']}"})
            return await approve_preapproval(pre_id)
        if action in ("reject", "charge-fail"):
            return await charge(pre, approved=False)
        if action == "charge":
            if pre["status"] != "authorized":
                raise HTTPException(409, {"message": f"preapproval is {pre['status']}"})
            return await charge(pre, approved=True)
        if action == "expire":
            pre["status"] = "cancelled"
            pre["last_modified"] = _iso(_now())
            await deliver("subscription_preapproval", pre_id, pre.get("notification_url"))
            return public(pre)
        raise HTTPException(404, {"message": f"unknown action {action}"})

    @app.post("/_standin/{ident}/{action}")
    async def act(ident: str, action: str) -> JSONResponse:
        """approve | reject | expire a pending Pix payment, or approve | reject | charge |
        charge-fail | expire a subscription (preapproval)."""
        if ident.isdigit():
            if action not in ("approve", "reject", "expire"):
                raise HTTPException(404, {"message": f"unknown action {action}"})
            return JSONResponse(await act_on_payment(int(ident), action))
        return JSONResponse(await act_on_preapproval(ident, action))

    @app.post("/_standin/ui/{ident}/{action}", include_in_schema=False)
    async def act_from_page(ident: str, action: str) -> RedirectResponse:
        await act(ident, action)
        return RedirectResponse("/", status_code=303)

    @app.get("/_standin/deliveries")
    async def deliveries() -> list[dict[str, Any]]:
        """Every webhook sent: topic, id, the answers' status codes and times (ms)."""
        return store.deliveries

    @app.get("/_standin/pending")
    async def pending() -> dict[str, Any]:
        return {"payments": [public(p) for p in store.payments.values()
                             if p["status"] == "pending"],
                "preapprovals": [public(p) for p in store.preapprovals.values()
                                 if p["status"] == "pending"]}

    @app.post("/_standin/notify")
    async def notify(request: Request) -> dict[str, Any]:
        """Send (again) the notification of a resource: ``{"type", "id", "repeat", "ts"}``;
        ``repeat`` deliveries carry the same request id and signature (MercadoPago's retries).
        """
        body = await request.json()
        topic, ident = str(body["type"]), str(body["id"])
        obj = (store.payments.get(int(ident)) if ident.isdigit()
               else store.preapprovals.get(ident))
        url = obj.get("notification_url") if obj else None
        statuses = await deliver(topic, ident, url, repeat=int(body.get("repeat", 1)),
                                 ts=body.get("ts"))
        return {"statuses": statuses}

    @app.post("/_standin/stale")
    async def stale(request: Request) -> dict[str, Any]:
        """From now on GET answers ``{"id", "status", "status_detail", "date_last_updated"}``
        over the current state, as a lagging replica would; ``{"id", "clear": true}`` ends it."""
        body = await request.json()
        ident = str(body["id"])
        key = f"payment:{ident}" if ident.isdigit() else f"preapproval:{ident}"
        if body.get("clear"):
            store.stale.pop(key, None)
            return {"stale": False}
        current = (store.payments[int(ident)] if ident.isdigit()
                   else store.preapprovals[ident])
        store.stale[key] = {**current, **{k: v for k, v in body.items() if k != "id"}}
        return {"stale": True}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> str:
        def row(kind: str, ident: str, amount: Any, ref: Any, status: str,
                actions: tuple[str, ...]) -> str:
            buttons = "".join(
                f'<form method="post" action="/_standin/ui/{html.escape(ident)}/{a}">'
                f'<button>{a}</button></form>' for a in actions)
            return (f"<tr><td>{kind}</td><td><code>{html.escape(ident)}</code></td>"
                    f"<td>{html.escape(brl(amount))}</td><td>{html.escape(str(ref))}</td>"
                    f"<td>{html.escape(status)}</td><td>{buttons}</td></tr>")

        rows = [row("Pix", str(p["id"]), p["transaction_amount"], p["external_reference"],
                    p["status"], ("approve", "reject", "expire") if p["status"] == "pending"
                    else ()) for p in reversed(list(store.payments.values()))
                if p["payment_method_id"] == "pix"]
        rows += [row("Assinatura", p["id"], p["auto_recurring"]["transaction_amount"],
                     p["external_reference"], p["status"],
                     ("approve", "reject") if p["status"] == "pending"
                     else ("charge", "charge-fail", "expire") if p["status"] == "authorized"
                     else ()) for p in reversed(list(store.preapprovals.values()))]
        return ("<!doctype html><html lang='pt-BR'><meta charset='utf-8'>"
                "<title>MercadoPago local</title><style>body{font-family:sans-serif;margin:2em}"
                "td,th{border-bottom:1px solid #ccc;padding:.4em}form{display:inline}</style>"
                "<h1>MercadoPago (stand-in local)</h1><p>Pagamentos Pix e assinaturas criados "
                "pelo AvAdmin. <b>approve</b> paga, <b>reject</b> recusa, <b>expire</b> expira;"
                " cada ação envia o webhook assinado.</p><table><tr><th>tipo</th><th>id</th>"
                "<th>valor</th><th>external_reference</th><th>status</th><th></th></tr>"
                + "".join(rows) + "</table></html>")

    @app.get("/checkout", response_class=HTMLResponse, include_in_schema=False)
    async def checkout() -> RedirectResponse:
        return RedirectResponse("/", status_code=303)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _cli_act(url: str, ident: str, action: str) -> int:
    resp = httpx.post(f"{url.rstrip('/')}/_standin/{ident}/{action}", timeout=30)
    print(json.dumps(resp.json(), ensure_ascii=False, indent=2))
    return 0 if resp.status_code < 300 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m avelar_standins.mercadopago",
                                     description="MercadoPago stand-in (local)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve", help="run the stand-in")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--webhook-url", default=os.environ.get(WEBHOOK_URL_ENV))
    for action in ("approve", "reject", "expire", "charge", "charge-fail"):
        p = sub.add_parser(action, help=f"{action} a pending payment or a subscription")
        p.add_argument("id")
    sub.add_parser("list", help="pending payments and subscriptions")
    args = parser.parse_args(argv)
    url = os.environ.get(URL_ENV, f"http://127.0.0.1:{DEFAULT_PORT}")
    if args.cmd == "serve":
        import uvicorn

        secret = os.environ.get(SECRET_ENV)
        if not secret:
            print(f"{SECRET_ENV} is required", file=sys.stderr)
            return 2
        app = create_app(webhook_secret=secret, webhook_url=args.webhook_url,
                         access_token=os.environ.get(TOKEN_ENV),
                         public_url=f"http://{args.host}:{args.port}")
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                    access_log=False)
        return 0
    if args.cmd == "list":
        resp = httpx.get(f"{url.rstrip('/')}/_standin/pending", timeout=10)
        for p in resp.json()["payments"]:
            print(f"Pix {p['id']}  {brl(p['transaction_amount'])}  ref {p['external_reference']}")
        for p in resp.json()["preapprovals"]:
            print(f"assinatura {p['id']}  {brl(p['auto_recurring']['transaction_amount'])}"
                  f"  ref {p['external_reference']}")
        return 0
    return _cli_act(url, args.id, args.cmd)


if __name__ == "__main__":
    raise SystemExit(main())
