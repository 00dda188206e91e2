"""Issue 9, point 6: fault drills with real processes for the two faults the other drills do not
cover (AvAdmin killed: test_avadmin_resilience.py and test_three_services_e2e.py; Redis frozen
then killed: test_redis_fault_drill.py).

- PostgreSQL restarted: StockTech's and Lucrum's databases live on a PostgreSQL of this module's
  own (the embedded one of ``avelar_devstack.embedded``, in a temporary folder), so that stopping
  it breaks no other run on the machine. During the outage every read and write answers 503
  with Retry-After, each within a bound; afterwards the same processes (no restart) answer
  again, and nothing is lost or doubled (stock, postings, balances).
- The relay killed mid-batch: a StockTech replica that relays is SIGKILLed after it published a
  batch of sale events to the stream and before it marked them published (held at that point
  by a table lock the test takes); a new replica publishes the batch again and Lucrum posts
  each sale exactly once.

StockTech runs as two replicas on one database: ``api`` (no relay: STOCKTECH_EVENTS_STREAM
empty) takes the requests, ``relay`` is a full StockTech that publishes the outbox. AvAdmin is
conftest's session process, on the machine's PostgreSQL. Delays are printed (``-s``)."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
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

from .conftest import OPERATOR_EMAIL, OPERATOR_PASSWORD, ROOT, RUN_ID, STREAM, AvAdminProcess
from .test_three_services_e2e import (
    OPENING,
    ServiceProcess,
    Tenant,
    balance,
    bank_account,
    call,
    create_product,
    postings,
    signup_and_login,
    until,
)

DRILL_STREAM = f"avelar:events:stocktech:drill-{RUN_ID}"
PRICE = Decimal("25.00")
# Three processes starting at once on a loaded 2-core machine: a bound, not a measure.
READY_TIMEOUT = 90


class DrillPostgres:
    """A PostgreSQL of this module's own (embedded, Unix socket in its folder)."""

    def __init__(self) -> None:
        self.datadir = Path(tempfile.mkdtemp(prefix="drill-pg-"))
        self.pg: Any = None

    def start(self) -> None:
        from avelar_devstack.embedded import start_postgres

        with warnings.catch_warnings():  # pgserver's platformdirs warns without XDG_RUNTIME_DIR
            warnings.simplefilter("ignore")
            self.pg = start_postgres(self.datadir / "pg")

    def stop(self) -> None:
        """A clean restart's first half: the server ends every session and closes its socket."""
        if self.pg is not None:
            self.pg.stop()
            self.pg = None

    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@/postgres?host={self.datadir / 'pg'}"


@pytest.fixture(scope="module")
def drill_pg() -> Iterator[DrillPostgres]:
    pg = DrillPostgres()
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(pg.datadir, ignore_errors=True)


@pytest.fixture(scope="module")
def drill_stocktech_db(drill_pg: DrillPostgres) -> Iterator[str]:
    yield from migrated_database(drill_pg.url(), "stocktech", ROOT / "services" / "stocktech")


@pytest.fixture(scope="module")
def drill_lucrum_db(drill_pg: DrillPostgres) -> Iterator[str]:
    yield from migrated_database(drill_pg.url(), "lucrum", ROOT / "services" / "lucrum")


class ServedProcess(ServiceProcess):
    """A module started by its production command, ``<module> serve`` (uvicorn as containers
    run it: no server banner, proxy headers, graceful shutdown)."""

    def spawn(self) -> None:
        module = self.factory.split(".")[0]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", f"{module}.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), "--no-access-log"],
                env=self.env, stdout=log, stderr=log, cwd=ROOT)


@dataclass
class Drill:
    pg: DrillPostgres
    avadmin: AvAdminProcess
    api: ServiceProcess  # StockTech taking requests, no relay
    relay: ServiceProcess  # StockTech that relays the outbox
    lucrum: ServiceProcess
    stocktech_db: str
    redis_url: str
    whatsapp_url: str
    category_id: str = ""
    brand_id: str = ""

    @property
    def stocktech(self) -> ServiceProcess:  # what the e2e helpers call
        return self.api


