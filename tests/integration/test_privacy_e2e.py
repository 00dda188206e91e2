"""Issue 15 (points 1 and 2) across REAL processes: AvAdmin, StockTech and Lucrum each run as
``uvicorn --factory`` on its own freshly migrated database, AvAdmin knows both modules' URLs
for the export, and the three share the test Redis under stream and group names of this run.

A person is planted in all three modules through their APIs (a user of a company: a purchase
and the cached profile in StockTech, an entry and the cached profile in Lucrum). The export
holds every one of those fields; after the erasure a scan of every text and JSON column of the
three databases and of every Redis key and value finds none of the person's CPF, name or
number, the person's tokens are refused everywhere, the books and the marketplace history are
unchanged; an erasure issued while Lucrum is down is applied when it comes back."""

from __future__ import annotations

import json
import os
import random
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio as aioredis

from avelar_kit.br.cpf import compute_cpf_check_digits
from avelar_kit.testing.plugin import migrated_database
from avelar_kit.testing.privacy import scan_database, scan_redis

from .conftest import ROOT, RUN_ID, AvAdminProcess, whatsapp_env
from .test_three_services_e2e import (
    LUCRUM_DIR,
    STOCKTECH_DIR,
    ServiceProcess,
    Tenant,
    call,
    signup_and_login,
    until,
)

AVADMIN_DIR = ROOT / "services" / "avadmin"
STREAM = f"avelar:events:avadmin:privacy-{RUN_ID}"
SALES = f"avelar:events:stocktech:privacy-{RUN_ID}"
OPERATOR = (f"privacy-{RUN_ID}@avelarsys.test", "operador-senha-forte-123")
PASSWORD = "senhaSegura123"


@dataclass
class PrivacyStack:
    avadmin: AvAdminProcess
    stocktech: ServiceProcess
    lucrum: ServiceProcess
    db_urls: dict[str, str]
    redis_url: str
    category_id: str
    brand_id: str
    whatsapp_url: str = ""


