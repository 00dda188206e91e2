"""Issue 11: billing through MercadoPago. AvAdmin and the MercadoPago stand-in each run as a real
uvicorn server on a free port in this process; AvAdmin's real adapter talks to the stand-in over
HTTP and the stand-in sends signed webhooks back over HTTP. No mock of either side."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select, update

from avadmin.billing import signature
from avadmin.cli import _create_operator
from avadmin.config import Settings
from avadmin.main import create_app
from avadmin.models import (
    Account,
    AuditLog,
    BillingNotification,
    BillingTransaction,
    OutboxEvent,
    Subscription,
)
from avadmin.security.keys import KeyRing
from avadmin.seed import seed_plans
from avelar_kit.auth.signing import SigningKey
from avelar_kit.db.base import utcnow
from avelar_kit.db.tenancy import act_as_system
from avelar_kit.testing.database import truncate_all
from avelar_kit.testing.plugin import owner_url
from avelar_standins import mercadopago as mp

from .conftest import STANDIN_TOKEN, last_code, number_for

SECRET = "segredo-de-webhook-de-teste"
TOKEN = "TEST-access-token-local"
CPFS = ["52998224725", "11144477735", "12345678909", "98765432100", "39053344705"]
CNPJS = ["11222333000181", "11444777000161", "12ABC34501DE35", "45997418000153"]
RID = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e"


# -- golden vectors (no server needed) ---------------------------------------------------------

GOLDEN = [
    # (data.id as in the query string, x-request-id, ts, v1)
    ("123456", RID, "1742505638",
     "44a46c25e9cff1c931c5888d010ef7a64d24008b0288d041bec1eb8805088bc0"),
    # alphanumeric ids are lower-cased in the manifest; ts in milliseconds
    ("ABC123def", RID, "1742505638683",
     "4d898df0fb1633cd7d062c29f20eafb3e2ad45df1f747ff3c8b3c8952491a0a8"),
    # absent parts are left out of the manifest
    (None, RID, "1742505638",
     "b4173774275dffe683ccfd427db8588330092efde4ec3728fb7a85f0f4f61162"),
    ("123456", None, "1742505638",
     "cfe66c95227c1c4470da850ed948b4efd677eb1c023d7f7199a9d1fe3f69fc66"),
]


@pytest.mark.parametrize(("data_id", "request_id", "ts", "v1"), GOLDEN)
def test_golden_signature_vectors_are_accepted(data_id: str | None, request_id: str | None,
                                               ts: str, v1: str) -> None:
    now = signature.ts_seconds(ts)
    signature.verify(SECRET, f"ts={ts},v1={v1}", request_id, data_id, tolerance=300, now=now)
    # Order and spaces in the header do not matter; the stand-in signs the same way.
    signature.verify(SECRET, f"v1={v1}, ts={ts}", request_id, data_id, tolerance=300, now=now)
    assert mp.sign(SECRET, data_id or "", request_id, ts) == v1


def test_manifest_shape() -> None:
    assert signature.manifest("ABC1", "r-1", "17") == "id:abc1;request-id:r-1;ts:17;"
    assert signature.manifest("a-B_1", None, "17") == "id:a-B_1;ts:17;"  # not alphanumeric


TAMPERED = {
    "other id": lambda h, r, d, n: (h, r, "123457", n),
    "other request id": lambda h, r, d, n: (h, "cc56a2f1-6aae-46ac-982e-9dcd3581d08e", d, n),
    "other ts": lambda h, r, d, n: (h.replace("ts=1742505638", "ts=1742505639"), r, d, n),
    "ts out of tolerance": lambda h, r, d, n: (h, r, d, n + 301),
    "ts in the future beyond tolerance": lambda h, r, d, n: (h, r, d, n - 301),
    "bad hex": lambda h, r, d, n: (h[:-1] + "g", r, d, n),
    "short hex": lambda h, r, d, n: (h[:-2], r, d, n),
    "flipped hex": lambda h, r, d, n: (h[:-1] + ("0" if h[-1] != "0" else "1"), r, d, n),
    "missing header": lambda h, r, d, n: (None, r, d, n),
    "empty header": lambda h, r, d, n: ("", r, d, n),
    "no v1": lambda h, r, d, n: ("ts=1742505638", r, d, n),
    "no ts": lambda h, r, d, n: (h.split(",")[1], r, d, n),
    "malformed": lambda h, r, d, n: ("ts1742505638;v1" + h[-64:], r, d, n),
    "duplicated key": lambda h, r, d, n: (h + ",ts=1742505638", r, d, n),
    "non-numeric ts": lambda h, r, d, n: (h.replace("ts=1742505638", "ts=17425O5638"), r, d, n),
}


@pytest.mark.parametrize("variant", sorted(TAMPERED))
def test_every_tampered_variant_is_refused(variant: str) -> None:
    data_id, request_id, ts, v1 = GOLDEN[0]
    header, rid, did, now = TAMPERED[variant](f"ts={ts},v1={v1}", request_id, data_id,
                                              float(ts))
    with pytest.raises(signature.SignatureError):
        signature.verify(SECRET, header, rid, did, tolerance=300, now=now)
    with pytest.raises(signature.SignatureError):
        signature.verify("outro-segredo", f"ts={ts},v1={v1}", request_id, data_id,
                         tolerance=300, now=float(ts))


# -- servers -------------------------------------------------------------------------------------


def _bound_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class Served:
    def __init__(self, app: Any, sock: socket.socket, lifespan: str) -> None:
        self.app = app
        self.sock = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan,
                                                    access_log=False))
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            assert not self.task.done(), self.task
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task


@pytest.fixture(scope="module")
async def standin() -> AsyncIterator[Served]:
    served = Served(mp.create_app(webhook_secret=SECRET, access_token=TOKEN), _bound_socket(),
                    "off")
    await served.start()
    try:
        yield served
    finally:
        await served.stop()


@pytest.fixture(scope="module")
async def billing(avadmin_db_url: str, redis_url: str, standin: Served,
                  whatsapp_standin: Any) -> AsyncIterator[Served]:
    sock = _bound_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        database_url=avadmin_db_url, redis_url=redis_url, db_pool_size=2, db_max_overflow=10,
        events_relay_enabled=False, mercadopago_api_url=standin.url,
        mercadopago_access_token=TOKEN, mercadopago_webhook_secret=SECRET,  # type: ignore[arg-type]
        public_url=url, billing_sweep_seconds=0.5, dunning_interval_seconds=0,
        prune_outbox_interval_seconds=0,
        events_stream=f"avelar:test:{uuid.uuid4().hex[:8]}:events:avadmin",
        # Signups are confirmed with the code sent through the WhatsApp stand-in.
        whatsapp_api_url=whatsapp_standin.url, whatsapp_phone_number_id="10987654321",
        whatsapp_access_token=SecretStr(STANDIN_TOKEN), messaging_enabled=False,
        notifications_enabled=False, rate_limit_prefix=f"avelar:test:{uuid.uuid4().hex[:8]}",
        otp_resend_cooldown_seconds=0, otp_max_per_client=10_000, otp_max_per_number=10_000)
    app = create_app(settings, keyring=KeyRing(SigningKey.generate()))
    served = Served(app, sock, "on")
    await served.start()
    try:
        yield served
    finally:
        await served.stop()


@pytest.fixture
async def env(billing: Served, standin: Served) -> AsyncIterator[Env]:
    app: FastAPI = billing.app
    async with app.state.db.sessionmaker() as session, session.begin():
        await act_as_system(session)  # the test works on every company's rows
        plans = {name: plan.id for name, plan in (await seed_plans(session)).items()}
    async with httpx.AsyncClient(base_url=billing.url, timeout=30) as api, \
            httpx.AsyncClient(base_url=standin.url, timeout=30) as mp_http:
        yield Env(app, api, mp_http, plans)
    await truncate_all(owner_url(app.state.settings.database_url))


@dataclass
class Company:
    account_id: uuid.UUID
    headers: dict[str, str]


@dataclass
class Env:
    app: FastAPI
    api: httpx.AsyncClient
    mp: httpx.AsyncClient
    plans: dict[str, uuid.UUID]

    async def signup(self, i: int = 0, plan: str = "Empresa") -> Company:
        number = number_for(CPFS[i])
        body = {"company": {"company_name": f"Empresa {i} LTDA", "cnpj": CNPJS[i],
                            "whatsapp": number, "responsible_name": "Maria"},
                "admin": {"full_name": "Maria Teste", "cpf": CPFS[i],
                          "whatsapp": number, "password": "senhaSegura123"},
                "plan_name": plan}
        started = await self.api.post("/api/auth/signup", json=body)
        assert started.status_code == 202, started.text
        resp = await self.api.post("/api/auth/signup/confirm", json={
            "signup_id": started.json()["signup_id"], "code": await last_code(self.app, number)})
        assert resp.status_code == 201, resp.text
        data = resp.json()
        return Company(uuid.UUID(data["account"]["id"]),
                       {"Authorization": f"Bearer {data['access_token']}"})

    async def checkout(self, company: Company, plan: str, method: str, *,
                       cycle: str = "monthly", key: str | None = None) -> httpx.Response:
        return await self.api.post("/api/billing/checkout", headers={
            **company.headers, "Idempotency-Key": key or f"k-{uuid.uuid4()}"},
            json={"plan_name": plan, "method": method, "cycle": cycle})

    async def act(self, ident: str, action: str) -> dict[str, Any]:
        resp = await self.mp.post(f"/_standin/{ident}/{action}")
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    async def tx(self, tx_id: str) -> BillingTransaction:
        async with self.app.state.db.sessionmaker() as s:
            await act_as_system(s)  # the test works on every company's rows
            row = await s.get(BillingTransaction, uuid.UUID(tx_id))
            assert row is not None
            return row

    async def sub(self, account_id: uuid.UUID) -> Subscription | None:
        async with self.app.state.db.sessionmaker() as s:
            await act_as_system(s)  # the test works on every company's rows
            return await s.get(Subscription, account_id)

    async def account(self, account_id: uuid.UUID) -> Account:
        async with self.app.state.db.sessionmaker() as s:
            await act_as_system(s)  # the test works on every company's rows
            row = await s.get(Account, account_id)
            assert row is not None
            return row

    async def events(self, event_type: str, account_id: uuid.UUID) -> list[dict[str, Any]]:
        async with self.app.state.db.sessionmaker() as s:
            await act_as_system(s)  # the test works on every company's rows
            rows = (await s.scalars(select(OutboxEvent).where(
                OutboxEvent.event_type == event_type,
                OutboxEvent.payload["account_id"].astext == str(account_id))
                .order_by(OutboxEvent.created_at))).all()
        return [dict(r.payload) for r in rows]

    async def settled(self) -> None:
        """Every stored notification processed (the worker runs after the webhook's answer)."""
        async def done() -> bool:
            async with self.app.state.db.sessionmaker() as s:
                await act_as_system(s)  # the test works on every company's rows
                left = await s.scalar(select(func.count()).select_from(BillingNotification)
                                      .where(BillingNotification.processed_at.is_(None)))
            return left == 0

        await until(done, "notifications processed")

    async def dunning(self, now_offset_days: float = 0) -> dict[str, int]:
        from avadmin.billing.service import Dunning

        return await Dunning(self.app.state.db.sessionmaker, self.app.state.settings).run(
            utcnow() + timedelta(days=now_offset_days))


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.05)