@pytest.fixture(scope="module")
def drill(
    drill_pg: DrillPostgres, drill_stocktech_db: str, drill_lucrum_db: str,
    avadmin_proc: AvAdminProcess, redis_url: str, whatsapp_standin: Any,
) -> Iterator[Drill]:
    tmp = Path(tempfile.mkdtemp(prefix="drill-modules-"))
    creds = {}
    for module in ("stocktech", "lucrum"):
        client_id, secret = f"drill-{module}-{RUN_ID}", secrets.token_urlsafe(32)
        # The personal fields each reads in production (docs/privacy.md).
        fields = ["--fields", "account.company_name,account.whatsapp"] * (module == "stocktech")
        avadmin_proc.cli("create-service-client", client_id, "--secret-stdin", *fields,
                         stdin=secret + "\n")
        creds[module] = (client_id, secret)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("STOCKTECH_", "LUCRUM_"))}
    group = f"drill-{RUN_ID}"
    stocktech_env = {
        **base,
        "STOCKTECH_DATABASE_URL": drill_stocktech_db,
        "STOCKTECH_REDIS_URL": redis_url,
        "STOCKTECH_AVADMIN_URL": avadmin_proc.url,
        "STOCKTECH_AVADMIN_CLIENT_ID": creds["stocktech"][0],
        "STOCKTECH_AVADMIN_CLIENT_SECRET": creds["stocktech"][1],
        "STOCKTECH_AVADMIN_EVENTS_STREAM": STREAM,
        "STOCKTECH_CONSUMER_GROUP": f"stocktech-{group}",
        "STOCKTECH_LOG_LEVEL": "WARNING",
    }
    api = ServiceProcess("StockTech api", "stocktech.main:create_app",
                         {**stocktech_env, "STOCKTECH_EVENTS_STREAM": "",
                          "STOCKTECH_CONSUMER_NAME": "api"}, tmp / "stocktech-api.log")
    relay = ServiceProcess("StockTech relay", "stocktech.main:create_app",
                           {**stocktech_env, "STOCKTECH_EVENTS_STREAM": DRILL_STREAM,
                            "STOCKTECH_CONSUMER_NAME": "relay"}, tmp / "stocktech-relay.log")
    lucrum = ServedProcess("Lucrum", "lucrum.main:create_app", {
        **base,
        "LUCRUM_DATABASE_URL": drill_lucrum_db,
        "LUCRUM_REDIS_URL": redis_url,
        "LUCRUM_AVADMIN_URL": avadmin_proc.url,
        "LUCRUM_AVADMIN_CLIENT_ID": creds["lucrum"][0],
        "LUCRUM_AVADMIN_CLIENT_SECRET": creds["lucrum"][1],
        "LUCRUM_STOCKTECH_EVENTS_STREAM": DRILL_STREAM,
        "LUCRUM_AVADMIN_EVENTS_STREAM": STREAM,
        "LUCRUM_CONSUMER_GROUP": f"lucrum-{group}",
        "LUCRUM_LOG_LEVEL": "WARNING",
    }, tmp / "lucrum.log")
    try:
        avadmin_proc.start()
        # The relay replica is started by the drills themselves (ensure_relay).
        for proc in (api, lucrum):
            proc.spawn()
        for proc in (api, lucrum):
            proc.wait_ready(READY_TIMEOUT)
        d = Drill(drill_pg, avadmin_proc, api, relay, lucrum, drill_stocktech_db, redis_url,
                  whatsapp_standin.url)
        login = httpx.post(f"{avadmin_proc.url}/api/operator/login", timeout=10,
                           json={"email": OPERATOR_EMAIL, "password": OPERATOR_PASSWORD})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        ids = []
        for path in ("/api/categories", "/api/brands"):
            resp = httpx.post(f"{api.url}{path}", json={"name": f"Drill {RUN_ID}"},
                              headers=headers, timeout=10)
            assert resp.status_code == 201, resp.text
            ids.append(resp.json()["id"])
        d.category_id, d.brand_id = ids
        yield d
    finally:
        for proc in (api, relay, lucrum):
            proc.stop()
        import redis

        with redis.Redis.from_url(redis_url) as r:
            r.delete(DRILL_STREAM)