@pytest.fixture(scope="module")
def privacy_stack(pg_url: str, redis_url: str, whatsapp_standin: Any) -> Iterator[PrivacyStack]:
    tmp = Path(tempfile.mkdtemp(prefix="privacy-e2e-"))
    dbs = [migrated_database(pg_url, name, d) for name, d in
           (("avadmin", AVADMIN_DIR), ("stocktech", STOCKTECH_DIR), ("lucrum", LUCRUM_DIR))]
    avadmin_db, stocktech_db, lucrum_db = (next(g) for g in dbs)
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("AVADMIN_", "STOCKTECH_", "LUCRUM_"))}
    group = f"privacy-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    creds = {m: (f"{m}-{RUN_ID}", secrets.token_urlsafe(32)) for m in ("stocktech", "lucrum")}
    stocktech = ServiceProcess("StockTech", "stocktech.main:create_app", {
        **base, "STOCKTECH_DATABASE_URL": stocktech_db, "STOCKTECH_REDIS_URL": redis_url,
        "STOCKTECH_AVADMIN_CLIENT_ID": creds["stocktech"][0],
        "STOCKTECH_AVADMIN_CLIENT_SECRET": creds["stocktech"][1],
        "STOCKTECH_EVENTS_STREAM": SALES, "STOCKTECH_AVADMIN_EVENTS_STREAM": STREAM,
        "STOCKTECH_CONSUMER_GROUP": f"stocktech-{group}", "STOCKTECH_LOG_LEVEL": "WARNING",
    }, tmp / "stocktech.log")
    lucrum = ServiceProcess("Lucrum", "lucrum.main:create_app", {
        **base, "LUCRUM_DATABASE_URL": lucrum_db, "LUCRUM_REDIS_URL": redis_url,
        "LUCRUM_AVADMIN_CLIENT_ID": creds["lucrum"][0],
        "LUCRUM_AVADMIN_CLIENT_SECRET": creds["lucrum"][1],
        "LUCRUM_STOCKTECH_EVENTS_STREAM": SALES, "LUCRUM_AVADMIN_EVENTS_STREAM": STREAM,
        "LUCRUM_CONSUMER_GROUP": f"lucrum-{group}", "LUCRUM_LOG_LEVEL": "WARNING",
    }, tmp / "lucrum.log")
    avadmin = AvAdminProcess({
        **base, "AVADMIN_DATABASE_URL": avadmin_db, "AVADMIN_REDIS_URL": redis_url,
        "AVADMIN_SIGNING_KEY_FILE": str(tmp / "signing.pem"), "AVADMIN_EVENTS_STREAM": STREAM,
        "AVADMIN_LOG_LEVEL": "WARNING", "AVADMIN_LOG_FILE_FOR_TESTS": str(tmp / "avadmin.log"),
        "AVADMIN_STOCKTECH_URL": stocktech.url, "AVADMIN_LUCRUM_URL": lucrum.url,
        "AVADMIN_PRIVACY_JOB_INTERVAL_SECONDS": "1", "AVADMIN_DUNNING_INTERVAL_SECONDS": "0",
        **whatsapp_env(whatsapp_standin.url, SALES)})
    stocktech.env["STOCKTECH_AVADMIN_URL"] = avadmin.url
    lucrum.env["LUCRUM_AVADMIN_URL"] = avadmin.url
    try:
        avadmin.cli("seed")
        avadmin.cli("create-operator", "--email", OPERATOR[0], "--name", "Operadora",
                    "--password-stdin", stdin=OPERATOR[1] + "\n")
        # Each client with the personal fields it reads in production (docs/privacy.md).
        for module, (client_id, client_secret) in creds.items():
            fields = ["--fields", "account.company_name,account.whatsapp"] * (module == "stocktech")
            avadmin.cli("create-service-client", client_id, "--secret-stdin", *fields,
                        stdin=client_secret + "\n")
        # Generous bounds: on a loaded 2-core machine importing a module takes tens of seconds.
        avadmin.start(timeout=120)
        stocktech.spawn()
        lucrum.spawn()
        stocktech.wait_ready(120)
        lucrum.wait_ready(120)
        ops = _operator_headers(avadmin.url)
        ids = []
        for path, name in (("/api/categories", f"Telas {RUN_ID}"),
                           ("/api/brands", f"Marca {RUN_ID}")):
            resp = httpx.post(f"{stocktech.url}{path}", json={"name": name}, headers=ops,
                              timeout=10)
            assert resp.status_code == 201, resp.text
            ids.append(resp.json()["id"])
        yield PrivacyStack(avadmin, stocktech, lucrum,
                           {"avadmin": avadmin_db, "stocktech": stocktech_db,
                            "lucrum": lucrum_db}, redis_url, ids[0], ids[1],
                           whatsapp_url=whatsapp_standin.url)
    finally:
        stocktech.stop()
        lucrum.stop()
        avadmin.kill()
        with redis.Redis.from_url(redis_url) as r:
            r.delete(STREAM, SALES, f"{STREAM}:dead", f"{SALES}:dead")
        for g in dbs:
            next(g, None)


def _operator_headers(avadmin_url: str) -> dict[str, str]:
    login = httpx.post(f"{avadmin_url}/api/operator/login", timeout=10,
                       json={"email": OPERATOR[0], "password": OPERATOR[1]})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


# -- the person, planted in the three modules ---------------------------------------------------


@dataclass
class Person:
    user_id: uuid.UUID
    account_id: uuid.UUID
    full_name: str
    cpf: str
    whatsapp: str
    access: str
    refresh: str

    @property
    def tenant(self) -> Tenant:
        return Tenant(self.full_name, self.account_id, self.user_id, self.access)

    @property
    def needles(self) -> list[str]:
        # The number as stored (+55...) and as in chat ids and links (digits only).
        return [self.cpf, self.full_name, self.whatsapp.lstrip("+")]


def _cpf() -> str:
    base = f"{random.randrange(10**8, 10**9):09d}"
    return base + compute_cpf_check_digits(base)


async def add_person(s: PrivacyStack, company: Tenant) -> Person:
    cpf = _cpf()
    number = f"+551197{random.randrange(10**6, 10**7):07d}"
    name = f"Beatriz Titular {uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=s.avadmin.url, timeout=10) as c:
        resp = await c.post(f"/api/accounts/{company.account_id}/users", headers=company.headers,
                            json={"full_name": name, "cpf": cpf, "whatsapp": number,
                                  "password": PASSWORD, "role": "user"})
        assert resp.status_code == 201, resp.text
        login = await c.post("/api/auth/login", json={"cpf": cpf, "password": PASSWORD})
        assert login.status_code == 200, login.text
    tokens = login.json()
    return Person(uuid.UUID(resp.json()["id"]), company.account_id, name, cpf, number,
                  tokens["access_token"], tokens["refresh_token"])