async def paid(env: Env, tx_id: str) -> None:
    async def check() -> bool:
        return (await env.tx(tx_id)).status.value == "paid"

    await until(check, f"transaction {tx_id} paid")


# -- checkout to paid ----------------------------------------------------------------------------


async def test_pix_checkout_to_paid_applies_the_plan_and_gives_a_receipt(env: Env) -> None:
    company = await env.signup(0, plan="Empresa")
    no_key = await env.api.post("/api/billing/checkout", headers=company.headers,
                                json={"plan_name": "Corporativo", "method": "pix"})
    assert no_key.status_code == 422, no_key.text
    key = f"k-{uuid.uuid4()}"
    resp = await env.checkout(company, "Corporativo", "pix", key=key)
    assert resp.status_code == 201, resp.text
    out = resp.json()
    tx = out["transaction"]
    assert tx["status"] == "pending" and tx["amount"] == "699.90" and tx["method"] == "pix"
    pix = out["pix"]
    assert pix["qr_code"].startswith("000201") and pix["expires_at"]
    assert pix["qr_code_base64"] and out["applies"] == "on_payment"
    replay = await env.checkout(company, "Corporativo", "pix", key=key)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["transaction"]["id"] == tx["id"]
    reused = await env.api.post("/api/billing/checkout", headers={
        **company.headers, "Idempotency-Key": key}, json={"plan_name": "Lojista",
                                                          "method": "pix"})
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_key_reused"

    before = utcnow()
    await env.act(tx["mercadopago_id"], "approve")
    await paid(env, tx["id"])
    row = await env.tx(tx["id"])
    assert row.paid_at is not None and row.paid_at >= before
    sub = await env.sub(company.account_id)
    assert sub is not None and sub.paid_until is not None
    assert timedelta(days=28) <= sub.paid_until - before <= timedelta(days=32)
    account = await env.account(company.account_id)
    assert account.plan_id == env.plans["Corporativo"]
    [changed] = await env.events("account.plan_changed", company.account_id)
    assert changed["plan"]["name"] == "Corporativo"
    assert {"max_products", "max_users", "max_transactions", "features"} <= set(changed["plan"])
    assert "reports" in changed["plan"]["features"]
    [ok] = await env.events("billing.payment_succeeded", company.account_id)
    assert ok["transaction_id"] == tx["id"]

    subscription = (await env.api.get("/api/billing/subscription",
                                      headers=company.headers)).json()
    assert subscription["plan"]["name"] == "Corporativo" and subscription["status"] == "active"
    assert subscription["paid_until"] and subscription["amount"] == "699.90"
    assert subscription["next_charge_at"] is None  # Pix: nothing charged automatically
    listed = (await env.api.get("/api/billing/transactions", headers=company.headers)).json()
    mine = next(t for t in listed if t["id"] == tx["id"])
    assert mine["status"] == "paid" and mine["receipt_url"]
    receipt = await env.api.get(mine["receipt_url"], headers=company.headers)
    assert receipt.status_code == 200 and receipt.headers["content-type"].startswith("text/html")
    assert "11.222.333/0001-81" in receipt.text and "R$ 699,90" in receipt.text
    assert row.paid_at is not None
    from avadmin.billing.receipt import br_date

    assert br_date(row.paid_at) in receipt.text and "/" in br_date(row.paid_at)
    # Signup's pending row has no receipt; nor has another company's transaction.
    other = await env.signup(1)
    assert (await env.api.get(mine["receipt_url"], headers=other.headers)).status_code == 404


