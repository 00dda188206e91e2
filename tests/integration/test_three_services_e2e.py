"""Issues 4 and 5 acceptance across REAL processes: AvAdmin, StockTech and Lucrum each run as
``uvicorn --factory`` on its own freshly migrated database, share the test Redis under stream
and consumer group names unique to this run, and are driven only through HTTP, as companies and
operators would.

AvAdmin is conftest's session process (its relay publishes to conftest's unique ``STREAM``);
StockTech and Lucrum are started here, once for the module, with client credentials registered
through ``avadmin.cli create-service-client --secret-stdin``. The test that kills AvAdmin runs
last; conftest's ``avadmin`` fixture restarts it for whoever needs it next.

Waits poll against a deadline; every delay measured is printed (run with ``-s`` to see them)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from avelar_kit.testing.plugin import migrated_database, owner_url

from .conftest import (
    OPERATOR_EMAIL,
    OPERATOR_PASSWORD,
    ROOT,
    RUN_ID,
    SALES_STREAM,
    STREAM,
    AvAdminApi,
    AvAdminProcess,
    free_port,
    new_cnpj,
    new_cpf,
    new_whatsapp,
    read_code,
    signup_confirmed,
)

STOCKTECH_DIR = ROOT / "services" / "stocktech"
LUCRUM_DIR = ROOT / "services" / "lucrum"
# StockTech's outbox relay publishes here and Lucrum consumes it: unique per run.
PASSWORD = "senhaSegura123"
OPENING = Decimal("1000.00")


# -- processes ----------------------------------------------------------------------------------


class ServiceProcess:
    """A module API started as ``uvicorn --factory <app>`` on a free port."""

    def __init__(self, name: str, factory: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.factory = factory
        self.env = env
        self.log = log
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "uvicorn", "--factory", self.factory,
                 "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log"],
                env=self.env, stdout=log, stderr=log, cwd=ROOT)

    def wait_ready(self, timeout: float = 30) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            try:
                health = httpx.get(f"{self.url}/health", timeout=1)
                if health.status_code == 200:
                    return
                last = f"{health.status_code} {health.text[:300]}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start in {timeout}s (/health: {last}): "
                           f"{self.tail()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@dataclass
class Stack:
    avadmin: AvAdminProcess
    stocktech: ServiceProcess
    lucrum: ServiceProcess
    stocktech_db_url: str
    redis_url: str
    category_id: str
    brand_id: str
    whatsapp_url: str = ""  # the WhatsApp Cloud API stand-in (its inbox as JSON)


@pytest.fixture(scope="module")
def stocktech_db_url(pg_url: str) -> Iterator[str]:
    yield from migrated_database(pg_url, "stocktech", STOCKTECH_DIR)


@pytest.fixture(scope="module")
def lucrum_db_url(pg_url: str) -> Iterator[str]:
    yield from migrated_database(pg_url, "lucrum", LUCRUM_DIR)


@pytest.fixture(scope="module")
def modules(
    avadmin_proc: AvAdminProcess, stocktech_db_url: str, lucrum_db_url: str, redis_url: str
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    """StockTech and Lucrum, each with its own client credentials registered in AvAdmin."""
    tmp = Path(tempfile.mkdtemp(prefix="e2e-modules-"))
    creds = {}
    for module in ("stocktech", "lucrum"):
        client_id, secret = f"{module}-{RUN_ID}", secrets.token_urlsafe(32)
        fields = ["--fields", "account.company_name,account.whatsapp"] * (module == "stocktech")
        avadmin_proc.cli("create-service-client", client_id, "--secret-stdin", *fields,
                         stdin=secret + "\n")
        creds[module] = (client_id, secret)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("STOCKTECH_", "LUCRUM_"))}
    group = f"e2e-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    stocktech = ServiceProcess("StockTech", "stocktech.main:create_app", {
        **base,
        "STOCKTECH_DATABASE_URL": stocktech_db_url,
        "STOCKTECH_REDIS_URL": redis_url,
        "STOCKTECH_AVADMIN_URL": avadmin_proc.url,
        "STOCKTECH_AVADMIN_CLIENT_ID": creds["stocktech"][0],
        "STOCKTECH_AVADMIN_CLIENT_SECRET": creds["stocktech"][1],
        "STOCKTECH_EVENTS_STREAM": SALES_STREAM,
        "STOCKTECH_AVADMIN_EVENTS_STREAM": STREAM,
        "STOCKTECH_CONSUMER_GROUP": f"stocktech-{group}",
        "STOCKTECH_LOG_LEVEL": "WARNING",
    }, tmp / "stocktech.log")
    lucrum = ServiceProcess("Lucrum", "lucrum.main:create_app", {
        **base,
        "LUCRUM_DATABASE_URL": lucrum_db_url,
        "LUCRUM_REDIS_URL": redis_url,
        "LUCRUM_AVADMIN_URL": avadmin_proc.url,
        "LUCRUM_AVADMIN_CLIENT_ID": creds["lucrum"][0],
        "LUCRUM_AVADMIN_CLIENT_SECRET": creds["lucrum"][1],
        "LUCRUM_STOCKTECH_EVENTS_STREAM": SALES_STREAM,
        "LUCRUM_AVADMIN_EVENTS_STREAM": STREAM,
        "LUCRUM_CONSUMER_GROUP": f"lucrum-{group}",
        "LUCRUM_LOG_LEVEL": "WARNING",
    }, tmp / "lucrum.log")
    try:
        avadmin_proc.start()
        stocktech.spawn()
        lucrum.spawn()
        stocktech.wait_ready()
        lucrum.wait_ready()
        yield stocktech, lucrum
    finally:
        stocktech.stop()
        lucrum.stop()
        # The sales stream is this run's alone (AvAdmin's is conftest's to delete).
        import redis

        with redis.Redis.from_url(redis_url) as r:
            r.delete(SALES_STREAM)


@pytest.fixture(scope="module")
def taxonomy(modules: tuple[ServiceProcess, ServiceProcess]) -> tuple[str, str]:
    """A category and a brand, created in StockTech with an AvAdmin operator token."""
    stocktech, _ = modules
    avadmin_url = stocktech.env["STOCKTECH_AVADMIN_URL"]
    login = httpx.post(f"{avadmin_url}/api/operator/login", timeout=10,
                       json={"email": OPERATOR_EMAIL, "password": OPERATOR_PASSWORD})
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    ids = []
    for path, name in (("/api/categories", f"Telas {RUN_ID}"), ("/api/brands", f"Xyz {RUN_ID}")):
        resp = httpx.post(f"{stocktech.url}{path}", json={"name": name}, headers=headers,
                          timeout=10)
        assert resp.status_code == 201, resp.text
        ids.append(resp.json()["id"])
    return ids[0], ids[1]


@pytest.fixture
async def stack(
    avadmin: AvAdminProcess, modules: tuple[ServiceProcess, ServiceProcess],
    taxonomy: tuple[str, str], stocktech_db_url: str, redis_url: str, whatsapp_standin: Any,
) -> Stack:
    """Everything up, and both modules seeing AvAdmin (after a restart their breakers may still
    be open for a moment)."""
    stocktech, lucrum = modules

    async def both_reach_avadmin() -> bool:
        async with httpx.AsyncClient(timeout=5) as c:
            for m in modules:
                body = (await c.get(f"{m.url}/health")).json()
                if body.get("avadmin_api") != "reachable":
                    return False
        return True

    await until(both_reach_avadmin, 15, "StockTech and Lucrum reach AvAdmin")
    return Stack(avadmin, stocktech, lucrum, stocktech_db_url, redis_url, *taxonomy,
                 whatsapp_url=whatsapp_standin.url)


# -- helpers ------------------------------------------------------------------------------------


async def until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> float:
    """Poll ``check`` until it holds; seconds it took. Fails after ``timeout``."""
    start = time.perf_counter()
    while True:
        if await check():
            return time.perf_counter() - start
        if time.perf_counter() - start > timeout:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.05)


@dataclass
class Tenant:
    name: str
    account_id: uuid.UUID
    user_id: uuid.UUID
    access: str
    cpf: str = ""
    whatsapp: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


async def signup_and_login(s: Any, name: str, plan: str = "Empresa") -> Tenant:
    """A company signs up on ``s.avadmin`` (confirmed with the code read from the WhatsApp
    stand-in at ``s.whatsapp_url``), then its admin logs in by CPF."""
    cpf, number = new_cpf(), new_whatsapp()
    body = {"company": {"company_name": name, "cnpj": new_cnpj(),
                        "whatsapp": number, "responsible_name": "Ana Teste"},
            "admin": {"full_name": "Ana Teste", "cpf": cpf, "whatsapp": number,
                      "password": PASSWORD},
            "plan_name": plan}
    data = await signup_confirmed(s.avadmin.url, s.whatsapp_url, body)
    async with httpx.AsyncClient(base_url=s.avadmin.url, timeout=10) as c:
        login = await c.post("/api/auth/login", json={"cpf": cpf, "password": PASSWORD})
        assert login.status_code == 200, login.text
    assert sorted(data["account"]["enabled_modules"]) == ["Lucrum", "StockTech"], data
    return Tenant(name, uuid.UUID(data["account"]["id"]), uuid.UUID(data["user"]["id"]),
                  login.json()["access_token"], cpf, number)


async def call(method: str, url: str, tenant: Tenant | None = None, **kwargs: Any
               ) -> httpx.Response:
    headers = {**(tenant.headers if tenant else {}), **kwargs.pop("headers", {})}
    async with httpx.AsyncClient(timeout=10) as c:
        return await c.request(method, url, headers=headers, **kwargs)


async def create_product(s: Stack, seller: Tenant, name: str, *, price: str = "150.00",
                         stock: int = 10) -> httpx.Response:
    return await call("POST", f"{s.stocktech.url}/api/products", seller, json={
        "name": name, "category_id": s.category_id, "brand_id": s.brand_id, "price": price,
        "stock_quantity": stock, "description": "Peça original, com garantia"})


async def bank_account(s: Stack, tenant: Tenant, number: str) -> dict[str, Any]:
    resp = await call("POST", f"{s.lucrum.url}/api/bank-accounts", tenant, json={
        "bank_code": "341", "agency": "1234", "account_number": number,
        "opening_balance": str(OPENING)})
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def marketplace(s: Stack, viewer: Tenant, q: str) -> list[str]:
    """Ids of the products the marketplace lists for a search."""
    resp = await call("GET", f"{s.stocktech.url}/api/products", viewer, params={"q": q})
    assert resp.status_code == 200, resp.text
    return [p["id"] for p in resp.json()["items"]]


async def postings(s: Stack, tenant: Tenant, bank_account_id: str, source_ref: str
                   ) -> list[dict[str, Any]]:
    resp = await call("GET", f"{s.lucrum.url}/api/financial-transactions", tenant,
                      params={"bank_account_id": bank_account_id, "page_size": 200})
    assert resp.status_code == 200, resp.text
    return [t for t in resp.json()["items"] if t["source_ref"] == source_ref]


async def balance(s: Stack, tenant: Tenant, bank_account_id: str) -> Decimal:
    resp = await call("GET", f"{s.lucrum.url}/api/bank-accounts/{bank_account_id}", tenant)
    assert resp.status_code == 200, resp.text
    return Decimal(resp.json()["balance"])


def code_of(resp: httpx.Response) -> str | None:
    if resp.headers.get("content-type", "").startswith("application/problem+json"):
        return str(resp.json().get("code"))
    return None


# -- tests --------------------------------------------------------------------------------------


async def test_sale_completed_in_stocktech_is_posted_once_on_both_default_accounts(
    stack: Stack,
) -> None:
    s = stack
    seller = await signup_and_login(s, f"Vendedora {RUN_ID} LTDA")
    buyer = await signup_and_login(s, f"Compradora {RUN_ID} LTDA")
    seller_default = await bank_account(s, seller, "11111-1")
    seller_other = await bank_account(s, seller, "22222-2")
    buyer_default = await bank_account(s, buyer, "33333-3")
    assert seller_default["is_default"] and buyer_default["is_default"]
    assert not seller_other["is_default"]

    created = await create_product(s, seller, f"Tela iPhone 13 {RUN_ID}", price="150.00",
                                   stock=10)
    assert created.status_code == 201, created.text
    product = created.json()

    key = f"compra-{uuid.uuid4()}"
    purchase = {"product_id": product["id"], "quantity": 2}
    first = await call("POST", f"{s.stocktech.url}/api/transactions", buyer, json=purchase,
                       headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    replay = await call("POST", f"{s.stocktech.url}/api/transactions", buyer, json=purchase,
                        headers={"Idempotency-Key": key})
    assert replay.status_code == 201, replay.text
    assert replay.headers.get("Idempotent-Replayed") == "true"
    tx = first.json()
    assert replay.json()["id"] == tx["id"]
    assert Decimal(tx["total_amount"]) == Decimal("300.00")
    stock = await call("GET", f"{s.stocktech.url}/api/products/{product['id']}", seller)
    assert stock.json()["stock_quantity"] == 8, "the replay bought nothing again"

    done = await call("POST", f"{s.stocktech.url}/api/transactions/{tx['id']}/complete", seller)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    completed_at = time.perf_counter()

    sale_ref, purchase_ref = f"stocktech:{tx['id']}:sale", f"stocktech:{tx['id']}:purchase"

    async def posted_both_sides() -> bool:
        return (bool(await postings(s, seller, seller_default["id"], sale_ref))
                and bool(await postings(s, buyer, buyer_default["id"], purchase_ref)))

    await until(posted_both_sides, 10, "the sale reaches Lucrum on both sides")
    print(f"\n[e2e] StockTech complete -> Lucrum income+expense posted after "
          f"{time.perf_counter() - completed_at:.2f}s")

    # The same event delivered a second time (as after a relay crash between XADD and marking
    # the outbox row published) must post nothing again.
    r = aioredis.Redis.from_url(s.redis_url)
    try:
        entries = [(eid, f) for eid, f in await r.xrange(SALES_STREAM)
                   if tx["id"].encode() in f.get(b"event", b"")
                   and b"stocktech.transaction.completed" in f.get(b"event", b"")]
        assert len(entries) == 1, entries
        dup_id = await r.xadd(SALES_STREAM, entries[0][1])
        group = s.lucrum.env["LUCRUM_CONSUMER_GROUP"]

        async def duplicate_consumed() -> bool:
            # redis-py gives the field names as str and the values as bytes.
            info = {g["name"]: g for g in await r.xinfo_groups(SALES_STREAM)}
            g = info[group.encode()]
            last = tuple(int(p) for p in g["last-delivered-id"].split(b"-"))
            return last >= tuple(int(p) for p in dup_id.split(b"-")) and g["pending"] == 0

        await until(duplicate_consumed, 10, "Lucrum consumes the duplicate delivery")
    finally:
        await r.aclose()

    income = await postings(s, seller, seller_default["id"], sale_ref)
    expense = await postings(s, buyer, buyer_default["id"], purchase_ref)
    assert len(income) == 1 and len(expense) == 1, (income, expense)
    assert income[0]["type"] == "income" and expense[0]["type"] == "expense"
    assert Decimal(income[0]["amount"]) == Decimal(expense[0]["amount"]) == Decimal("300.00")
    assert income[0]["source"] == "stocktech"
    assert not await postings(s, seller, seller_other["id"], sale_ref), "only the default account"
    assert await balance(s, seller, seller_default["id"]) == OPENING + Decimal("300.00")
    assert await balance(s, seller, seller_other["id"]) == OPENING
    assert await balance(s, buyer, buyer_default["id"]) == OPENING - Decimal("300.00")
    for tenant, acc in ((seller, seller_default), (buyer, buyer_default)):
        rec = await call("GET", f"{s.lucrum.url}/api/bank-accounts/{acc['id']}/reconcile", tenant)
        assert Decimal(rec.json()["drift"]) == 0, rec.text


async def test_suspended_seller_vanishes_and_is_refused_then_comes_back_on_reactivation(
    stack: Stack, api: AvAdminApi,
) -> None:
    s = stack
    seller = await signup_and_login(s, f"Suspensa {RUN_ID} LTDA")
    buyer = await signup_and_login(s, f"Olhadora {RUN_ID} LTDA")
    await bank_account(s, seller, "44444-4")
    name = f"Bateria Galaxy {uuid.uuid4().hex[:8]}"
    created = await create_product(s, seller, name)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    assert await marketplace(s, buyer, name) == [pid]
    stocktech_probe = f"{s.stocktech.url}/api/products"
    lucrum_probe = f"{s.lucrum.url}/api/bank-accounts"
    assert (await call("GET", lucrum_probe, seller)).status_code == 200

    await api.operator("POST", f"/api/operator/accounts/{seller.account_id}/suspend",
                       {"reason": "inadimplência"})
    start = time.perf_counter()
    seen: dict[str, float] = {}

    async def note(label: str, ok: bool) -> bool:
        if ok and label not in seen:
            seen[label] = time.perf_counter() - start
        return label in seen

    async def all_enforced() -> bool:
        gone = await note("listing", pid not in await marketplace(s, buyer, name))
        st = await call("GET", stocktech_probe, seller)
        st_ok = await note("stocktech 403", st.status_code == 403
                           and code_of(st) == "account_suspended")
        lu = await call("GET", lucrum_probe, seller)
        lu_ok = await note("lucrum 403", lu.status_code == 403
                           and code_of(lu) == "account_suspended")
        return gone and st_ok and lu_ok

    await until(all_enforced, 5, "suspension enforced everywhere")
    print("\n[e2e] account.suspended: " + ", ".join(f"{k} after {v:.2f}s"
                                                   for k, v in seen.items()))
    # A write is refused too, not only reads.
    refused = await create_product(s, seller, f"{name} 2")
    assert refused.status_code == 403 and code_of(refused) == "account_suspended", refused.text

    await api.operator("POST", f"/api/operator/accounts/{seller.account_id}/reactivate")
    start = time.perf_counter()
    seen.clear()

    async def all_back() -> bool:
        back = await note("listing", await marketplace(s, buyer, name) == [pid])
        st = await note("stocktech 200",
                        (await call("GET", stocktech_probe, seller)).status_code == 200)
        lu = await note("lucrum 200", (await call("GET", lucrum_probe, seller)).status_code == 200)
        return back and st and lu

    await until(all_back, 5, "reactivation restores listing and access")
    print("[e2e] account.reactivated: " + ", ".join(f"{k} after {v:.2f}s"
                                                    for k, v in seen.items()))


async def test_downgrade_to_a_smaller_plan_refuses_the_next_product_naming_the_limit(
    stack: Stack, api: AvAdminApi,
) -> None:
    s = stack
    seller = await signup_and_login(s, f"Rebaixada {RUN_ID} LTDA")
    for i in range(2):
        resp = await create_product(s, seller, f"Conector USB-C {i} {RUN_ID}")
        assert resp.status_code == 201, resp.text
    mine = await call("GET", f"{s.stocktech.url}/api/products", seller, params={"mine": "true"})
    current = mine.json()["total"]
    assert current == 2
    lojista = next(p for p in await api.operator("GET", "/api/operator/plans")
                   if p["name"] == "Lojista")
    assert lojista["max_products"] == 100
    plan_name = f"Lojista Mini {uuid.uuid4().hex[:6]}"
    plan = await api.operator("POST", "/api/operator/plans", {
        "name": plan_name, "price": lojista["price"], "max_products": current,
        "max_users": lojista["max_users"], "max_transactions": lojista["max_transactions"],
        "features": lojista["features"], "modules": lojista["modules"]})
    await api.operator("POST", f"/api/operator/accounts/{seller.account_id}/plan",
                       {"plan_id": plan["id"]})
    refusal: list[httpx.Response] = []
    slipped = 0

    async def refused() -> bool:
        nonlocal slipped
        resp = await create_product(s, seller, f"Conector extra {uuid.uuid4().hex[:6]}")
        if resp.status_code == 201:
            # Created before the downgrade was known: take it off sale so the count stays at
            # the new limit, and try again.
            slipped += 1
            gone = await call("DELETE", f"{s.stocktech.url}/api/products/{resp.json()['id']}",
                              seller)
            assert gone.status_code == 204, gone.text
            return False
        assert resp.status_code == 403, resp.text
        refusal.append(resp)
        return True

    took = await until(refused, 5, "the downgrade limits product creation")
    print(f"\n[e2e] account.plan_changed: create refused after {took:.2f}s "
          f"({slipped} create(s) accepted before)")
    problem = refusal[0].json()
    assert problem["code"] == "plan_limit_reached"
    assert f"até {current} produtos" in problem["detail"] and plan_name in problem["detail"]
    assert (problem["limit"], problem["allowed"], problem["plan"]) == (
        "max_products", current, plan_name)


async def test_deactivated_user_token_is_refused_in_stocktech_within_5_seconds(
    stack: Stack, api: AvAdminApi,
) -> None:
    s = stack
    company = await signup_and_login(s, f"Equipe {RUN_ID} LTDA")
    user_id, token = await api.add_user(company)  # type: ignore[arg-type]
    user = Tenant("Carlos", company.account_id, user_id, token)
    probe = f"{s.stocktech.url}/api/products"
    assert (await call("GET", probe, user, params={"mine": "true"})).status_code == 200
    made = await create_product(s, user, f"Flex de carga {uuid.uuid4().hex[:6]}")
    assert made.status_code == 201, made.text

    await api.deactivate(company, user_id)  # type: ignore[arg-type]
    start = time.perf_counter()

    async def refused() -> bool:
        resp = await call("GET", probe, user, params={"mine": "true"})
        return resp.status_code == 401 and code_of(resp) == "user_deactivated"

    await until(refused, 5, "the deactivated user's token is refused")
    print(f"\n[e2e] user.deactivated: StockTech refuses the token after "
          f"{time.perf_counter() - start:.2f}s")
    write = await create_product(s, user, f"Flex de carga {uuid.uuid4().hex[:6]}")
    assert write.status_code == 401 and code_of(write) == "user_deactivated", write.text
    # The company's admin is unaffected.
    assert (await call("GET", probe, company, params={"mine": "true"})).status_code == 200


async def test_password_change_ends_old_tokens_in_the_modules_within_5_seconds(
    stack: Stack, api: AvAdminApi,
) -> None:
    s = stack
    company = await signup_and_login(s, f"Senha {RUN_ID} LTDA")
    probe = f"{s.stocktech.url}/api/products"
    lucrum_probe = f"{s.lucrum.url}/api/bank-accounts"
    assert (await call("GET", probe, company, params={"mine": "true"})).status_code == 200
    assert (await call("GET", lucrum_probe, company)).status_code == 200
    # Tokens carry whole-second iat: let the old token be from an earlier second than the change.
    await asyncio.sleep(1.1)
    changed = await call("POST", f"{s.avadmin.url}/api/users/me/password", company,
                         json={"current_password": PASSWORD, "new_password": "novaSenha2026x"})
    assert changed.status_code == 204, changed.text
    start = time.perf_counter()

    async def refused() -> bool:
        st = await call("GET", probe, company, params={"mine": "true"})
        lc = await call("GET", lucrum_probe, company)
        return all(r.status_code == 401 and code_of(r) == "session_revoked" for r in (st, lc))

    await until(refused, 5, "the token from before the password change is refused")
    print(f"\n[e2e] password change: modules refuse the old token after "
          f"{time.perf_counter() - start:.2f}s")
    async with httpx.AsyncClient(base_url=s.avadmin.url, timeout=10) as c:
        me = await c.get("/api/users/me", headers=company.headers)
        assert me.status_code == 401



async def inbox(s: Stack, number: str, template: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=s.whatsapp_url, timeout=5) as c:
        resp = await c.get("/_standin/messages", params={"to": number, "template": template})
    return list(resp.json()["messages"])


async def test_password_recovery_ends_old_tokens_in_all_three_modules(stack: Stack) -> None:
    s = stack
    company = await signup_and_login(s, f"Esquecida {RUN_ID} LTDA")
    st_probe = f"{s.stocktech.url}/api/products"
    lc_probe = f"{s.lucrum.url}/api/bank-accounts"
    assert (await call("GET", st_probe, company, params={"mine": "true"})).status_code == 200
    assert (await call("GET", lc_probe, company)).status_code == 200
    # Tokens carry whole-second iat: let the old token be from an earlier second than the reset.
    await asyncio.sleep(1.1)
    forgot = await call("POST", f"{s.avadmin.url}/api/auth/password/forgot",
                        json={"cpf": company.cpf})
    assert forgot.status_code == 202, forgot.text
    code = await read_code(s.whatsapp_url, company.whatsapp, after=1)  # after the signup's
    reset = await call("POST", f"{s.avadmin.url}/api/auth/password/reset",
                       json={"cpf": company.cpf, "code": code, "new_password": "recuperada2026"})
    assert reset.status_code == 204, reset.text
    start = time.perf_counter()

    async def refused_everywhere() -> bool:
        st = await call("GET", st_probe, company, params={"mine": "true"})
        lc = await call("GET", lc_probe, company)
        av = await call("GET", f"{s.avadmin.url}/api/users/me", company)
        return (all(r.status_code == 401 and code_of(r) == "session_revoked" for r in (st, lc))
                and av.status_code == 401)

    await until(refused_everywhere, 5, "the token from before the recovery is refused")
    print(f"\n[e2e] password recovery: the three modules refuse the old token after "
          f"{time.perf_counter() - start:.2f}s")
    async with httpx.AsyncClient(base_url=s.avadmin.url, timeout=10) as c:
        login = await c.post("/api/auth/login",
                             json={"cpf": company.cpf, "password": "recuperada2026"})
    assert login.status_code == 200, login.text


async def test_purchase_tells_the_seller_once_and_a_whatsapp_outage_blocks_nothing(
    stack: Stack,
) -> None:
    s = stack
    seller = await signup_and_login(s, f"Avisada {RUN_ID} LTDA")
    buyer = await signup_and_login(s, f"Compradeira {RUN_ID} LTDA")
    made = await create_product(s, seller, f"Bateria {uuid.uuid4().hex[:6]}", price="411.52")
    assert made.status_code == 201, made.text
    product = made.json()
    async with httpx.AsyncClient(base_url=s.whatsapp_url, timeout=5) as c:
        await c.post("/_standin/outage", json={"status": 503, "code": 131000})
    try:
        bought = await call("POST", f"{s.stocktech.url}/api/transactions", buyer,
                            json={"product_id": product["id"], "quantity": 3})
        assert bought.status_code == 201, bought.text  # WhatsApp down: the purchase goes on
        tx = bought.json()
        # The message waits in AvAdmin's outbox, retried with backoff.
        # As the owner: the app role sees no company's rows without a company (ADR 0020).
        engine = create_async_engine(owner_url(s.avadmin.env["AVADMIN_DATABASE_URL"]),
                                     poolclass=NullPool)
        try:
            async def tried() -> bool:
                async with engine.connect() as conn:
                    n = await conn.scalar(text(
                        "SELECT count(*) FROM whatsapp_messages WHERE template = "
                        "'avelar_nova_compra' AND status = 'pending' AND attempts >= 1 "
                        "AND account_id = :a"), {"a": seller.account_id})
                return bool(n)

            await until(tried, 10, "AvAdmin tried to tell the seller and is retrying")
        finally:
            await engine.dispose()
        assert await inbox(s, seller.whatsapp, "avelar_nova_compra") == []
    finally:
        async with httpx.AsyncClient(base_url=s.whatsapp_url, timeout=5) as c:
            await c.post("/_standin/outage", json={"status": None})
    ended = time.perf_counter()

    async def told() -> bool:
        return bool(await inbox(s, seller.whatsapp, "avelar_nova_compra"))

    await until(told, 10, "the seller is told once WhatsApp is back")
    print(f"\n[e2e] WhatsApp back: seller told after {time.perf_counter() - ended:.2f}s")
    # The purchase event delivered a second time changes nothing.
    r = aioredis.Redis.from_url(s.redis_url)
    try:
        entries = [f for _, f in await r.xrange(SALES_STREAM)
                   if tx["id"].encode() in f.get(b"event", b"")
                   and b"stocktech.transaction.created" in f.get(b"event", b"")]
        assert len(entries) == 1
        dup_id = await r.xadd(SALES_STREAM, entries[0])
        group = s.avadmin.env["AVADMIN_NOTIFICATIONS_GROUP"]

        async def duplicate_consumed() -> bool:
            info = {g["name"]: g for g in await r.xinfo_groups(SALES_STREAM)}
            g = info.get(group.encode())
            if not g:
                return False
            last = tuple(int(p) for p in g["last-delivered-id"].split(b"-"))
            return last >= tuple(int(p) for p in dup_id.split(b"-")) and g["pending"] == 0

        await until(duplicate_consumed, 10, "AvAdmin consumes the duplicate")
    finally:
        await r.aclose()
    [msg] = await inbox(s, seller.whatsapp, "avelar_nova_compra")
    assert product["code"] in msg["text"] and "quantidade 3" in msg["text"]
    assert "R$ 1.234,56" in msg["text"] and f"Compradeira {RUN_ID} LTDA" in msg["text"]
    assert f"https://wa.me/{buyer.whatsapp[1:]}" in msg["text"]


async def test_avadmin_killed_marketplace_and_lucrum_reads_keep_working_writes_get_503(
    stack: Stack,
) -> None:
    """Runs last: it kills AvAdmin (conftest's ``avadmin`` fixture restarts it for others)."""
    s = stack
    seller = await signup_and_login(s, f"Aquecida {RUN_ID} LTDA")
    buyer = await signup_and_login(s, f"Leitora {RUN_ID} LTDA")
    # Known to AvAdmin only: StockTech never saw this company before the outage.
    cold = await signup_and_login(s, f"Nova {RUN_ID} LTDA")
    name = f"Carregador turbo {uuid.uuid4().hex[:8]}"
    # Warm-up: each caller's user and company read once by each module, the JWKS fetched.
    created = await create_product(s, seller, name)
    assert created.status_code == 201, created.text
    assert await marketplace(s, buyer, name) == [created.json()["id"]]
    acc = await bank_account(s, seller, "55555-5")
    lucrum_reads = [f"/api/bank-accounts/{acc['id']}", "/api/bank-accounts",
                    "/api/financial-transactions"]
    for path in lucrum_reads:
        assert (await call("GET", f"{s.lucrum.url}{path}", seller)).status_code == 200

    s.avadmin.kill()
    killed_at = time.perf_counter()
    statuses: dict[str, list[int]] = {"listing": [], "lucrum": []}
    while time.perf_counter() - killed_at < 2.5:
        listing = await call("GET", f"{s.stocktech.url}/api/products", buyer,
                             params={"q": name})
        statuses["listing"].append(listing.status_code)
        assert listing.status_code != 200 or len(listing.json()["items"]) == 1
        for path in lucrum_reads:
            statuses["lucrum"].append(
                (await call("GET", f"{s.lucrum.url}{path}", seller)).status_code)
        await asyncio.sleep(0.1)
    print(f"\n[e2e] AvAdmin down: {len(statuses['listing'])} marketplace reads, "
          f"{len(statuses['lucrum'])} Lucrum reads in 2.5s")
    assert set(statuses["listing"]) == {200}, statuses["listing"]
    assert set(statuses["lucrum"]) == {200}, statuses["lucrum"]

    cold_name = f"Sem autorização {uuid.uuid4().hex[:8]}"
    refused = await create_product(s, cold, cold_name)
    assert refused.status_code == 503, refused.text
    assert code_of(refused) == "avadmin_unavailable"
    assert int(refused.headers["Retry-After"]) >= 1
    engine = create_async_engine(s.stocktech_db_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            written = await conn.scalar(text("SELECT count(*) FROM products WHERE name = :n"),
                                        {"n": cold_name})
    finally:
        await engine.dispose()
    assert written == 0, "a refused create wrote nothing"

    # The warm seller's company was read seconds ago, well inside the client's bound for
    # authorising writes from its last known copy: its create may go through, but then it
    # really is there (never a success that did not happen, never a 500).
    warm = await create_product(s, seller, f"{name} bis")
    assert warm.status_code in (201, 503), warm.text
    if warm.status_code == 201:
        assert warm.json()["id"] in await marketplace(s, buyer, f"{name} bis")
    print(f"[e2e] AvAdmin down: cold company create -> 503 Retry-After "
          f"{refused.headers['Retry-After']}; warm company create -> {warm.status_code}")

    for module in (s.stocktech, s.lucrum):
        health = await call("GET", f"{module.url}/health")
        assert health.status_code == 200, health.text
        body = health.json()
        print(f"[e2e] {module.name} /health with AvAdmin down: {json.dumps(body)}")
        assert body["status"] == "degraded" and body["avadmin_api"] == "unreachable", body
        assert body["database"] == "connected" and body["redis"] == "connected", body