@dataclass
class World:
    seller: Tenant
    buyer: Tenant
    person: Person
    sale_id: str
    entry_id: str
    banks: dict[str, str]


async def plant(s: PrivacyStack) -> World:
    """Two companies with books; the person (a user of the buyer) buys in StockTech, posts an
    entry in Lucrum, and both modules cache the person's AvAdmin profile on the way."""
    seller = await signup_and_login(s, f"Vendedora Privacidade {RUN_ID} LTDA")
    buyer = await signup_and_login(s, f"Compradora Privacidade {RUN_ID} LTDA")
    banks = {}
    for name, tenant in (("seller", seller), ("buyer", buyer)):
        resp = await call("POST", f"{s.lucrum.url}/api/bank-accounts", tenant, json={
            "bank_code": "341", "agency": "1234",
            "account_number": f"{random.randrange(10**5, 10**6)}-1",
            "opening_balance": "1000.00"})
        assert resp.status_code == 201, resp.text
        banks[name] = resp.json()["id"]
    person = await add_person(s, buyer)
    product = await call("POST", f"{s.stocktech.url}/api/products", seller, json={
        "name": f"Tela Privacidade {RUN_ID}", "category_id": s.category_id,
        "brand_id": s.brand_id, "price": "120.00", "stock_quantity": 5})
    assert product.status_code == 201, product.text
    bought = await call("POST", f"{s.stocktech.url}/api/transactions", person.tenant,
                        json={"product_id": product.json()["id"], "quantity": 2})
    assert bought.status_code == 201, bought.text
    sale_id = bought.json()["id"]
    done = await call("POST", f"{s.stocktech.url}/api/transactions/{sale_id}/complete", seller)
    assert done.status_code == 200, done.text
    entry = await call("POST", f"{s.lucrum.url}/api/financial-transactions", person.tenant,
                       json={"bank_account_id": banks["buyer"], "amount": "35.50",
                             "type": "expense", "description": f"Frete {RUN_ID}"})
    assert entry.status_code == 201, entry.text

    async def posted() -> bool:
        resp = await call("GET", f"{s.lucrum.url}/api/financial-transactions", seller,
                          params={"bank_account_id": banks["seller"]})
        return any(t["source_ref"] == f"stocktech:{sale_id}:sale" for t in resp.json()["items"])

    await until(posted, 15, "the sale reaches Lucrum")
    return World(seller, buyer, person, sale_id, entry.json()["id"], banks)


async def books(s: PrivacyStack, w: World) -> dict[str, Any]:
    """The companies' financial totals and marketplace history, as their admins see them."""
    out: dict[str, Any] = {}
    for name, tenant in (("seller", w.seller), ("buyer", w.buyer)):
        bank = await call("GET", f"{s.lucrum.url}/api/bank-accounts/{w.banks[name]}", tenant)
        entries = await call("GET", f"{s.lucrum.url}/api/financial-transactions", tenant,
                             params={"bank_account_id": w.banks[name], "page_size": 200})
        role = "seller" if name == "seller" else "buyer"
        market = await call("GET", f"{s.stocktech.url}/api/transactions", tenant,
                            params={"role": role, "page_size": 100})
        assert bank.status_code == entries.status_code == market.status_code == 200
        out[name] = {
            "balance": Decimal(bank.json()["balance"]),
            "entries": sorted((t["id"], t["amount"], t["type"], t["description"])
                              for t in entries.json()["items"]),
            "market": sorted((t["id"], t["total_amount"], t["status"], t["buyer_user_id"])
                             for t in market.json()["items"]),
        }
    return out


async def refused(url: str, token: str) -> bool:
    async with httpx.AsyncClient(timeout=10) as c:
        resp = await c.get(url, headers={"Authorization": f"Bearer {token}"})
    return resp.status_code in (401, 403)


def module_urls(s: PrivacyStack) -> list[str]:
    return [f"{s.avadmin.url}/api/users/me", f"{s.stocktech.url}/api/products",
            f"{s.lucrum.url}/api/bank-accounts"]


# -- tests --------------------------------------------------------------------------------------