async def test_card_subscription_checkout_to_paid_then_a_renewal_extends_the_period(
    env: Env,
) -> None:
    company = await env.signup(0, plan="Lojista")
    resp = await env.checkout(company, "Empresa", "card", cycle="yearly")
    assert resp.status_code == 201, resp.text
    out = resp.json()
    tx, card = out["transaction"], out["card"]
    assert tx["amount"] == "2998.80" and tx["cycle"] == "yearly"  # 12 x R$ 249,90
    assert card["checkout_url"] and card["preapproval_id"]
    pre = (await env.mp.get(f"/preapproval/{card['preapproval_id']}",
                            headers={"Authorization": f"Bearer {TOKEN}"})).json()
    assert pre["external_reference"] == tx["id"] and pre["status"] == "pending"
    assert pre["preapproval_plan_id"]
    plan = (await env.mp.get(f"/preapproval_plan/{pre['preapproval_plan_id']}",
                             headers={"Authorization": f"Bearer {TOKEN}"})).json()
    assert plan["auto_recurring"]["frequency"] == 12
    assert plan["auto_recurring"]["frequency_type"] == "months"

    await env.act(card["preapproval_id"], "approve")
    await paid(env, tx["id"])
    await env.settled()
    account = await env.account(company.account_id)
    assert account.plan_id == env.plans["Empresa"]
    assert sorted(account.enabled_modules) == ["Lucrum", "StockTech"], "upgrade adds Lucrum"
    sub = await env.sub(company.account_id)
    assert sub is not None and sub.paid_until is not None
    first_until = sub.paid_until
    assert sub.preapproval_status == "authorized"
    body = (await env.api.get("/api/billing/subscription", headers=company.headers)).json()
    assert body["next_charge_at"] and body["cycle"] == "yearly" and body["method"] == "card"

    # The next year's charge comes as a new payment of the same subscription.
    charge = await env.act(card["preapproval_id"], "charge")
    await env.settled()
    async with env.app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        renewal = await s.scalar(select(BillingTransaction).where(
            BillingTransaction.mercadopago_id == str(charge["id"])))
    assert renewal is not None and renewal.status.value == "paid"
    sub = await env.sub(company.account_id)
    assert sub is not None and sub.paid_until is not None
    assert timedelta(days=364) <= sub.paid_until - first_until <= timedelta(days=367)
    assert len(await env.events("account.plan_changed", company.account_id)) == 1

    # Moving to another plan by Pix ends the card subscription of the old plan at MercadoPago.
    pix = (await env.checkout(company, "Corporativo", "pix")).json()["transaction"]
    await env.act(pix["mercadopago_id"], "approve")
    await paid(env, pix["id"])
    await env.settled()
    pre = (await env.mp.get(f"/preapproval/{card['preapproval_id']}",
                            headers={"Authorization": f"Bearer {TOKEN}"})).json()
    assert pre["status"] == "cancelled"
    sub = await env.sub(company.account_id)
    assert sub is not None and sub.preapproval_status == "cancelled"
    body = (await env.api.get("/api/billing/subscription", headers=company.headers)).json()
    assert body["plan"]["name"] == "Corporativo" and body["next_charge_at"] is None


