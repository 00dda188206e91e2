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
