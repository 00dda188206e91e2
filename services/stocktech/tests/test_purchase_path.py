"""The purchase's short paths: a sold-out product is refused from one read, and a price that
changes between the read and the reservation is never sold at the old price."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from avelar_kit.db.tenancy import act_as_system
from stocktech.transactions import repository as tx_repository

from .conftest import Company, TestAvAdmin


async def _buy(client: httpx.AsyncClient, buyer: Company, product_id: str) -> httpx.Response:
    return await client.post("/api/transactions", json={"product_id": product_id, "quantity": 1},
                             headers=buyer.headers)


async def test_sold_out_is_answered_without_the_write_checks(
    client: httpx.AsyncClient, company: Any, create_product: Any, fake_avadmin: TestAvAdmin
) -> None:
    seller: Company = company()
    buyer: Company = company()
    product = await create_product(seller, stock_quantity=0)
    fake_avadmin.calls.clear()
    resp = await _buy(client, buyer, product["id"])
    assert resp.status_code == 409
    assert (resp.json()["code"], resp.json()["available"]) == ("insufficient_stock", 0)
    # No plan lookup for the buyer (authorise_write did not run, so no row lock either).
    assert ("plan", buyer.account_id) not in fake_avadmin.calls


async def test_a_price_changed_meanwhile_is_bought_at_the_new_price(
    client: httpx.AsyncClient, company: Any, create_product: Any, app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seller: Company = company()
    buyer: Company = company()
    product = await create_product(seller, price="100.00", stock_quantity=3)
    original = tx_repository.TransactionRepository.reserve_and_record
    attempts: list[Decimal] = []

    async def seller_reprices_first(self: Any, values: dict[str, Any]) -> Any:
        attempts.append(values["price"])
        if len(attempts) == 1:
            async with app.state.db.sessionmaker() as s, s.begin():
                await act_as_system(s)  # the test looks at every company's rows
                await s.execute(text("UPDATE products SET price = 120.00 WHERE id = :id"),
                                {"id": product["id"]})
        return await original(self, values)

    monkeypatch.setattr(tx_repository.TransactionRepository, "reserve_and_record",
                        seller_reprices_first)
    resp = await _buy(client, buyer, product["id"])
    assert resp.status_code == 201, resp.text
    tx = resp.json()
    assert attempts == [Decimal("100.00"), Decimal("120.00")]
    assert (tx["unit_price"], tx["total_amount"]) == ("120.00", "120.00")
    stored = await client.get(f"/api/transactions/{tx['id']}", headers=buyer.headers)
    assert stored.json()["unit_price"] == "120.00"
    left = await client.get(f"/api/products/{product['id']}", headers=seller.headers)
    assert left.json()["stock_quantity"] == 2


async def test_a_write_stores_avadmins_answer_only_when_it_changed(
    client: httpx.AsyncClient, company: Any, create_product: Any, app: Any,
    fake_avadmin: TestAvAdmin,
) -> None:
    """authorise_write writes the buyer's known_accounts row only when AvAdmin's answer differs
    from it (a purchase otherwise only locks it), and a changed plan is stored and applies."""
    seller: Company = company()
    buyer: Company = company(max_transactions=50)
    product = await create_product(seller, stock_quantity=10)

    async def known() -> tuple[Any, ...]:
        async with app.state.db.sessionmaker() as s:
            await act_as_system(s)
            return tuple((await s.execute(text(
                "SELECT updated_at, xmin::text, max_transactions FROM known_accounts "
                "WHERE account_id = :a"), {"a": buyer.account_id})).one())

    assert (await _buy(client, buyer, product["id"])).status_code == 201
    first = await known()
    assert (await _buy(client, buyer, product["id"])).status_code == 201
    # Only locked (FOR UPDATE leaves the row's version and its updated_at as they were).
    assert (await known())[:2] == first[:2]
    fake_avadmin.set_plan_limits(buyer.account_id, max_transactions=40)
    assert (await _buy(client, buyer, product["id"])).status_code == 201
    changed = await known()
    assert changed[2] == 40 and changed[0] > first[0]
    fake_avadmin.set_plan_limits(buyer.account_id, max_transactions=3)
    refused = await _buy(client, buyer, product["id"])
    assert refused.status_code == 403, refused.text
    assert (refused.json()["allowed"], refused.json()["used"]) == (3, 3)


async def test_a_reservation_cancelled_by_the_server_is_a_503_and_leaves_nothing(
    client: httpx.AsyncClient, company: Any, create_product: Any, app: Any,
) -> None:
    """A reservation the server cancels (here the product's row is held by another transaction
    and the purchase's backend is cancelled while it waits; the same SQLSTATE 57014 as a
    statement_timeout) is the kit's 503 to retry, not a 500, and nothing of the purchase is
    left."""
    import asyncio

    seller: Company = company()
    buyer: Company = company()
    product = await create_product(seller, stock_quantity=2)
    headers = {**buyer.headers, "Idempotency-Key": "k-cancelled-by-server"}
    async with app.state.db.sessionmaker() as holder, holder.begin():
        await act_as_system(holder)
        await holder.execute(text("SELECT 1 FROM products WHERE id = :id FOR UPDATE"),
                             {"id": product["id"]})
        purchase = asyncio.create_task(client.post(
            "/api/transactions", json={"product_id": product["id"], "quantity": 1},
            headers=headers))
        cancelled = False
        async with app.state.db.sessionmaker() as watcher:
            for _ in range(200):
                cancelled = bool((await watcher.execute(text(
                    "SELECT bool_or(pg_cancel_backend(pid)) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database() "
                    "AND query LIKE '%UPDATE products%'"
                ))).scalar())
                await watcher.commit()
                if cancelled:
                    break
                await asyncio.sleep(0.05)
        assert cancelled, "the purchase never waited on the product's row"
        resp = await purchase
    assert resp.status_code == 503, resp.text
    assert resp.json()["code"] == "service_unavailable"
    assert resp.headers.get("Retry-After") == "5"
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)
        rows = (await s.execute(text(
            "SELECT (SELECT count(*) FROM transactions WHERE product_id = :id), "
            "(SELECT count(*) FROM outbox_events WHERE payload->>'product_id' = :sid), "
            "(SELECT count(*) FROM idempotency_keys WHERE key = 'k-cancelled-by-server'), "
            "(SELECT stock_quantity FROM products WHERE id = :id)"),
            {"id": product["id"], "sid": str(product["id"])})).one()
    assert tuple(rows) == (0, 0, 0, 2)
    again = await client.post("/api/transactions", json={"product_id": product["id"],
                                                         "quantity": 1}, headers=headers)
    assert again.status_code == 201, again.text