# -- webhook safety ------------------------------------------------------------------------------


async def _signed_post(env: Env, data_id: str, *, header: str | None, request_id: str | None,
                       query_id: str | None = None) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if header is not None:
        headers["x-signature"] = header
    if request_id is not None:
        headers["x-request-id"] = request_id
    return await env.api.post("/api/billing/webhooks/mercadopago",
                              params={"data.id": query_id or data_id, "type": "payment"},
                              headers=headers,
                              json={"type": "payment", "action": "payment.updated",
                                    "data": {"id": data_id}})


async def test_tampered_webhooks_get_401_and_change_nothing(env: Env) -> None:
    company = await env.signup(0)
    tx = (await env.checkout(company, "Corporativo", "pix")).json()["transaction"]
    pid = tx["mercadopago_id"]
    # The payment really is approved at MercadoPago (no webhook was sent for it)...
    await env.mp.post("/_standin/stale", json={
        "id": pid, "status": "approved", "status_detail": "accredited",
        "date_last_updated": "2099-01-01T00:00:00.000-03:00"})
    ts = str(int(time.time()))
    good = f"ts={ts},v1={mp.sign(SECRET, pid, RID, ts)}"
    old_ts = str(int(time.time()) - 3600)
    variants = {
        "other id": dict(header=good, request_id=RID, query_id=str(int(pid) + 1)),
        "other request id": dict(header=good, request_id=str(uuid.uuid4())),
        "other ts": dict(header=good.replace(f"ts={ts}", f"ts={int(ts) + 1}"), request_id=RID),
        "ts out of tolerance": dict(
            header=f"ts={old_ts},v1={mp.sign(SECRET, pid, RID, old_ts)}", request_id=RID),
        "bad hex": dict(header=good[:-1] + "z", request_id=RID),
        "missing header": dict(header=None, request_id=RID),
        "malformed header": dict(header="v1 " + good, request_id=RID),
        "other secret": dict(header=f"ts={ts},v1={mp.sign('outro', pid, RID, ts)}",
                             request_id=RID),
    }
    for name, kw in variants.items():
        resp = await _signed_post(env, pid, **kw)  # type: ignore[arg-type]
        assert resp.status_code == 401, (name, resp.text)
        assert resp.json()["code"] == "invalid_signature"
    async with env.app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        assert await s.scalar(select(func.count()).select_from(BillingNotification)) == 0
    assert (await env.tx(tx["id"])).status.value == "pending"
    assert await env.events("account.plan_changed", company.account_id) == []

    # The genuine one (signed in milliseconds, as some deliveries are) pays.
    ms = str(int(time.time() * 1000))
    resp = await _signed_post(env, pid, header=f"ts={ms},v1={mp.sign(SECRET, pid, RID, ms)}",
                              request_id=RID)
    assert resp.status_code == 200, resp.text
    await paid(env, tx["id"])


