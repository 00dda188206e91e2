"""A StockTech sale becomes an income for the seller and an expense for the buyer, once."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from avelar_kit.db.tenancy import act_as_system
from avelar_kit.errors import ServiceUnavailable
from avelar_kit.testing.fake_avadmin import FakeAvAdmin
from lucrum.config import Settings
from lucrum.events.consumer import AvAdminUnreachable, stocktech_consumer
from lucrum.events.handlers import InvalidEvent, handle_event


def sale_event(seller: Any, buyer: Any, *, event_id: uuid.UUID | None = None,
               transaction_id: uuid.UUID | None = None, total: str = "1250.00") -> dict[str, Any]:
    return {
        "id": str(event_id or uuid.uuid4()),
        "type": "stocktech.transaction.completed",
        "occurred_at": "2025-05-10T02:30:00+00:00",
        "source": "StockTech",
        "schema_version": 1,
        "data": {
            "transaction_id": str(transaction_id or uuid.uuid4()),
            "product_id": str(uuid.uuid4()), "product_code": "ST123456A",
            "product_name": "iPhone 13 128GB vitrine", "quantity": 5,
            "unit_price": "250.00", "total_amount": total,
            "seller_account_id": str(seller.account_id), "seller_user_id": str(seller.user_id),
            "buyer_account_id": str(buyer.account_id), "buyer_user_id": str(buyer.user_id),
            "completed_at": "2025-05-10T02:30:00+00:00",
        },
    }


async def deliver(app: FastAPI, avadmin: Any, envelope: dict[str, Any]) -> int:
    async with app.state.db.sessionmaker() as session, session.begin():
        await act_as_system(session)  # the test looks at every company's rows
        posted = await handle_event(session, envelope, avadmin=avadmin)
    return len(posted)


async def _ledger(client: httpx.AsyncClient, company: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get(
        "/api/financial-transactions", headers=company.headers)).json()["items"]
    return items


async def test_sale_posted_once_on_both_sides_even_when_delivered_twice(
    app: FastAPI, client: httpx.AsyncClient, make_company: Any, api: Any,
    avadmin: FakeAvAdmin,
) -> None:
    seller, buyer = make_company(), make_company()
    s_acc = await api.bank_account(seller, opening_balance="100.00")
    b_acc = await api.bank_account(buyer, opening_balance="5000.00", bank_code="260")
    event = sale_event(seller, buyer)

    assert await deliver(app, avadmin, event) == 2
    assert await deliver(app, avadmin, event) == 0  # redelivery: nothing
    # Two more deliveries racing each other: still nothing.
    assert await asyncio.gather(deliver(app, avadmin, event), deliver(app, avadmin, event)) \
        == [0, 0]

    [income] = await _ledger(client, seller)
    [expense] = await _ledger(client, buyer)
    tid = event["data"]["transaction_id"]
    assert (income["type"], income["amount"], income["source"]) == ("income", "1250.00",
                                                                    "stocktech")
    assert income["source_ref"] == f"stocktech:{tid}:sale"
    assert income["category"] == "Vendas"
    assert income["description"] == "Venda StockTech: 5x iPhone 13 128GB vitrine (ST123456A)"
    # 02:30 UTC is still the 9th in Brasília.
    assert income["transaction_date"] == "2025-05-09"
    assert (expense["type"], expense["amount"]) == ("expense", "1250.00")
    assert expense["source_ref"] == f"stocktech:{tid}:purchase"
    assert expense["category"] == "Compras de mercadorias"
    assert await api.balance(seller, s_acc["id"]) == "1350.00"
    assert await api.balance(buyer, b_acc["id"]) == "3750.00"
    assert (await api.drift(seller))["ok"] and (await api.drift(buyer))["ok"]


async def test_first_deliveries_racing_post_once(
    app: FastAPI, client: httpx.AsyncClient, make_company: Any, api: Any,
    avadmin: FakeAvAdmin,
) -> None:
    seller, buyer = make_company(), make_company()
    s_acc = await api.bank_account(seller)
    await api.bank_account(buyer)
    event = sale_event(seller, buyer, total="99.90")
    counts = await asyncio.gather(*[deliver(app, avadmin, event) for _ in range(4)])
    assert sorted(counts) == [0, 0, 0, 2]
    assert await api.balance(seller, s_acc["id"]) == "99.90"


async def test_opposite_sales_between_new_companies_do_not_deadlock(
    app: FastAPI, client: httpx.AsyncClient, make_company: Any, api: Any,
    avadmin: FakeAvAdmin,
) -> None:
    # X sells to Y while Y sells to X, both companies' first sale: each side creates its
    # company's default categories, which must happen in one order for both events.
    pairs = [(make_company(), make_company()) for _ in range(6)]
    for x, y in pairs:
        await api.bank_account(x)
        await api.bank_account(y)
    counts = await asyncio.gather(*[
        deliver(app, avadmin, sale_event(a, b, total="10.00"))
        for x, y in pairs for a, b in ((x, y), (y, x))])
    assert counts == [2] * 12
    for x, _ in pairs:
        assert (await api.drift(x))["ok"] is True


async def test_same_sale_under_a_new_event_id_is_not_posted_again(
    app: FastAPI, client: httpx.AsyncClient, make_company: Any, api: Any,
    avadmin: FakeAvAdmin,
) -> None:
    seller, buyer = make_company(), make_company()
    s_acc = await api.bank_account(seller)
    await api.bank_account(buyer)
    tid = uuid.uuid4()
    assert await deliver(app, avadmin, sale_event(seller, buyer, transaction_id=tid)) == 2
    assert await deliver(app, avadmin, sale_event(seller, buyer, transaction_id=tid)) == 0
    assert await api.balance(seller, s_acc["id"]) == "1250.00"


async def test_sides_without_lucrum_or_default_account_are_skipped(
    app: FastAPI, client: httpx.AsyncClient, make_company: Any, api: Any,
    avadmin: FakeAvAdmin,
) -> None:
    seller = make_company()
    no_lucrum = make_company(modules=("StockTech",))
    no_default = make_company()
    s_acc = await api.bank_account(seller)
    await api.bank_account(no_default, is_default=False)
    assert await deliver(app, avadmin, sale_event(seller, no_lucrum)) == 1
    assert await deliver(app, avadmin, sale_event(no_default, seller)) == 1
    assert await api.balance(seller, s_acc["id"]) == "0.00"  # +1250 -1250
    assert await _ledger(client, no_default) == []


async def test_same_company_on_both_sides(
    app: FastAPI, client: httpx.AsyncClient, company: Any, api: Any, avadmin: FakeAvAdmin
) -> None:
    acc = await api.bank_account(company, opening_balance="10.00")
    assert await deliver(app, avadmin, sale_event(company, company)) == 2
    assert await api.balance(company, acc["id"]) == "10.00"
    assert len(await _ledger(client, company)) == 2


async def test_other_and_malformed_events(
    app: FastAPI, client: httpx.AsyncClient, make_company: Any, avadmin: FakeAvAdmin
) -> None:
    seller, buyer = make_company(), make_company()
    other = sale_event(seller, buyer) | {"type": "stocktech.product.created"}
    assert await deliver(app, avadmin, other) == 0
    free = sale_event(seller, buyer, total="0.00")
    assert await deliver(app, avadmin, free) == 0  # a product given away: nothing to post
    broken = sale_event(seller, buyer)
    broken["data"]["total_amount"] = "-5.00"
    with pytest.raises(InvalidEvent):
        await deliver(app, avadmin, broken)
    with pytest.raises(InvalidEvent):
        await deliver(app, avadmin, {"type": "x"})


async def test_product_name_with_control_characters_is_still_posted(
    app: FastAPI, client: httpx.AsyncClient, make_company: Any, api: Any, avadmin: FakeAvAdmin
) -> None:
    seller, buyer = make_company(), make_company()
    await api.bank_account(seller)
    event = sale_event(seller, buyer)
    event["data"]["product_name"] = "Capa\u0000 iPhone\n13 " + "x" * 600
    assert await deliver(app, avadmin, event) == 1
    (entry,) = await _ledger(client, seller)
    assert entry["description"].startswith("Venda StockTech: 5x Capa iPhone 13 xxx")
    assert len(entry["description"]) == 500


class DownAvAdmin(FakeAvAdmin):
    async def get_account(self, account_id: uuid.UUID, *, for_write: bool = False) -> Any:
        raise ServiceUnavailable("AvAdmin fora do ar")


async def test_avadmin_down_leaves_the_event_unhandled_for_a_retry(
    app: FastAPI, client: httpx.AsyncClient, make_company: Any, api: Any,
    avadmin: FakeAvAdmin,
) -> None:
    seller, buyer = make_company(), make_company()
    s_acc = await api.bank_account(seller)
    event = sale_event(seller, buyer)
    with pytest.raises(ServiceUnavailable):
        await deliver(app, DownAvAdmin(), event)
    assert await api.balance(seller, s_acc["id"]) == "0.00"
    assert await deliver(app, avadmin, event) == 1  # not marked handled by the failed attempt
    assert await api.balance(seller, s_acc["id"]) == "1250.00"


async def test_through_the_redis_stream_consumer(
    app: FastAPI, client: httpx.AsyncClient, make_company: Any, api: Any, redis_url: str,
) -> None:
    """The production wiring: the kit's StreamConsumer reading StockTech's stream, the same
    message published twice."""
    seller, buyer = make_company(), make_company()
    s_acc = await api.bank_account(seller)
    b_acc = await api.bank_account(buyer)
    stream = f"test:lucrum:{uuid.uuid4().hex}"
    settings = Settings(stocktech_events_stream=stream, consumer_group="lucrum-test")
    consumer = stocktech_consumer(app, settings)
    await consumer.ensure_group()
    event = json.dumps(sale_event(seller, buyer))
    redis = app.state.redis
    try:
        await redis.xadd(stream, {"event": event})
        await redis.xadd(stream, {"event": event})
        created = {**sale_event(seller, buyer), "type": "stocktech.transaction.created"}
        await redis.xadd(stream, {"event": json.dumps(created)})
        assert await consumer.poll(block_ms=100) == 3
        # The purchase's "created" is no business of Lucrum's: acknowledged, never handled.
        assert (consumer.handled, consumer.duplicates, consumer.skipped) == (1, 1, 1)
        assert await api.balance(seller, s_acc["id"]) == "1250.00"
        assert await api.balance(buyer, b_acc["id"]) == "-1250.00"
        pending = await redis.xpending(stream, "lucrum-test")
        assert pending["pending"] == 0
    finally:
        await redis.delete(stream, f"{stream}:dead")


async def test_consumer_keeps_the_event_pending_while_avadmin_is_down(
    app: FastAPI, client: httpx.AsyncClient, make_company: Any, api: Any,
    avadmin: FakeAvAdmin,
) -> None:
    seller, buyer = make_company(), make_company()
    s_acc = await api.bank_account(seller)
    stream = f"test:lucrum:{uuid.uuid4().hex}"
    settings = Settings(stocktech_events_stream=stream, consumer_group="lucrum-test")
    app.state.avadmin = DownAvAdmin()
    try:
        consumer = stocktech_consumer(app, settings)
    finally:
        app.state.avadmin = avadmin
    await consumer.ensure_group()
    redis = app.state.redis
    try:
        await redis.xadd(stream, {"event": json.dumps(sale_event(seller, buyer))})
        for _ in range(consumer.max_attempts + 1):
            with pytest.raises(AvAdminUnreachable):
                await consumer.poll(block_ms=100) if _ == 0 else await consumer.sweep()
        # Not dead-lettered, still pending, nothing posted.
        assert await redis.xlen(f"{stream}:dead") == 0
        assert (await redis.xpending(stream, "lucrum-test"))["pending"] == 1
        assert await api.balance(seller, s_acc["id"]) == "0.00"
    finally:
        await redis.delete(stream, f"{stream}:dead")


def test_completed_at_without_timezone_is_utc() -> None:
    from lucrum.clock import local_date

    assert str(local_date(datetime(2025, 1, 1, 2, 0))) == "2024-12-31"  # noqa: DTZ001
    assert str(local_date(datetime(2025, 1, 1, 3, 0, tzinfo=UTC))) == "2025-01-01"


def test_stocktech_documented_example_is_readable() -> None:
    """docs/stocktech-events.md is the contract with StockTech: its example must parse."""
    from pathlib import Path

    from lucrum.events.schemas import StockTechSale

    doc = (Path(__file__).resolve().parents[3] / "docs" / "stocktech-events.md").read_text()
    blocks = [b.split("```", 1)[0] for b in doc.split("```json")[1:]]
    example = json.loads(blocks[-1])
    sale = StockTechSale.model_validate(example)
    assert str(sale.total_amount) == example["total_amount"]
    assert str(sale.seller_account_id) == example["seller_account_id"]
    envelope = json.loads(blocks[0].replace('"data": {...}', '"data": {}')
                          .replace("<uuid>", str(uuid.uuid4()))
                          .replace("<iso8601>", "2026-01-01T00:00:00+00:00"))
    assert envelope["type"] == "stocktech.transaction.completed"


async def test_a_sale_without_a_default_account_waits_visible_then_is_posted_once(
    app: FastAPI, client: httpx.AsyncClient, make_company: Any, api: Any,
    avadmin: FakeAvAdmin,
) -> None:
    """Issue 9: a side that cannot be posted yet is not lost: it waits as a pending posting the
    company sees, and is posted once as soon as the company has a default account."""
    seller = make_company()
    buyer = make_company()
    await api.bank_account(buyer)
    event = sale_event(seller, buyer)
    assert await deliver(app, avadmin, event) == 1  # the buyer's side only
    waiting = (await client.get("/api/pending-postings", headers=seller.headers)).json()
    assert [(w["side"], w["reason"], w["total_amount"]) for w in waiting] == [
        ("sale", "no_default_bank_account", "1250.00")]
    assert (await client.get("/api/pending-postings", headers=buyer.headers)).json() == []
    acc = await api.bank_account(seller)  # the first account becomes the default
    assert await api.balance(seller, acc["id"]) == "1250.00"
    assert (await client.get("/api/pending-postings", headers=seller.headers)).json() == []
    done = (await client.get("/api/pending-postings", params={"include_posted": "true"},
                             headers=seller.headers)).json()
    assert done[0]["posted_at"] and done[0]["transaction_id"]
    # once: a redelivery, another default account, a second account: nothing more
    assert await deliver(app, avadmin, event) == 0
    other = await api.bank_account(seller, is_default=True)
    assert await api.balance(seller, other["id"]) == "0.00"
    assert await api.balance(seller, acc["id"]) == "1250.00"
    assert len(await _ledger(client, seller)) == 1


async def test_a_sale_to_a_company_without_lucrum_waits_until_it_has_an_account(
    app: FastAPI, client: httpx.AsyncClient, make_company: Any, api: Any,
    avadmin: FakeAvAdmin,
) -> None:
    seller = make_company()
    await api.bank_account(seller)
    later = make_company(modules=("StockTech",))
    assert await deliver(app, avadmin, sale_event(seller, later)) == 1
    avadmin.accounts[later.account_id] = avadmin.accounts[later.account_id].model_copy(
        update={"enabled_modules": ["StockTech", "Lucrum"]})
    acc = await api.bank_account(later)
    assert await api.balance(later, acc["id"]) == "-1250.00"


def account_updated_event(company: Any, modules: list[str]) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": "account.updated", "source": "AvAdmin",
            "occurred_at": datetime.now(UTC).isoformat(), "schema_version": 1,
            "data": {"account_id": str(company.account_id), "company_name": "Empresa",
                     "whatsapp": "+5511987654321", "enabled_modules": modules,
                     "status": "active"}}


async def apply_avadmin_event(app: FastAPI, envelope: dict[str, Any]) -> None:
    """What Lucrum's AvAdmin consumer runs for an event, in its own transaction."""
    from avelar_kit.events import EventEnvelope
    from lucrum.events.handlers import AVADMIN_HANDLERS

    event = EventEnvelope.model_validate(envelope)
    handler = AVADMIN_HANDLERS.get(event.type)
    if handler is not None:
        async with app.state.db.sessionmaker() as session, session.begin():
            await act_as_system(session)  # as the kit's consumer does
            await handler(event, session)


