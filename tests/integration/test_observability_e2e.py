"""Issue 13 (points 3 to 6) across REAL processes: one request id through StockTech, AvAdmin and
Lucrum (HTTP calls and the sale event), /metrics and probes of running modules, and two
StockTech replicas sharing one consumer group.

This module starts its own AvAdmin (on conftest's migrated database, INFO logs, to see its
access lines), two StockTech replicas (``POD_NAME`` stocktech-0 and stocktech-1, one consumer
group) and one Lucrum with JSON logs; the others stay on conftest's session AvAdmin."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from avelar_kit.testing.metrics import parse, value
from avelar_kit.testing.plugin import migrated_database

from .conftest import OPERATOR_EMAIL, OPERATOR_PASSWORD, RUN_ID, STREAM, AvAdminProcess
from .test_three_services_e2e import (
    LUCRUM_DIR,
    STOCKTECH_DIR,
    ServiceProcess,
    Stack,
    bank_account,
    call,
    create_product,
    postings,
    signup_and_login,
    until,
)

SALES_STREAM = f"avelar:events:stocktech:obs-{RUN_ID}"


@pytest.fixture(scope="module")
def obs_stocktech_db(pg_url: str) -> Iterator[str]:
    yield from migrated_database(pg_url, "stocktech", STOCKTECH_DIR)


@pytest.fixture(scope="module")
def obs_lucrum_db(pg_url: str) -> Iterator[str]:
    yield from migrated_database(pg_url, "lucrum", LUCRUM_DIR)


@pytest.fixture(scope="module")
def observed(
    avadmin_proc: AvAdminProcess, obs_stocktech_db: str, obs_lucrum_db: str, redis_url: str
) -> Iterator[dict[str, Any]]:
    tmp = Path(tempfile.mkdtemp(prefix="obs-e2e-"))
    avadmin_proc.start()
    avadmin = AvAdminProcess({**avadmin_proc.env, "AVADMIN_LOG_LEVEL": "INFO",
                              "AVADMIN_LOG_FILE_FOR_TESTS": str(tmp / "avadmin.log")})
    creds = {}
    for module in ("stocktech", "lucrum"):
        client_id, secret = f"obs-{module}-{RUN_ID}", secrets.token_urlsafe(32)
        fields = ["--fields", "account.company_name,account.whatsapp"] * (module == "stocktech")
        avadmin.cli("create-service-client", client_id, "--secret-stdin", *fields,
                    stdin=secret + "\n")
        creds[module] = (client_id, secret)
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("STOCKTECH_", "LUCRUM_", "POD_NAME", "LOG_FORMAT"))}
    group = f"obs-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    avadmin.start()

    def stocktech(pod: str) -> ServiceProcess:
        return ServiceProcess(f"StockTech {pod}", "stocktech.main:create_app", {
            **base,
            "POD_NAME": pod,
            "STOCKTECH_DATABASE_URL": obs_stocktech_db,
            "STOCKTECH_REDIS_URL": redis_url,
            "STOCKTECH_AVADMIN_URL": avadmin.url,
            "STOCKTECH_AVADMIN_CLIENT_ID": creds["stocktech"][0],
            "STOCKTECH_AVADMIN_CLIENT_SECRET": creds["stocktech"][1],
            "STOCKTECH_EVENTS_STREAM": SALES_STREAM,
            "STOCKTECH_AVADMIN_EVENTS_STREAM": STREAM,
            "STOCKTECH_CONSUMER_GROUP": f"stocktech-{group}",
            "STOCKTECH_LOG_LEVEL": "INFO",
        }, tmp / f"{pod}.log")

    replicas = [stocktech("stocktech-0"), stocktech("stocktech-1")]
    lucrum = ServiceProcess("Lucrum", "lucrum.main:create_app", {
        **base,
        "POD_NAME": "lucrum-0",
        "LUCRUM_DATABASE_URL": obs_lucrum_db,
        "LUCRUM_REDIS_URL": redis_url,
        "LUCRUM_AVADMIN_URL": avadmin.url,
        "LUCRUM_AVADMIN_CLIENT_ID": creds["lucrum"][0],
        "LUCRUM_AVADMIN_CLIENT_SECRET": creds["lucrum"][1],
        "LUCRUM_STOCKTECH_EVENTS_STREAM": SALES_STREAM,
        "LUCRUM_AVADMIN_EVENTS_STREAM": STREAM,
        "LUCRUM_CONSUMER_GROUP": f"lucrum-{group}",
        "LUCRUM_LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
    }, tmp / "lucrum.log")
    procs = [*replicas, lucrum]
    try:
        for p in procs:
            p.spawn()
        for p in procs:
            p.wait_ready(90)  # four processes starting at once on a shared machine
        yield {"avadmin": avadmin, "replicas": replicas, "lucrum": lucrum,
               "stocktech_group": f"stocktech-{group}", "stocktech_db": obs_stocktech_db}
    finally:
        for p in procs:
            p.stop()
        avadmin.kill()
        import redis

        with redis.Redis.from_url(redis_url) as r:
            r.delete(SALES_STREAM)


async def taxonomy(stocktech_url: str, avadmin_url: str) -> tuple[str, str]:
    async with httpx.AsyncClient(timeout=10) as c:
        login = await c.post(f"{avadmin_url}/api/operator/login",
                             json={"email": OPERATOR_EMAIL, "password": OPERATOR_PASSWORD})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        ids = []
        for path, name in (("/api/categories", f"Obs {RUN_ID}"), ("/api/brands", f"Ob {RUN_ID}")):
            resp = await c.post(f"{stocktech_url}{path}", json={"name": name}, headers=headers)
            assert resp.status_code == 201, resp.text
            ids.append(resp.json()["id"])
    return ids[0], ids[1]


def lines_with(log: Path, needle: str) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines() if needle in line]


async def test_one_request_id_through_stocktech_avadmin_and_lucrum_and_the_sale_event(
    observed: dict[str, Any], redis_url: str, whatsapp_standin: Any,
) -> None:
    avadmin: AvAdminProcess = observed["avadmin"]
    stocktech: ServiceProcess = observed["replicas"][0]
    lucrum: ServiceProcess = observed["lucrum"]
    category, brand = await taxonomy(stocktech.url, avadmin.url)
    s = Stack(avadmin, stocktech, lucrum, observed["stocktech_db"], redis_url, category, brand,
              whatsapp_url=whatsapp_standin.url)
    seller = await signup_and_login(s, f"Vendedora Obs {RUN_ID} LTDA")
    buyer = await signup_and_login(s, f"Compradora Obs {RUN_ID} LTDA")
    seller_acc = await bank_account(s, seller, "44444-4")
    await bank_account(s, buyer, "55555-5")
    product = (await create_product(s, seller, f"Bateria Obs {RUN_ID}")).json()

    purchase_rid = f"compra-{uuid.uuid4().hex[:12]}"
    # The buyer's first StockTech request: its user and company are not cached yet, so
    # StockTech asks AvAdmin, sending the request id along.
    bought = await call("POST", f"{stocktech.url}/api/transactions", buyer,
                        json={"product_id": product["id"], "quantity": 1},
                        headers={"X-Request-ID": purchase_rid})
    assert bought.status_code == 201, bought.text
    assert bought.headers["x-request-id"] == purchase_rid

    # Lucrum's cached copies of both companies are dropped, so that handling the sale event
    # asks AvAdmin (the fresh entries only: what an expired TTL would leave).
    r = aioredis.Redis.from_url(redis_url)
    try:
        for company in (seller, buyer):
            await r.delete(f"avelar:Lucrum:avadmin:account:{company.account_id}")
    finally:
        await r.aclose()

    complete_rid = f"venda-{uuid.uuid4().hex[:12]}"
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    tx = bought.json()
    done = await call("POST", f"{stocktech.url}/api/transactions/{tx['id']}/complete", seller,
                      headers={"X-Request-ID": complete_rid, "traceparent": traceparent})
    assert done.status_code == 200, done.text

    sale_ref = f"stocktech:{tx['id']}:sale"

    async def posted() -> bool:
        return bool(await postings(s, seller, seller_acc["id"], sale_ref))

    await until(posted, 15, "the sale reaches Lucrum")

    # StockTech: the access lines of both requests.
    assert any("POST /api/transactions 201" in line for line in lines_with(stocktech.log,
                                                                        purchase_rid))
    assert lines_with(stocktech.log, complete_rid)
    # AvAdmin: the internal API calls StockTech made for the purchase carry its id.
    avadmin_lines = lines_with(avadmin.log, purchase_rid)
    assert any("GET /api/" in line for line in avadmin_lines), avadmin.log.read_text()[-3000:]
    # AvAdmin: the calls Lucrum's consumer made while handling the sale event carry the
    # completion's request id, taken from the event.
    assert any("GET /api/accounts/" in line for line in lines_with(avadmin.log, complete_rid))
    # The event carries the completion's request id and trace.
    r = aioredis.Redis.from_url(redis_url)
    try:
        envelopes = [json.loads(f[b"event"]) for _, f in await r.xrange(SALES_STREAM)]
    finally:
        await r.aclose()
    sale = next(e for e in envelopes if e["data"].get("transaction_id") == tx["id"]
                and e["type"] == "stocktech.transaction.completed")
    assert sale["request_id"] == complete_rid
    assert sale["traceparent"].split("-")[1] == trace_id
    # Lucrum (JSON logs): the consumer's lines for that event carry the request id and trace id.
    records = [json.loads(line) for line in lucrum.log.read_text().splitlines()
               if line.startswith("{")]
    handled = [rec for rec in records if rec.get("request_id") == complete_rid]
    assert handled, lucrum.tail()
    assert any(sale["id"] in rec["message"] for rec in handled)
    assert {rec.get("trace_id") for rec in handled} == {trace_id}
    # JSON access lines have their fields.
    access = [rec for rec in records if rec.get("logger") == "avelar.access"
              and rec.get("route") == "/api/bank-accounts"]
    assert access and access[0]["status"] == 201 and access[0]["duration_ms"] >= 0
    assert access[0]["company_id"] in (str(seller.account_id), str(buyer.account_id))
    assert access[0]["method"] == "POST" and access[0]["request_id"]


async def test_running_modules_serve_probes_and_metrics(observed: dict[str, Any]) -> None:
    procs = [observed["avadmin"], *observed["replicas"], observed["lucrum"]]
    async with httpx.AsyncClient(timeout=10) as c:
        for p in procs:
            live = await c.get(f"{p.url}/health/live")
            ready = await c.get(f"{p.url}/health/ready")
            assert live.status_code == 200, p.url
            assert ready.status_code == 200 and ready.json()["status"] == "ready", ready.text
            health = (await c.get(f"{p.url}/health")).json()
            assert not [k for k in health if k.startswith("_")]
            samples = parse((await c.get(f"{p.url}/metrics")).text)
            assert value(samples, "avelar_http_request_duration_seconds_count",
                         route="/health/ready") >= 1
        st = parse((await c.get(f"{observed['replicas'][0].url}/metrics")).text)
        assert ("avelar_consumer_lag", (("group", observed["stocktech_group"]),
                                        ("stream", STREAM))) in st
        assert value(st, "avelar_outbox_backlog", module="StockTech") >= 0
        assert value(st, "avelar_avadmin_breaker_state", state="closed") == 1


async def test_two_stocktech_replicas_share_one_group_and_handle_each_event_once(
    observed: dict[str, Any], redis_url: str,
) -> None:
    """Events published on AvAdmin's stream reach StockTech's group once: across the two
    replicas every event id is handled by exactly one, under its stable name."""
    replicas: list[ServiceProcess] = observed["replicas"]
    group = observed["stocktech_group"]
    n = 30
    ids = [str(uuid.uuid4()) for _ in range(n)]
    r = aioredis.Redis.from_url(redis_url)
    try:
        for eid in ids:  # a type StockTech does not know: recorded as handled, nothing else
            await r.xadd(STREAM, {"event": json.dumps({
                "id": eid, "type": "test.ping", "occurred_at": datetime.now(UTC).isoformat(),
                "source": "AvAdmin", "schema_version": 1, "data": {}})})

        def handled_lines() -> dict[str, list[str]]:
            out: dict[str, list[str]] = {}
            for rep in replicas:
                for line in rep.log.read_text(errors="replace").splitlines():
                    for eid in ids:
                        if f"event {eid} (test.ping) handled" in line:
                            out.setdefault(eid, []).append(rep.env["POD_NAME"])
            return out

        async def all_handled() -> bool:
            await asyncio.sleep(0)
            return len(handled_lines()) == n

        await until(all_handled, 20, "both replicas drain the events")
        by_id = handled_lines()
        assert all(len(names) == 1 for names in by_id.values()), by_id
        consumers = {c["name"]: c for c in await r.xinfo_consumers(STREAM, group)}
        assert set(consumers) == {b"stocktech-0", b"stocktech-1"}
        assert sum(c["pending"] for c in consumers.values()) == 0
    finally:
        await r.aclose()


async def test_stocktech_replica_killed_and_restarted_under_its_name_resumes_its_pending(
    observed: dict[str, Any], redis_url: str,
) -> None:
    """stocktech-1 dies (SIGKILL) holding delivered, unacknowledged events; restarted under the
    same POD_NAME it handles them itself on its first sweep, long before another replica could
    claim them (60 s idle). Both replicas are killed first so that the state is exact: the
    events are delivered to stocktech-1's name, as a replica killed mid-batch leaves them."""
    replicas: list[ServiceProcess] = observed["replicas"]
    group = observed["stocktech_group"]
    n = 5
    ids = [str(uuid.uuid4()) for _ in range(n)]
    r = aioredis.Redis.from_url(redis_url)
    try:
        for rep in replicas:
            assert rep.proc is not None
            rep.proc.kill()
            rep.proc.wait(10)
            rep.proc = None
        for eid in ids:
            await r.xadd(STREAM, {"event": json.dumps({
                "id": eid, "type": "test.ping", "occurred_at": datetime.now(UTC).isoformat(),
                "source": "AvAdmin", "schema_version": 1, "data": {}})})
        got = await r.xreadgroup(group, "stocktech-1", {STREAM: ">"}, count=1000)
        delivered = {json.loads(f[b"event"])["id"] for _, msgs in got for _, f in msgs}
        assert set(ids) <= delivered
        before = await r.xpending_range(STREAM, group, min="-", max="+", count=1000,
                                        consumername="stocktech-1")
        assert len(before) >= n

        replica = replicas[1]
        replica.spawn()  # the same POD_NAME
        replica.wait_ready(90)

        def handled_by_it() -> set[str]:
            text = replica.log.read_text(errors="replace")
            return {eid for eid in ids
                    if f"event {eid} (test.ping) handled by {group}/stocktech-1" in text}

        async def resumed() -> bool:
            await asyncio.sleep(0)
            return handled_by_it() == set(ids)

        await until(resumed, 40, "the restarted stocktech-1 handles its pending events")
        left = await r.xpending_range(STREAM, group, min="-", max="+", count=1000,
                                      consumername="stocktech-1")
        assert left == []
    finally:
        await r.aclose()
        for rep in replicas:
            if rep.proc is None:
                rep.spawn()
        for rep in replicas:
            rep.wait_ready(90)