# -- helpers ------------------------------------------------------------------------------------


def ensure_relay(d: Drill) -> None:
    if d.relay.proc is None or d.relay.proc.poll() is not None:
        d.relay.spawn()
        d.relay.wait_ready(READY_TIMEOUT)


async def _company_with_account(d: Drill, name: str, number: str) -> tuple[Tenant, str]:
    tenant = await signup_and_login(d, f"{name} {RUN_ID} LTDA")
    return tenant, (await bank_account(d, tenant, number))["id"]


async def _sell(d: Drill, seller: Tenant, buyer: Tenant, product_id: str) -> str:
    """A purchase of one unit, completed by the seller: a sale event in StockTech's outbox."""
    bought = await call("POST", f"{d.api.url}/api/transactions", buyer,
                        json={"product_id": product_id, "quantity": 1},
                        headers={"Idempotency-Key": f"drill-{uuid.uuid4()}"})
    assert bought.status_code == 201, bought.text
    tx_id = str(bought.json()["id"])
    done = await call("POST", f"{d.api.url}/api/transactions/{tx_id}/complete", seller)
    assert done.status_code == 200, done.text
    return tx_id


async def _timed(method: str, url: str, tenant: Tenant, **kwargs: Any
                 ) -> tuple[httpx.Response, float]:
    start = time.perf_counter()
    async with asyncio.timeout(15):  # a bound, not a measure: no request hangs on the outage
        resp = await call(method, url, tenant, **kwargs)
    return resp, time.perf_counter() - start


def _secure(resp: httpx.Response, *, served: bool = True) -> None:
    """Issue 9 point 5 on a real process: security headers, and no ``server`` banner from the
    production command (Lucrum runs here as ``lucrum serve``; StockTech as plain uvicorn)."""
    if served:
        assert "server" not in resp.headers, resp.headers.get("server")
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["cache-control"] == "no-store"


async def _stream_sales(d: Drill, tx_ids: set[str]) -> int:
    """How many ``stocktech.transaction.completed`` entries of these sales the stream holds."""
    r = aioredis.Redis.from_url(d.redis_url)
    try:
        n = 0
        for _, fields in await r.xrange(DRILL_STREAM):
            raw = fields.get(b"event", b"").decode()
            if "stocktech.transaction.completed" in raw and any(t in raw for t in tx_ids):
                n += 1
        return n
    finally:
        await r.aclose()


async def _posted_once(d: Drill, seller: Tenant, seller_bank: str, buyer: Tenant,
                       buyer_bank: str, tx_ids: list[str]) -> None:
    """Each sale is one income on the seller's default account and one expense on the buyer's,
    and the balances are exactly the opening plus or minus the sales."""
    for tx_id in tx_ids:
        income = await postings(d, seller, seller_bank, f"stocktech:{tx_id}:sale")
        expense = await postings(d, buyer, buyer_bank, f"stocktech:{tx_id}:purchase")
        assert (len(income), len(expense)) == (1, 1), (tx_id, income, expense)
    total = PRICE * len(tx_ids)
    assert await balance(d, seller, seller_bank) == OPENING + total
    assert await balance(d, buyer, buyer_bank) == OPENING - total


# -- drills -------------------------------------------------------------------------------------