async def test_five_identical_deliveries_pay_once(env: Env) -> None:
    company = await env.signup(0)
    tx = (await env.checkout(company, "Corporativo", "pix")).json()["transaction"]
    pid = tx["mercadopago_id"]
    await env.act(pid, "approve")
    await paid(env, tx["id"])
    sub = await env.sub(company.account_id)
    assert sub is not None
    until_once = sub.paid_until
    resp = await env.mp.post("/_standin/notify", json={"type": "payment", "id": pid,
                                                       "repeat": 5})
    assert resp.json()["statuses"] == [200] * 5
    await env.settled()
    # The webhook answers before the work is done: how long MercadoPago waited for each answer.
    times = [t for d in (await env.mp.get("/_standin/deliveries")).json()
             for t in d["elapsed_ms"]]
    print(f"\n[billing] webhook answered in {min(times):.0f}-{max(times):.0f} ms "
          f"({len(times)} deliveries)")
    sub = await env.sub(company.account_id)
    assert sub is not None and sub.paid_until == until_once
    assert len(await env.events("account.plan_changed", company.account_id)) == 1
    assert len(await env.events("billing.payment_succeeded", company.account_id)) == 1
    async with env.app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        paid_rows = await s.scalar(select(func.count()).select_from(BillingTransaction).where(
            BillingTransaction.account_id == company.account_id,
            BillingTransaction.status == "paid"))
        outcomes = [n.outcome for n in (await s.scalars(select(BillingNotification).where(
            BillingNotification.resource_id == pid))).all()]
    assert paid_rows == 1
    assert outcomes.count("paid") == 1 and all(o and o.startswith(("paid", "duplicate"))
                                               for o in outcomes), outcomes


