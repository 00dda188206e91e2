from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from avelar_kit.db.tenancy import act_as_system
from stocktech.events.models import OutboxEvent
from stocktech.transactions.service import (
    TRANSACTION_CANCELLED,
    TRANSACTION_COMPLETED,
    TRANSACTION_CREATED,
)

from .conftest import Company, TestAvAdmin, add_user


async def buy(client: httpx.AsyncClient, buyer: Company, product_id: str, quantity: int = 1,
              key: str | None = None) -> httpx.Response:
    headers = dict(buyer.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post("/api/transactions",
                             json={"product_id": product_id, "quantity": quantity},
                             headers=headers)


async def stock(client: httpx.AsyncClient, owner: Company, product_id: str) -> int:
    resp = await client.get(f"/api/products/{product_id}", headers=owner.headers)
    assert resp.status_code == 200
    value: int = resp.json()["stock_quantity"]
    return value


async def test_purchase_reserves_stock_and_prepares_the_whatsapp_chat(
    client: httpx.AsyncClient, company: Any, create_product: Any
) -> None:
    seller: Company = company(name="Peças Paulista LTDA", whatsapp="(11) 98888-7777")
    buyer: Company = company()
    product = await create_product(seller, name="Tela iPhone 11", price="289.90",
                                   stock_quantity=10)
    resp = await buy(client, buyer, product["id"], 3)
    assert resp.status_code == 201, resp.text
    tx = resp.json()
    assert tx["status"] == "pending"
    assert (tx["unit_price"], tx["total_amount"], tx["quantity"]) == ("289.90", "869.70", 3)
    assert tx["buyer_account_id"] == str(buyer.account_id)
    assert tx["buyer_user_id"] == str(buyer.user_id)
    assert tx["seller_account_id"] == str(seller.account_id)
    assert tx["seller_user_id"] == str(seller.user_id)
    assert tx["product_code"] == product["code"]
    assert tx["whatsapp_chat_id"] == "5511988887777@c.us"
    link = urlparse(tx["whatsapp_link"])
    assert (link.scheme, link.netloc, link.path) == ("https", "wa.me", "/5511988887777")
    message = parse_qs(link.query)["text"][0]
    for part in (product["code"], "Tela iPhone 11", "3 unidades", "R$ 869,70"):
        assert part in message
    assert await stock(client, seller, product["id"]) == 7

    # The price is captured: a later change does not touch the purchase.
    await client.patch(f"/api/products/{product['id']}", json={"price": "1.00"},
                       headers=seller.headers)
    again = await client.get(f"/api/transactions/{tx['id']}", headers=buyer.headers)
    assert again.json()["unit_price"] == "289.90"


async def test_purchase_refusals(
    client: httpx.AsyncClient, company: Any, create_product: Any, fake_avadmin: TestAvAdmin,
    tokens: Any,
) -> None:
    seller: Company = company()
    buyer: Company = company()
    product = await create_product(seller, stock_quantity=2)

    colleague = add_user(fake_avadmin, tokens, seller)
    resp = await buy(client, colleague, product["id"])
    assert resp.status_code == 422
    assert resp.json()["code"] == "self_purchase"

    resp = await buy(client, buyer, product["id"], 3)
    assert resp.status_code == 409
    assert resp.json()["code"] == "insufficient_stock"
    assert resp.json()["available"] == 2

    for bad in (0, -1, 100_001, "1", 1.5):
        resp = await client.post("/api/transactions",
                                 json={"product_id": product["id"], "quantity": bad},
                                 headers=buyer.headers)
        assert resp.status_code == 422, bad

    resp = await buy(client, buyer, str(uuid.uuid4()))
    assert resp.status_code == 404
    await client.delete(f"/api/products/{product['id']}", headers=seller.headers)
    resp = await buy(client, buyer, product["id"])
    assert resp.status_code == 404
    assert await stock(client, seller, product["id"]) == 2


async def test_fifty_buyers_race_for_the_last_unit(
    client: httpx.AsyncClient, company: Any, create_product: Any
) -> None:
    # Fifty different companies: each purchase locks its buyer's row, so buyers shared between
    # requests would queue there and never reach the product's row together.
    seller: Company = company()
    buyers: list[Company] = [company() for _ in range(50)]
    product = await create_product(seller, stock_quantity=1)
    rounds, oversold = 10, 0
    for round_ in range(rounds):
        if round_:
            await client.patch(f"/api/products/{product['id']}", json={"stock_quantity": 1},
                               headers=seller.headers)
        results = await asyncio.gather(*[buy(client, b, product["id"]) for b in buyers])
        statuses = [r.status_code for r in results]
        assert statuses.count(201) == 1, sorted(statuses)
        assert statuses.count(409) == 49
        left = await stock(client, seller, product["id"])
        assert left == 0
        oversold += statuses.count(201) - 1
    assert oversold == 0
    sales = await client.get("/api/transactions", params={"role": "seller", "page_size": 100},
                             headers=seller.headers)
    assert sales.json()["total"] == rounds


async def test_racing_buyers_never_take_more_than_the_stock(
    client: httpx.AsyncClient, company: Any, create_product: Any
) -> None:
    seller: Company = company()
    buyers: list[Company] = [company() for _ in range(5)]
    product = await create_product(seller, stock_quantity=20)
    quantities = [1 + (i % 4) for i in range(40)]  # 100 units asked for, 20 available
    results = await asyncio.gather(*[
        buy(client, buyers[i % 5], product["id"], q) for i, q in enumerate(quantities)
    ])
    sold = sum(q for q, r in zip(quantities, results, strict=True) if r.status_code == 201)
    assert {r.status_code for r in results} <= {201, 409}
    left = await stock(client, seller, product["id"])
    assert left >= 0
    assert sold + left == 20
    assert sold > 15  # the stock is actually used, not refused wholesale


async def test_cancel_restores_the_stock_exactly_once(
    app: FastAPI, client: httpx.AsyncClient, company: Any, create_product: Any
) -> None:
    seller: Company = company()
    buyer: Company = company()
    product = await create_product(seller, stock_quantity=10)
    first = (await buy(client, buyer, product["id"], 4)).json()
    second = (await buy(client, buyer, product["id"], 3)).json()
    assert await stock(client, seller, product["id"]) == 3

    resp = await client.post(f"/api/transactions/{first['id']}/cancel", headers=buyer.headers)
    assert resp.status_code == 200
    assert resp.json()["status"] == "cancelled"
    assert resp.json()["cancelled_by_user_id"] == str(buyer.user_id)
    assert await stock(client, seller, product["id"]) == 7

    # Ten cancels racing (both sides): one wins, the units come back once.
    results = await asyncio.gather(*[
        client.post(f"/api/transactions/{second['id']}/cancel",
                    headers=(buyer if i % 2 else seller).headers)
        for i in range(10)
    ])
    assert sorted(r.status_code for r in results) == [200] + [409] * 9
    assert await stock(client, seller, product["id"]) == 10

    async with app.state.db.sessionmaker() as session:
        await act_as_system(session)  # the test looks at every company's rows
        cancelled = (await session.execute(select(OutboxEvent).where(
            OutboxEvent.event_type == TRANSACTION_CANCELLED))).scalars().all()
    # One event per cancelled purchase however many cancels raced (AvAdmin tells the buyer).
    assert sorted(e.payload["transaction_id"] for e in cancelled) == sorted(
        [first["id"], second["id"]])
    assert all(e.payload["status"] == "cancelled" for e in cancelled)
    resp = await client.post(f"/api/transactions/{first['id']}/cancel", headers=seller.headers)
    assert resp.status_code == 409
    assert resp.json()["code"] == "transaction_not_pending"


async def test_complete_emits_the_event_for_lucrum(
    app: FastAPI, client: httpx.AsyncClient, company: Any, create_product: Any,
    fake_avadmin: TestAvAdmin, tokens: Any,
) -> None:
    seller: Company = company()
    clerk = add_user(fake_avadmin, tokens, seller)
    buyer: Company = company()
    product = await create_product(seller, price="19.99", stock_quantity=10)
    tx = (await buy(client, buyer, product["id"], 3)).json()

    resp = await client.post(f"/api/transactions/{tx['id']}/complete", headers=buyer.headers)
    assert resp.status_code == 403
    assert resp.json()["code"] == "seller_only"

    resp = await client.post(f"/api/transactions/{tx['id']}/complete", headers=clerk.headers)
    assert resp.status_code == 200, resp.text
    done = resp.json()
    assert done["status"] == "completed"
    assert done["completed_by_user_id"] == str(clerk.user_id)

    for who in (seller, buyer):
        resp = await client.post(f"/api/transactions/{tx['id']}/cancel", headers=who.headers)
        assert resp.status_code == 409
    resp = await client.post(f"/api/transactions/{tx['id']}/complete", headers=seller.headers)
    assert resp.status_code == 409
    assert await stock(client, seller, product["id"]) == 7

    async with app.state.db.sessionmaker() as session:
        await act_as_system(session)  # the test looks at every company's rows
        events = (await session.execute(
            select(OutboxEvent).order_by(OutboxEvent.created_at))).scalars().all()
    # The purchase (AvAdmin tells the seller by WhatsApp), then the completion, once.
    assert [e.event_type for e in events] == [TRANSACTION_CREATED, TRANSACTION_COMPLETED]
    created = events[0].payload
    assert created["transaction_id"] == tx["id"] and created["total_amount"] == "59.97"
    assert created["seller_account_id"] == str(seller.account_id)
    assert "whatsapp_chat_id" in created
    event = events[1]
    assert event.published_at is None
    assert event.payload == {
        "transaction_id": tx["id"],
        "product_id": product["id"],
        "product_code": product["code"],
        "product_name": product["name"],
        "quantity": 3,
        "unit_price": "19.99",
        "total_amount": "59.97",
        "seller_account_id": str(seller.account_id),
        "seller_user_id": str(clerk.user_id),
        "buyer_account_id": str(buyer.account_id),
        "buyer_user_id": str(buyer.user_id),
        "completed_at": event.payload["completed_at"],
        "whatsapp_chat_id": tx["whatsapp_chat_id"],
    }
    assert Decimal(event.payload["total_amount"]) == Decimal("19.99") * 3


async def test_idempotent_purchase_replay(
    app: FastAPI, client: httpx.AsyncClient, company: Any, create_product: Any
) -> None:
    seller: Company = company()
    buyer: Company = company()
    other_buyer: Company = company()
    product = await create_product(seller, stock_quantity=10)
    key = str(uuid.uuid4())

    first = await buy(client, buyer, product["id"], 2, key=key)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    replay = await buy(client, buyer, product["id"], 2, key=key)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert await stock(client, seller, product["id"]) == 8

    reused = await buy(client, buyer, product["id"], 3, key=key)
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert await stock(client, seller, product["id"]) == 8

    # Keys belong to a company: another company's same key is another request.
    theirs = await buy(client, other_buyer, product["id"], 2, key=key)
    assert theirs.status_code == 201
    assert theirs.json()["id"] != first.json()["id"]
    assert await stock(client, seller, product["id"]) == 6

    # The same key sent 10 times at once buys once.
    key2 = str(uuid.uuid4())
    results = await asyncio.gather(*[buy(client, buyer, product["id"], 1, key=key2)
                                     for _ in range(10)])
    assert [r.status_code for r in results] == [201] * 10
    assert len({r.json()["id"] for r in results}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in results) == 9
    assert await stock(client, seller, product["id"]) == 5

    # A refused request is not stored: after a failure the same key may succeed.
    key3 = str(uuid.uuid4())
    assert (await buy(client, buyer, product["id"], 50, key=key3)).status_code == 409
    assert (await buy(client, buyer, product["id"], 1, key=key3)).status_code == 201

    resp = await client.post("/api/transactions", json={"product_id": product["id"],
                                                        "quantity": 1},
                             headers={**buyer.headers, "Idempotency-Key": "x" * 201})
    assert resp.status_code == 422


async def test_monthly_transaction_limit(
    client: httpx.AsyncClient, company: Any, create_product: Any
) -> None:
    seller: Company = company()
    buyer: Company = company(max_transactions=3, plan_name="Lojista")
    product = await create_product(seller, stock_quantity=100)
    for _ in range(2):
        assert (await buy(client, buyer, product["id"])).status_code == 201
    results = await asyncio.gather(*[buy(client, buyer, product["id"]) for _ in range(8)])
    assert sorted(r.status_code for r in results) == [201] + [403] * 7
    refused = next(r for r in results if r.status_code == 403).json()
    assert refused["code"] == "plan_limit_reached"
    assert (refused["limit"], refused["allowed"], refused["used"], refused["plan"]) == (
        "max_transactions", 3, 3, "Lojista")
    assert await stock(client, seller, product["id"]) == 97

    # A cancelled purchase gives its slot back.
    mine = await client.get("/api/transactions", params={"role": "buyer"}, headers=buyer.headers)
    await client.post(f"/api/transactions/{mine.json()['items'][0]['id']}/cancel",
                      headers=buyer.headers)
    assert (await buy(client, buyer, product["id"])).status_code == 201


async def test_listing_by_role(
    client: httpx.AsyncClient, company: Any, create_product: Any
) -> None:
    a: Company = company()
    b: Company = company()
    pa = await create_product(a)
    pb = await create_product(b)
    await buy(client, b, pa["id"])
    await buy(client, a, pb["id"], 2)
    await buy(client, a, pb["id"], 3)

    async def quantities(who: Company, **params: Any) -> list[int]:
        resp = await client.get("/api/transactions", params=params, headers=who.headers)
        assert resp.status_code == 200
        return sorted(t["quantity"] for t in resp.json()["items"])

    assert await quantities(a, role="buyer") == [2, 3]
    assert await quantities(a, role="seller") == [1]
    assert await quantities(a) == [1, 2, 3]
    assert await quantities(b, role="seller") == [2, 3]
    assert await quantities(b, role="seller", status="cancelled") == []
    assert (await client.get("/api/transactions", params={"role": "owner"},
                             headers=a.headers)).status_code == 422


async def test_purchases_are_counted_in_metrics_and_replays_are_not(
    client: httpx.AsyncClient, company: Any, create_product: Any
) -> None:
    from avelar_kit.testing.metrics import scrape, value

    seller: Company = company()
    buyer: Company = company()
    product = await create_product(seller, stock_quantity=5)
    before = await scrape(client)
    assert (await buy(client, buyer, product["id"], key="k-1")).status_code == 201
    assert (await buy(client, buyer, product["id"], key="k-1")).status_code == 201  # replay
    assert (await buy(client, buyer, product["id"])).status_code == 201
    after = await scrape(client)
    assert value(after, "avelar_purchases_total") - value(before, "avelar_purchases_total") == 2
    h = "avelar_http_request_duration_seconds_count"
    assert value(after, h, module="StockTech", route="/api/transactions", method="POST",
                 status="201") - value(before, h, module="StockTech", route="/api/transactions",
                                       method="POST", status="201") == 3