async def test_lucrum_disabled_then_enabled_again_posts_what_waited_once(
    app: FastAPI, client: httpx.AsyncClient, make_company: Any, api: Any,
    avadmin: FakeAvAdmin,
) -> None:
    """Issue 9, point 7: a company that already has a default account, with Lucrum turned off
    when a sale arrives: the side waits; turning Lucrum on again (AvAdmin's account.updated)
    posts it, once, with no new account or sale needed."""
    seller, buyer = make_company(), make_company()
    await api.bank_account(seller)
    acc = await api.bank_account(buyer, opening_balance="2000.00")
    account = avadmin.accounts[buyer.account_id]
    avadmin.accounts[buyer.account_id] = account.model_copy(
        update={"enabled_modules": ["StockTech"]})
    await apply_avadmin_event(app, account_updated_event(buyer, ["StockTech"]))
    sale = sale_event(seller, buyer)
    assert await deliver(app, avadmin, sale) == 1  # the seller's side only

    avadmin.accounts[buyer.account_id] = account  # Lucrum on again
    assert await api.balance(buyer, acc["id"]) == "2000.00"
    waiting = (await client.get("/api/pending-postings", headers=buyer.headers)).json()
    assert [(w["side"], w["reason"]) for w in waiting] == [("purchase", "lucrum_not_enabled")]
    enabled = account_updated_event(buyer, ["StockTech", "Lucrum"])
    await apply_avadmin_event(app, enabled)
    assert await api.balance(buyer, acc["id"]) == "750.00"
    assert (await client.get("/api/pending-postings", headers=buyer.headers)).json() == []
    # once: the same event again, another enabling event, the sale again: nothing more
    await apply_avadmin_event(app, enabled)
    await apply_avadmin_event(app, account_updated_event(buyer, ["StockTech", "Lucrum"]))
    assert await deliver(app, avadmin, sale) == 0
    assert await api.balance(buyer, acc["id"]) == "750.00"
    assert len(await _ledger(client, buyer)) == 1