async def test_out_of_order_notifications_keep_the_newest_state(env: Env) -> None:
    company = await env.signup(0)
    tx = (await env.checkout(company, "Corporativo", "pix")).json()["transaction"]
    pid = tx["mercadopago_id"]
    # A first attempt's rejection (older) reaches us after the approval (newer).
    await env.act(pid, "approve")
    await paid(env, tx["id"])
    await env.settled()
    await env.mp.post("/_standin/stale", json={
        "id": pid, "status": "rejected", "status_detail": "cc_rejected_other_reason",
        "date_last_updated": "2020-01-01T10:00:00.000-03:00"})
    await env.mp.post("/_standin/notify", json={"type": "payment", "id": pid})
    await env.settled()
    row = await env.tx(tx["id"])
    assert row.status.value == "paid" and row.gateway_status == "approved"
    assert await env.events("billing.payment_failed", company.account_id) == []

    # And the other way round: a rejection applied, then a newer approval wins.
    await env.mp.post("/_standin/stale", json={"id": pid, "clear": True})
    other = await env.signup(1)
    tx2 = (await env.checkout(other, "Corporativo", "pix")).json()["transaction"]
    pid2 = tx2["mercadopago_id"]
    await env.mp.post("/_standin/stale", json={
        "id": pid2, "status": "rejected", "status_detail": "cc_rejected_other_reason",
        "date_last_updated": "2030-01-01T10:00:00.000-03:00"})
    await env.mp.post("/_standin/notify", json={"type": "payment", "id": pid2})
    await env.settled()
    assert (await env.tx(tx2["id"])).status.value == "failed"
    await env.mp.post("/_standin/stale", json={
        "id": pid2, "status": "approved", "status_detail": "accredited",
        "date_last_updated": "2030-01-01T10:05:00.000-03:00"})
    await env.mp.post("/_standin/notify", json={"type": "payment", "id": pid2})
    await paid(env, tx2["id"])
    # ...and the older rejection arriving again changes nothing.
    await env.mp.post("/_standin/stale", json={
        "id": pid2, "status": "rejected", "date_last_updated": "2030-01-01T10:00:00.000-03:00"})
    await env.mp.post("/_standin/notify", json={"type": "payment", "id": pid2})
    await env.settled()
    assert (await env.tx(tx2["id"])).status.value == "paid"


@pytest.mark.parametrize(("field", "value"), [("transaction_amount", 1.0),
                                              ("currency_id", "USD"),
                                              ("external_reference", "outra-coisa")])
async def test_amount_currency_or_reference_mismatch_is_refused(env: Env, field: str,
                                                                 value: Any) -> None:
    company = await env.signup(0)
    tx = (await env.checkout(company, "Corporativo", "pix")).json()["transaction"]
    pid = tx["mercadopago_id"]
    await env.mp.post("/_standin/stale", json={
        "id": pid, "status": "approved", "status_detail": "accredited", field: value,
        "date_last_updated": "2030-01-01T10:00:00.000-03:00"})
    await env.mp.post("/_standin/notify", json={"type": "payment", "id": pid})
    await env.settled()
    row = await env.tx(tx["id"])
    assert row.status.value == "pending" and row.paid_at is None
    account = await env.account(company.account_id)
    assert account.plan_id == env.plans["Empresa"]
    assert await env.sub(company.account_id) is None
    async with env.app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        [note] = (await s.scalars(select(BillingNotification))).all()
        refused = await s.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "billing.notification_refused"))
    assert note.outcome and note.outcome.startswith("refused") and refused == 1


async def test_rejected_and_expired_pix_are_failed_and_announced(env: Env) -> None:
    company = await env.signup(0)
    for action, reason in (("reject", "cc_rejected_other_reason"), ("expire", "expired")):
        tx = (await env.checkout(company, "Corporativo", "pix")).json()["transaction"]
        await env.act(tx["mercadopago_id"], action)

        async def failed(tx_id: str = tx["id"]) -> bool:
            return (await env.tx(tx_id)).status.value == "failed"

        await until(failed, f"{action} -> failed")
        assert (await env.tx(tx["id"])).failure_reason == reason
    announced = await env.events("billing.payment_failed", company.account_id)
    assert [e["reason"] for e in announced] == ["cc_rejected_other_reason", "expired"]
    assert announced[0]["whatsapp"] == number_for(CPFS[0]) and announced[0]["amount"] == "699.90"
    assert (await env.account(company.account_id)).plan_id == env.plans["Empresa"]


# -- dunning -------------------------------------------------------------------------------------


async def _pay_pix(env: Env, company: Company, plan: str = "Empresa") -> str:
    tx = (await env.checkout(company, plan, "pix")).json()["transaction"]
    await env.act(tx["mercadopago_id"], "approve")
    await paid(env, tx["id"])
    return str(tx["id"])