async def test_export_holds_every_field_planted_in_the_three_modules(
    privacy_stack: PrivacyStack,
) -> None:
    s = privacy_stack
    w = await plant(s)
    p = w.person
    for url in module_urls(s)[1:]:  # both modules have now cached the person's profile
        assert not await refused(url, p.access)
    resp = await call("POST", f"{s.avadmin.url}/api/privacy/export", p.tenant, json={})
    assert resp.status_code == 201, resp.text
    assert resp.json()["missing"] == []
    doc = (await call("GET", f"{s.avadmin.url}{resp.json()['download_url']}", p.tenant)).json()
    modules = doc["modules"]
    assert sorted(modules) == ["AvAdmin", "Lucrum", "StockTech"]
    profile = modules["AvAdmin"]["profile"]
    assert (profile["full_name"], profile["cpf"], profile["whatsapp"]) == (
        p.full_name, p.cpf, p.whatsapp)
    # Each module's cached copy of the person, exactly as it holds it (the fields its service
    # client may read: all three, or fewer under per-client scopes).
    r = aioredis.Redis.from_url(s.redis_url)
    try:
        for module in ("StockTech", "Lucrum"):
            key = f"avelar:{module}:avadmin:user:{p.user_id}"
            raw = await r.get(key) or await r.get(f"{key}:last")
            assert raw is not None, f"{module} holds a copy of the person"
            held = json.loads(raw)["data"]
            assert modules[module]["cached_profile"] == held, module
            for field, value in (("full_name", p.full_name), ("cpf", p.cpf),
                                 ("whatsapp", p.whatsapp)):
                assert held.get(field) in (value, None), (module, field)
    finally:
        await r.aclose()
    [sale] = modules["StockTech"]["transactions"]
    assert (sale["id"], sale["roles"], sale["quantity"], sale["total_amount"]) == (
        w.sale_id, ["buyer"], 2, "240.00")
    [entry] = modules["Lucrum"]["entries_created"]
    assert (entry["id"], entry["description"], entry["amount"]) == (
        w.entry_id, f"Frete {RUN_ID}", "35.50")
    # Nobody else downloads it.
    other = await call("GET", f"{s.avadmin.url}{resp.json()['download_url']}", w.buyer)
    assert other.status_code == 404


async def test_erasure_while_lucrum_is_down_leaves_no_trace_and_keeps_the_books(
    privacy_stack: PrivacyStack,
) -> None:
    s = privacy_stack
    w = await plant(s)
    p = w.person
    for url in module_urls(s):
        assert not await refused(url, p.access)
    before = await books(s, w)
    r = aioredis.Redis.from_url(s.redis_url)
    lucrum_copy = f"avelar:Lucrum:avadmin:user:{p.user_id}*"
    try:
        assert [k async for k in r.scan_iter(match=lucrum_copy)], "Lucrum cached the person"
        s.lucrum.stop()
        try:
            erased = await call("POST", f"{s.avadmin.url}/api/privacy/erase", w.buyer,
                                json={"user_id": str(p.user_id)})
            assert erased.status_code == 200, erased.text
            for url in module_urls(s)[:2]:
                async def refused_here(url: str = url) -> bool:
                    return await refused(url, p.access)

                await until(refused_here, 15, f"the person's token refused at {url}")
            refresh = await call("POST", f"{s.avadmin.url}/api/auth/refresh",
                                 json={"refresh_token": p.refresh})
            assert refresh.status_code == 401
            # Down, Lucrum has not applied it: its copy of the person is still there.
            assert [k async for k in r.scan_iter(match=lucrum_copy)]
        finally:
            s.lucrum.spawn()
            s.lucrum.wait_ready(120)

        async def lucrum_applied() -> bool:
            keys = [k async for k in r.scan_iter(match=f"avelar:Lucrum:avadmin:user:{p.user_id}")]
            return not keys and await refused(module_urls(s)[2], p.access)

        await until(lucrum_applied, 20, "Lucrum applies the erasure when it is back")

        async def nothing_left() -> bool:
            return not await scan_redis(r, p.needles)

        await until(nothing_left, 15, "AvAdmin's streams lose the person's events")
        assert await scan_redis(r, p.needles) == []
    finally:
        await r.aclose()
    for name, url in s.db_urls.items():
        assert await scan_database(url, p.needles) == [], name
    # The books and the marketplace history are exactly as they were.
    assert await books(s, w) == before