async def test_relay_killed_mid_batch_every_sale_posted_exactly_once(drill: Drill) -> None:
    d = drill
    seller, seller_bank = await _company_with_account(d, "Vendedora Relay", "80001-1")
    buyer, buyer_bank = await _company_with_account(d, "Compradora Relay", "80002-2")
    made = await create_product(d, seller, f"Bateria drill {uuid.uuid4().hex[:6]}",
                                price=str(PRICE), stock=20)
    assert made.status_code == 201, made.text
    product = made.json()
    d.relay.stop()  # (if a drill before left it running) the sales wait in the outbox
    n = 8
    sales = [await _sell(d, seller, buyer, product["id"]) for _ in range(n)]
    ids = set(sales)
    owner = create_async_engine(owner_url(d.stocktech_db), poolclass=NullPool)
    r = aioredis.Redis.from_url(d.redis_url)

    async def unpublished() -> int:
        async with owner.connect() as conn:
            return int(await conn.scalar(text(
                "SELECT count(*) FROM outbox_events WHERE published_at IS NULL")) or 0)

    try:
        assert await unpublished() >= n
        async with owner.connect() as conn:
            # The relay may lock its batch and XADD it; marking the rows published (an UPDATE)
            # waits for this lock, which the test holds while it kills the relay.
            lock = await conn.begin()
            await conn.execute(text("LOCK TABLE outbox_events IN SHARE MODE"))
            d.relay.spawn()
            d.relay.wait_ready(READY_TIMEOUT)

            async def batch_in_stream() -> bool:
                return await _stream_sales(d, ids) == n

            await until(batch_in_stream, 20, "the relay published the batch")
            assert d.relay.proc is not None
            d.relay.proc.send_signal(signal.SIGKILL)  # mid-batch: published, not yet marked
            d.relay.proc.wait(10)
            d.relay.proc = None
            await lock.rollback()
        killed = time.perf_counter()
        assert await unpublished() >= n, "the killed relay's batch was never marked published"

        d.relay.spawn()  # a new replica publishes the batch again
        d.relay.wait_ready(READY_TIMEOUT)

        async def republished() -> bool:
            return await unpublished() == 0

        await until(republished, 20, "the new relay publishes what the killed one left")
        assert await _stream_sales(d, ids) == 2 * n, "the batch was delivered twice"

        async def all_posted() -> bool:
            for tx_id in sales:
                if not await postings(d, seller, seller_bank, f"stocktech:{tx_id}:sale"):
                    return False
            return True

        took = await until(all_posted, 30, "every sale reaches Lucrum")
        group = d.lucrum.env["LUCRUM_CONSUMER_GROUP"].encode()

        async def drained() -> bool:
            last = (await r.xinfo_stream(DRILL_STREAM))["last-generated-id"]
            info = {g["name"]: g for g in await r.xinfo_groups(DRILL_STREAM)}
            return group in info and info[group]["pending"] == 0 and \
                info[group]["last-delivered-id"] == last

        await until(drained, 30, "Lucrum consumed both deliveries")
        print(f"\n[drill] relay killed mid-batch: {n} sales delivered twice, all posted "
              f"{time.perf_counter() - killed:.2f}s after the kill ({took:.2f}s after the "
              "restart)")
        await _posted_once(d, seller, seller_bank, buyer, buyer_bank, sales)
    finally:
        await r.aclose()
        await owner.dispose()