async def test_unpaid_after_grace_is_suspended_and_a_payment_reactivates(env: Env) -> None:
    company = await env.signup(0)
    await _pay_pix(env, company)
    sub = await env.sub(company.account_id)
    assert sub is not None and sub.paid_until is not None
    days_left = (sub.paid_until - utcnow()).days
    # Within the paid period and within the grace days after it: nothing happens.
    assert await env.dunning(days_left) == {"suspended": 0, "downgraded": 0, "warned": 0}
    # The period ended: one warning with the suspension date, then nothing more until then.
    assert await env.dunning(days_left + 2) == {"suspended": 0, "downgraded": 0, "warned": 1}
    assert await env.dunning(days_left + 6) == {"suspended": 0, "downgraded": 0, "warned": 0}
    [warning] = await env.events("billing.suspension_upcoming", company.account_id)
    assert sub.paid_until is not None
    assert warning["suspend_on"] == (sub.paid_until + timedelta(days=7)).date().isoformat()
    assert (await env.account(company.account_id)).status.value == "active"
    # The period ended more than 7 days ago: suspended, and the modules are told.
    assert (await env.dunning(days_left + 8))["suspended"] == 1
    assert (await env.account(company.account_id)).status.value == "suspended"
    assert len(await env.events("account.suspended", company.account_id)) == 1
    assert len(await env.events("billing.suspended_for_nonpayment", company.account_id)) == 1
    assert (await env.dunning(days_left + 9))["suspended"] == 0, "once"
    # Suspended for non-payment, the admin can still log in and pay, and nothing else.
    login = await env.api.post("/api/auth/login", json={"cpf": CPFS[0],
                                                        "password": "senhaSegura123"})
    assert login.status_code == 200, login.text
    company = Company(company.account_id,
                      {"Authorization": f"Bearer {login.json()['access_token']}"})
    me = await env.api.get("/api/accounts/me", headers=company.headers)
    assert me.status_code == 403 and me.json()["code"] == "account_suspended"
    async with env.app.state.db.sessionmaker() as s, s.begin():
        await act_as_system(s)  # the test works on every company's rows
        await s.execute(update(Subscription).where(Subscription.account_id == company.account_id)
                        .values(paid_until=utcnow() - timedelta(days=9)))
    tx = (await env.checkout(company, "Empresa", "pix")).json()["transaction"]
    await env.act(tx["mercadopago_id"], "approve")
    await paid(env, tx["id"])
    assert (await env.account(company.account_id)).status.value == "active"
    assert len(await env.events("account.reactivated", company.account_id)) == 1
    sub = await env.sub(company.account_id)
    assert sub is not None and sub.paid_until is not None and sub.paid_until > utcnow()
    assert not sub.suspended_for_nonpayment


async def test_a_period_already_paid_survives_a_suspension_attempt(env: Env) -> None:
    company = await env.signup(0)
    await _pay_pix(env, company)
    # A later charge fails (a renewal refused) while the paid period runs.
    tx = (await env.checkout(company, "Empresa", "pix")).json()["transaction"]
    await env.act(tx["mercadopago_id"], "reject")

    async def failed() -> bool:
        return (await env.tx(tx["id"])).status.value == "failed"

    await until(failed, "renewal failed")
    assert await env.dunning() == {"suspended": 0, "downgraded": 0, "warned": 0}
    assert await env.dunning(20) == {"suspended": 0, "downgraded": 0, "warned": 0}
    assert (await env.account(company.account_id)).status.value == "active"
    assert await env.events("account.suspended", company.account_id) == []
    # An operator's suspension is not dunning's: it does not open billing to the company.
    async with env.app.state.db.sessionmaker() as s, s.begin():
        await act_as_system(s)  # the test works on every company's rows
        await s.execute(update(Account).where(Account.id == company.account_id)
                        .values(status="suspended"))
    refused = await env.checkout(company, "Empresa", "pix")
    assert refused.status_code == 403 and refused.json()["code"] == "account_suspended"


# -- plan changes --------------------------------------------------------------------------------


