"""Issue 11 across REAL processes: the MercadoPago stand-in, AvAdmin (its real MercadoPago
adapter pointed at the stand-in, StockTech's usage endpoint configured), StockTech and Lucrum,
each ``uvicorn``/CLI subprocess on its own port and database; driven only over HTTP and the
CLIs, as a company, an operator and the payer clicking in the stand-in would.

A plan paid in AvAdmin reaches StockTech (product limit) and Lucrum (the ``reports`` feature)
through ``account.plan_changed``; dunning (``avadmin dunning``, the CronJob's command) suspends
an unpaid company and its products leave the marketplace until it pays again."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from avelar_kit.testing.plugin import migrated_database, owner_url

from .conftest import ROOT, RUN_ID, AvAdminProcess, free_port, whatsapp_env
from .test_three_services_e2e import (
    LUCRUM_DIR,
    STOCKTECH_DIR,
    ServiceProcess,
    Tenant,
    call,
    code_of,
    signup_and_login,
    until,
)

AVADMIN_DIR = ROOT / "services" / "avadmin"
STREAM = f"avelar:events:avadmin:billing-{RUN_ID}"
SALES = f"avelar:events:stocktech:billing-{RUN_ID}"
OPERATOR = (f"billing-{RUN_ID}@avelarsys.test", "operador-senha-forte-123")
PASSWORD = "senhaSegura123"


@dataclass
class BillingStack:
    avadmin: AvAdminProcess
    stocktech: ServiceProcess
    lucrum: ServiceProcess
    standin_url: str
    standin_env: dict[str, str]
    avadmin_db_url: str
    category_id: str
    brand_id: str
    whatsapp_url: str = ""  # the WhatsApp stand-in (signups read their code there)

    def standin_cli(self, *args: str) -> str:
        out = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "avelar_standins.mercadopago", *args],
            env=self.standin_env, capture_output=True, check=True, timeout=60)
        return out.stdout.decode()

    async def sql(self, statement: str, **params: Any) -> None:
        # As the owner: the app role sees no company's rows without a company (ADR 0020).
        engine = create_async_engine(owner_url(self.avadmin_db_url), poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(statement), params)
        finally:
            await engine.dispose()


@pytest.fixture(scope="module")
def billing_stack(pg_url: str, redis_url: str, whatsapp_standin: Any
                  ) -> Iterator[BillingStack]:
    tmp = Path(tempfile.mkdtemp(prefix="billing-e2e-"))
    dbs = [migrated_database(pg_url, name, d) for name, d in
           (("avadmin", AVADMIN_DIR), ("stocktech", STOCKTECH_DIR), ("lucrum", LUCRUM_DIR))]
    avadmin_db, stocktech_db, lucrum_db = (next(g) for g in dbs)
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("AVADMIN_", "STOCKTECH_", "LUCRUM_", "MERCADOPAGO_"))}
    token, secret = f"TEST-{secrets.token_hex(8)}", secrets.token_hex(16)
    standin_port = free_port()
    standin_url = f"http://127.0.0.1:{standin_port}"
    standin_env = {**base, "MERCADOPAGO_STANDIN_WEBHOOK_SECRET": secret,
                   "MERCADOPAGO_STANDIN_ACCESS_TOKEN": token,
                   "MERCADOPAGO_STANDIN_URL": standin_url}
    group = f"billing-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    creds = {m: (f"{m}-{RUN_ID}", secrets.token_urlsafe(32)) for m in ("stocktech", "lucrum")}
    stocktech = ServiceProcess("StockTech", "stocktech.main:create_app", {
        **base, "STOCKTECH_DATABASE_URL": stocktech_db, "STOCKTECH_REDIS_URL": redis_url,
        "STOCKTECH_AVADMIN_CLIENT_ID": creds["stocktech"][0],
        "STOCKTECH_AVADMIN_CLIENT_SECRET": creds["stocktech"][1],
        "STOCKTECH_EVENTS_STREAM": SALES, "STOCKTECH_AVADMIN_EVENTS_STREAM": STREAM,
        "STOCKTECH_CONSUMER_GROUP": f"stocktech-{group}", "STOCKTECH_LOG_LEVEL": "WARNING",
    }, tmp / "stocktech.log")
    avadmin = AvAdminProcess({
        **base, "AVADMIN_DATABASE_URL": avadmin_db, "AVADMIN_REDIS_URL": redis_url,
        "AVADMIN_SIGNING_KEY_FILE": str(tmp / "signing.pem"), "AVADMIN_EVENTS_STREAM": STREAM,
        "AVADMIN_LOG_LEVEL": "WARNING", "AVADMIN_LOG_FILE_FOR_TESTS": str(tmp / "avadmin.log"),
        "AVADMIN_MERCADOPAGO_API_URL": standin_url,
        "AVADMIN_MERCADOPAGO_ACCESS_TOKEN": token, "AVADMIN_MERCADOPAGO_WEBHOOK_SECRET": secret,
        "AVADMIN_STOCKTECH_URL": stocktech.url, "AVADMIN_BILLING_SWEEP_SECONDS": "1",
        "AVADMIN_DUNNING_INTERVAL_SECONDS": "0",
        **whatsapp_env(whatsapp_standin.url, SALES)})
    avadmin.env["AVADMIN_PUBLIC_URL"] = avadmin.url
    lucrum = ServiceProcess("Lucrum", "lucrum.main:create_app", {
        **base, "LUCRUM_DATABASE_URL": lucrum_db, "LUCRUM_REDIS_URL": redis_url,
        "LUCRUM_AVADMIN_URL": avadmin.url, "LUCRUM_AVADMIN_CLIENT_ID": creds["lucrum"][0],
        "LUCRUM_AVADMIN_CLIENT_SECRET": creds["lucrum"][1],
        "LUCRUM_STOCKTECH_EVENTS_STREAM": SALES, "LUCRUM_AVADMIN_EVENTS_STREAM": STREAM,
        "LUCRUM_CONSUMER_GROUP": f"lucrum-{group}", "LUCRUM_LOG_LEVEL": "WARNING",
    }, tmp / "lucrum.log")
    stocktech.env["STOCKTECH_AVADMIN_URL"] = avadmin.url
    standin_log = (tmp / "mercadopago.log").open("ab")
    standin = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "avelar_standins.mercadopago", "serve", "--port",
         str(standin_port)], env=standin_env, stdout=standin_log, stderr=standin_log, cwd=ROOT)
    try:
        avadmin.cli("seed")
        avadmin.cli("create-operator", "--email", OPERATOR[0], "--name", "Operadora",
                    "--password-stdin", stdin=OPERATOR[1] + "\n")
        for module, (client_id, client_secret) in creds.items():
            fields = ["--fields", "account.company_name,account.whatsapp"] * (module == "stocktech")
            avadmin.cli("create-service-client", client_id, "--secret-stdin", *fields,
                        stdin=client_secret + "\n")
        avadmin.start()
        stocktech.spawn()
        lucrum.spawn()
        stocktech.wait_ready()
        lucrum.wait_ready()
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{standin_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "stand-in did not start"
            time.sleep(0.1)
        ops = _operator_headers(avadmin.url)
        ids = []
        for path, name in (("/api/categories", f"Peças {RUN_ID}"),
                           ("/api/brands", f"Marca {RUN_ID}")):
            resp = httpx.post(f"{stocktech.url}{path}", json={"name": name}, headers=ops,
                              timeout=10)
            assert resp.status_code == 201, resp.text
            ids.append(resp.json()["id"])
        yield BillingStack(avadmin, stocktech, lucrum, standin_url, standin_env, avadmin_db,
                           ids[0], ids[1], whatsapp_url=whatsapp_standin.url)
    finally:
        stocktech.stop()
        lucrum.stop()
        avadmin.kill()
        standin.terminate()
        standin.wait(10)
        standin_log.close()
        with redis.Redis.from_url(redis_url) as r:
            r.delete(STREAM, SALES)
        for g in dbs:
            next(g, None)


def _operator_headers(avadmin_url: str) -> dict[str, str]:
    login = httpx.post(f"{avadmin_url}/api/operator/login", timeout=10,
                       json={"email": OPERATOR[0], "password": OPERATOR[1]})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def operator(s: BillingStack, method: str, path: str, body: Any = None) -> httpx.Response:
    return await call(method, f"{s.avadmin.url}{path}", headers=_operator_headers(s.avadmin.url),
                      json=body)


async def small_plan(s: BillingStack, name: str, **limits: Any) -> dict[str, Any]:
    spec = {"name": f"{name} {uuid.uuid4().hex[:6]}", "price": "49.90", "max_products": 1,
            "max_users": 3, "max_transactions": 100, "features": ["whatsapp"],
            "modules": ["StockTech", "Lucrum"], **limits}
    resp = await operator(s, "POST", "/api/operator/plans", spec)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def product(s: BillingStack, seller: Tenant, name: str) -> httpx.Response:
    return await call("POST", f"{s.stocktech.url}/api/products", seller, json={
        "name": name, "category_id": s.category_id, "brand_id": s.brand_id, "price": "120.00",
        "stock_quantity": 5, "description": "Peça original"})


async def checkout(s: BillingStack, tenant: Tenant, plan: str, method: str) -> dict[str, Any]:
    resp = await call("POST", f"{s.avadmin.url}/api/billing/checkout", tenant,
                      headers={"Idempotency-Key": f"k-{uuid.uuid4()}"},
                      json={"plan_name": plan, "method": method})
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def limited_then_upgraded(s: BillingStack, tenant: Tenant, pay: Any) -> None:
    """On the small plan: one product, no reports. Paying for Empresa lifts both, through the
    event, in StockTech and in Lucrum."""
    first = await product(s, tenant, f"Tela {uuid.uuid4().hex[:6]}")
    assert first.status_code == 201, first.text
    second = await product(s, tenant, f"Tela {uuid.uuid4().hex[:6]}")
    assert second.status_code == 403 and code_of(second) == "plan_limit_reached", second.text
    report = await call("GET", f"{s.lucrum.url}/api/reports/balances", tenant)
    assert report.status_code == 403 and code_of(report) == "plan_feature_required", report.text
    assert report.json()["feature"] == "reports"

    await pay()
    start = time.perf_counter()

    async def lifted() -> bool:
        made = await product(s, tenant, f"Tela {uuid.uuid4().hex[:6]}")
        rep = await call("GET", f"{s.lucrum.url}/api/reports/balances", tenant)
        return made.status_code == 201 and rep.status_code == 200

    await until(lifted, 15, "the paid plan applies in StockTech and Lucrum")
    print(f"\n[billing e2e] paid -> StockTech and Lucrum on the new plan after "
          f"{time.perf_counter() - start:.2f}s")


async def test_pix_checkout_paid_in_the_standin_applies_the_plan_in_stocktech_and_lucrum(
    billing_stack: BillingStack,
) -> None:
    s = billing_stack
    plan = await small_plan(s, "Mini Pix")
    tenant = await signup_and_login(s, f"Pix {RUN_ID} LTDA", plan=plan["name"])

    async def pay() -> None:
        out = await checkout(s, tenant, "Empresa", "pix")
        assert out["pix"]["qr_code"] and out["pix"]["qr_code_base64"]
        pending = s.standin_cli("list")
        assert out["transaction"]["mercadopago_id"] in pending
        # What the payer does, from the command line `make run` prints.
        approved = json.loads(s.standin_cli("approve", out["transaction"]["mercadopago_id"]))
        assert approved["status"] == "approved"

    await limited_then_upgraded(s, tenant, pay)
    sub = (await call("GET", f"{s.avadmin.url}/api/billing/subscription", tenant)).json()
    assert sub["plan"]["name"] == "Empresa" and sub["paid_until"]


async def test_card_subscription_authorised_in_the_standin_applies_the_plan_everywhere(
    billing_stack: BillingStack,
) -> None:
    s = billing_stack
    plan = await small_plan(s, "Mini Cartão")
    tenant = await signup_and_login(s, f"Cartao {RUN_ID} LTDA", plan=plan["name"])

    async def pay() -> None:
        out = await checkout(s, tenant, "Empresa", "card")
        assert out["card"]["checkout_url"]
        async with httpx.AsyncClient(base_url=s.standin_url, timeout=30) as c:
            resp = await c.post(f"/_standin/{out['card']['preapproval_id']}/approve")
        assert resp.status_code == 200, resp.text

    await limited_then_upgraded(s, tenant, pay)
    sub = (await call("GET", f"{s.avadmin.url}/api/billing/subscription", tenant)).json()
    assert sub["method"] == "card" and sub["next_charge_at"]


async def test_unpaid_past_grace_is_suspended_products_hidden_and_back_after_paying(
    billing_stack: BillingStack,
) -> None:
    s = billing_stack
    seller = await signup_and_login(s, f"Devedora {RUN_ID} LTDA")
    buyer = await signup_and_login(s, f"Olheira {RUN_ID} LTDA")
    name = f"Bateria {uuid.uuid4().hex[:8]}"
    made = await product(s, seller, name)
    assert made.status_code == 201, made.text
    pid = made.json()["id"]

    async def listed() -> list[str]:
        resp = await call("GET", f"{s.stocktech.url}/api/products", buyer, params={"q": name})
        return [p["id"] for p in resp.json()["items"]]

    assert await listed() == [pid]
    out = await checkout(s, seller, "Empresa", "pix")
    s.standin_cli("approve", out["transaction"]["mercadopago_id"])

    async def has_paid_period() -> bool:
        sub = (await call("GET", f"{s.avadmin.url}/api/billing/subscription", seller)).json()
        return sub["paid_until"] is not None

    await until(has_paid_period, 15, "paid")
    # A paid period is not cut off: the job finds nothing to do.
    assert json.loads(s.avadmin.cli("dunning"))["suspended"] == 0
    # Time passes: the period ended more than the grace period ago.
    await s.sql("UPDATE billing_subscriptions SET paid_until = now() - interval '8 days' "
          "WHERE account_id = :a", a=str(seller.account_id))
    assert json.loads(s.avadmin.cli("dunning"))["suspended"] == 1

    async def hidden() -> bool:
        refused = await call("GET", f"{s.stocktech.url}/api/products", seller)
        return pid not in await listed() and refused.status_code == 403

    await until(hidden, 10, "the suspended seller's products leave the marketplace")

    # The admin logs in (allowed for a company suspended for non-payment) and pays by Pix.
    async with httpx.AsyncClient(base_url=s.avadmin.url, timeout=10) as c:
        me = (await c.get("/api/billing/subscription", headers=seller.headers)).json()
    assert me["status"] == "suspended"
    out = await checkout(s, seller, "Empresa", "pix")
    s.standin_cli("approve", out["transaction"]["mercadopago_id"])

    async def back() -> bool:
        mine = await call("GET", f"{s.stocktech.url}/api/products", seller)
        return await listed() == [pid] and mine.status_code == 200

    await until(back, 15, "the payment reactivates the company and its products come back")


async def test_downgrade_refused_by_usage_lists_products_and_users_to_remove(
    billing_stack: BillingStack,
) -> None:
    s = billing_stack
    tenant = await signup_and_login(s, f"Grande {RUN_ID} LTDA")
    for i in range(3):
        made = await product(s, tenant, f"Cabo {i} {uuid.uuid4().hex[:6]}")
        assert made.status_code == 201, made.text
    async with httpx.AsyncClient(base_url=s.avadmin.url, timeout=10) as c:
        from .conftest import new_cpf

        added = await c.post(f"/api/accounts/{tenant.account_id}/users", headers=tenant.headers,
                             json={"full_name": "Carlos Teste", "cpf": new_cpf(),
                                   "whatsapp": "(11) 91234-5678", "password": PASSWORD,
                                   "role": "user"})
        assert added.status_code == 201, added.text
    micro = await small_plan(s, "Micro", max_products=1, max_users=1, price="19.90")
    resp = await call("POST", f"{s.avadmin.url}/api/billing/checkout", tenant,
                      headers={"Idempotency-Key": f"k-{uuid.uuid4()}"},
                      json={"plan_name": micro["name"], "method": "pix"})
    assert resp.status_code == 409, resp.text
    problem = resp.json()
    assert problem["code"] == "plan_usage_exceeded"
    by_field = {e["field"]: e for e in problem["errors"]}
    assert by_field["products_active"]["current"] == 3
    assert by_field["products_active"]["remove"] == 2
    assert by_field["users_active"]["current"] == 2 and by_field["users_active"]["remove"] == 1
    assert "produtos ativos: 3" in problem["detail"] and "usuários ativos: 2" in problem["detail"]
    # The operator meets the same check, and can force it with a reason.
    path = f"/api/operator/accounts/{tenant.account_id}/plan"
    refused = await operator(s, "POST", path, {"plan_id": micro["id"]})
    assert refused.status_code == 409 and code_of(refused) == "plan_usage_exceeded"
    forced = await operator(s, "POST", path, {"plan_id": micro["id"], "force": True,
                                              "reason": "migração acordada"})
    assert forced.status_code == 200, forced.text