async def test_postgresql_restarted_answers_503_then_recovers_without_restart(
    drill: Drill,
) -> None:
    d = drill
    ensure_relay(d)
    seller, seller_bank = await _company_with_account(d, "Vendedora PG", "70001-1")
    buyer, buyer_bank = await _company_with_account(d, "Compradora PG", "70002-2")
    made = await create_product(d, seller, f"Tela drill {uuid.uuid4().hex[:6]}",
                                price=str(PRICE), stock=10)
    assert made.status_code == 201, made.text
    product = made.json()
    before = await _sell(d, seller, buyer, product["id"])

    async def posted(tx_id: str) -> bool:
        return bool(await postings(d, seller, seller_bank, f"stocktech:{tx_id}:sale"))

    await until(lambda: posted(before), 15, "the sale before the outage reaches Lucrum")
    # One more sale completed right before the stop: its event may be anywhere on the way.
    last = await _sell(d, seller, buyer, product["id"])
    pids = {p.name: p.proc.pid for p in (d.api, d.relay, d.lucrum) if p.proc}

    refused_name = f"Durante a queda {uuid.uuid4().hex[:6]}"
    probes = [
        ("GET", f"{d.api.url}/api/products", {"params": {"mine": "true"}}),
        ("GET", f"{d.api.url}/api/products/{product['id']}", {}),
        ("POST", f"{d.api.url}/api/products", {"json": {
            "name": refused_name, "category_id": d.category_id, "brand_id": d.brand_id,
            "price": "10.00", "stock_quantity": 1, "description": "Não deve existir"}}),
        ("POST", f"{d.api.url}/api/transactions", {"json": {
            "product_id": product["id"], "quantity": 1}}),
        ("GET", f"{d.lucrum.url}/api/bank-accounts", {}),
        ("GET", f"{d.lucrum.url}/api/financial-transactions", {}),
        ("POST", f"{d.lucrum.url}/api/financial-transactions", {"json": {
            "bank_account_id": seller_bank, "description": refused_name, "amount": "7.00",
            "type": "income"}}),
    ]
    d.pg.stop()
    stopped = time.perf_counter()
    worst = 0.0
    try:
        for _ in range(3):  # the first call meets a dead pooled connection, the next a refusal
            for method, url, kwargs in probes:
                who = buyer if "/api/transactions" in url and method == "POST" else seller
                resp, took = await _timed(method, url, who, **kwargs)
                worst = max(worst, took)
                assert resp.status_code == 503, (method, url, resp.status_code, resp.text)
                assert int(resp.headers["Retry-After"]) >= 1
                assert resp.json()["code"] == "service_unavailable"
                _secure(resp, served=url.startswith(d.lucrum.url))
        health = await call("GET", f"{d.api.url}/health")
        assert health.status_code == 503 and health.json()["database"] == "disconnected"
        print(f"\n[drill] PostgreSQL down: {3 * len(probes)} reads and writes all 503 + "
              f"Retry-After, slowest answer {worst:.2f}s")
    finally:
        d.pg.start()
    restarted = time.perf_counter()

    async def answering() -> bool:
        for url in (f"{d.api.url}/api/products?mine=true", f"{d.lucrum.url}/api/bank-accounts"):
            if (await call("GET", url, seller)).status_code != 200:
                return False
        return True

    took = await until(answering, 30, "both modules answer again after the restart")
    _secure(await call("GET", f"{d.lucrum.url}/api/bank-accounts", seller))
    print(f"[drill] PostgreSQL back: reads answer again {took:.2f}s after the restart "
          f"(outage {restarted - stopped:.2f}s)")
    assert {p.name: p.proc.pid for p in (d.api, d.relay, d.lucrum) if p.proc} == pids, \
        "no service was restarted"
    assert all(p.proc is not None and p.proc.poll() is None for p in (d.api, d.relay, d.lucrum))

    after = await _sell(d, seller, buyer, product["id"])  # writes work again
    sales = [before, last, after]

    async def all_posted() -> bool:
        return all([await posted(t) for t in sales])

    took = await until(all_posted, 30, "every sale reaches Lucrum")
    print(f"[drill] PostgreSQL back: every sale posted {took:.2f}s after the last one")
    await _posted_once(d, seller, seller_bank, buyer, buyer_bank, sales)
    stock = await call("GET", f"{d.api.url}/api/products/{product['id']}", seller)
    assert stock.json()["stock_quantity"] == 10 - len(sales), "no purchase lost or doubled"
    engine = create_async_engine(owner_url(d.stocktech_db), poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM products WHERE name = :n"),
                                     {"n": refused_name}) == 0
    finally:
        await engine.dispose()
    listed = await call("GET", f"{d.lucrum.url}/api/financial-transactions", seller,
                        params={"bank_account_id": seller_bank, "page_size": 200})
    assert refused_name not in listed.text, "a refused write wrote nothing"