async def test_downgrade_refused_by_usage_lists_what_to_remove(env: Env) -> None:
    company = await env.signup(0, plan="Empresa")  # Empresa: 5 users; Lojista: 2
    for cpf in CPFS[1:3]:
        resp = await env.api.post(f"/api/accounts/{company.account_id}/users",
                                  headers=company.headers,
                                  json={"full_name": "Carlos Teste", "cpf": cpf,
                                        "whatsapp": "(11) 91234-5678",
                                        "password": "senhaSegura123", "role": "user"})
        assert resp.status_code == 201, resp.text
    resp = await env.checkout(company, "Lojista", "pix")
    assert resp.status_code == 409, resp.text
    problem = resp.json()
    assert problem["code"] == "plan_usage_exceeded" and problem["plan"] == "Lojista"
    [users] = problem["errors"]
    assert users == {"field": "users_active", "label": "usuários ativos", "current": 3,
                     "limit": 2, "remove": 1,
                     "message": "usuários ativos: 3 (o plano permite 2; remova 1)"}
    assert "usuários ativos: 3" in problem["detail"] and "remova 1" in problem["detail"]
    async with env.app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        assert await s.scalar(select(func.count()).select_from(BillingTransaction).where(
            BillingTransaction.method.is_not(None))) == 0

    # The operator's change obeys the same check unless forced with a reason.
    await _create_operator(env.app.state.settings, "ops@avelarsys.com.br", "Ops",
                           "operador12345")
    login = await env.api.post("/api/operator/login", json={"email": "ops@avelarsys.com.br",
                                                            "password": "operador12345"})
    ops = {"Authorization": f"Bearer {login.json()['access_token']}"}
    path = f"/api/operator/accounts/{company.account_id}/plan"
    lojista = str(env.plans["Lojista"])
    refused = await env.api.post(path, headers=ops, json={"plan_id": lojista})
    assert refused.status_code == 409 and refused.json()["code"] == "plan_usage_exceeded"
    no_reason = await env.api.post(path, headers=ops, json={"plan_id": lojista, "force": True})
    assert no_reason.status_code == 422 and no_reason.json()["code"] == "reason_required"
    forced = await env.api.post(path, headers=ops, json={
        "plan_id": lojista, "force": True, "reason": "acordo comercial"})
    assert forced.status_code == 200, forced.text
    async with env.app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        audit = await s.scalar(select(AuditLog).where(AuditLog.action == "account.plan_changed",
                                                      AuditLog.account_id == company.account_id))
    assert audit is not None and audit.details["forced"] is True
    assert audit.details["reason"] == "acordo comercial"
    assert audit.details["exceeded"][0]["field"] == "users_active"


async def test_a_paid_downgrade_waits_for_the_end_of_the_paid_period(env: Env) -> None:
    company = await env.signup(0, plan="Empresa")
    await _pay_pix(env, company, "Corporativo")
    sub = await env.sub(company.account_id)
    assert sub is not None and sub.paid_until is not None
    end_of_corporativo = sub.paid_until
    resp = await env.checkout(company, "Empresa", "pix")
    assert resp.status_code == 201, resp.text
    assert resp.json()["applies"] == "at_period_end"
    tx = resp.json()["transaction"]
    await env.act(tx["mercadopago_id"], "approve")
    await paid(env, tx["id"])
    assert (await env.account(company.account_id)).plan_id == env.plans["Corporativo"]
    sub = await env.sub(company.account_id)
    assert sub is not None and sub.scheduled_at == end_of_corporativo
    assert sub.scheduled_plan_id == env.plans["Empresa"]
    body = (await env.api.get("/api/billing/subscription", headers=company.headers)).json()
    assert body["scheduled_plan"]["name"] == "Empresa"
    days = (end_of_corporativo - utcnow()).days
    assert (await env.dunning(days - 1))["downgraded"] == 0
    assert (await env.dunning(days + 1))["downgraded"] == 1
    assert (await env.account(company.account_id)).plan_id == env.plans["Empresa"]
    changed = await env.events("account.plan_changed", company.account_id)
    assert [e["plan"]["name"] for e in changed] == ["Corporativo", "Empresa"]


async def test_checkout_is_for_company_admins(env: Env) -> None:
    company = await env.signup(0)
    resp = await env.api.post(f"/api/accounts/{company.account_id}/users",
                              headers=company.headers,
                              json={"full_name": "Carlos Teste", "cpf": CPFS[1],
                                    "whatsapp": "(11) 91234-5678",
                                    "password": "senhaSegura123", "role": "user"})
    assert resp.status_code == 201
    login = await env.api.post("/api/auth/login", json={"cpf": CPFS[1],
                                                        "password": "senhaSegura123"})
    user = Company(company.account_id, {"Authorization": f"Bearer {login.json()['access_token']}"})
    refused = await env.checkout(user, "Corporativo", "pix")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert (await env.api.get("/api/billing/transactions", headers=user.headers)).status_code \
        == 200
    bad = await env.api.post("/api/billing/checkout", headers={
        **company.headers, "Idempotency-Key": "x"}, json={"plan_name": "Nada", "method": "pix"})
    assert bad.status_code == 422 and bad.json()["code"] == "plan_not_found"
    both = await env.api.post("/api/billing/checkout", headers={
        **company.headers, "Idempotency-Key": "y"}, json={"method": "boleto", "plan_name": "x"})
    assert both.status_code == 422



async def test_the_standin_page_lists_a_pending_pix_and_its_button_pays_it(env: Env) -> None:
    company = await env.signup(0)
    tx = (await env.checkout(company, "Corporativo", "pix")).json()["transaction"]
    page = await env.mp.get("/")
    assert page.status_code == 200 and tx["mercadopago_id"] in page.text
    assert "R$ 699,90" in page.text
    action = f'/_standin/ui/{tx["mercadopago_id"]}/approve'
    assert action in page.text
    clicked = await env.mp.post(action)
    assert clicked.status_code == 303
    await paid(env, tx["id"])
