"""The second wall (ADR 0020): with a repository's company filter removed, a company still gets
only its own rows (a transaction: its two parties); the marketplace's active products stay
visible to every company by a policy of their own; no company set, no rows."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from avelar_kit.db.tenancy import act_as_system
from stocktech.products.models import Product
from stocktech.transactions.models import Transaction
from stocktech.transactions.repository import TransactionRepository


@pytest.fixture
def no_company_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    """A transaction read as if someone forgot ``buyer_account_id = :c OR seller_... = :c``."""

    async def get_for_party(self: Any, tx_id: uuid.UUID, account_id: uuid.UUID) -> Any:
        return (await self.session.execute(
            select(Transaction).where(Transaction.id == tx_id))).scalar_one_or_none()

    monkeypatch.setattr(TransactionRepository, "get_for_party", get_for_party)


async def test_without_its_company_filter_a_query_still_returns_only_the_parties_rows(
        client: httpx.AsyncClient, company: Any, create_product: Any,
        no_company_filter: None) -> None:
    seller, buyer, outsider = company(), company(), company()
    product = await create_product(seller, stock_quantity=5)
    bought = await client.post("/api/transactions", headers=buyer.headers,
                               json={"product_id": product["id"], "quantity": 1})
    assert bought.status_code == 201, bought.text
    tx = bought.json()["id"]
    for party in (seller, buyer):
        assert (await client.get(f"/api/transactions/{tx}", headers=party.headers)
                ).status_code == 200
    assert (await client.get(f"/api/transactions/{tx}", headers=outsider.headers)
            ).status_code == 404


async def test_the_marketplace_shows_other_companies_active_products_by_its_policy(
        client: httpx.AsyncClient, company: Any, create_product: Any) -> None:
    seller, viewer = company(), company()
    on_sale = await create_product(seller)
    hidden = await create_product(seller, name="Bateria Desativada")
    off = await client.patch(f"/api/products/{hidden['id']}", headers=seller.headers,
                             json={"is_active": False})
    assert off.status_code == 200, off.text
    listed = await client.get("/api/products", headers=viewer.headers)
    assert listed.status_code == 200, listed.text
    ids = {p["id"] for p in listed.json()["items"]}
    assert on_sale["id"] in ids and hidden["id"] not in ids
    assert (await client.get(f"/api/products/{hidden['id']}", headers=viewer.headers)
            ).status_code == 404


async def test_a_transaction_without_a_company_sees_no_rows(
        app: FastAPI, company: Any, create_product: Any) -> None:
    await create_product(company())
    count = select(func.count()).select_from(Product)
    async with app.state.db.read_sessionmaker() as session:
        assert (await session.execute(count)).scalar_one() == 0
    async with app.state.db.sessionmaker() as session, session.begin():
        assert (await session.execute(count)).scalar_one() == 0
        await act_as_system(session)
        assert (await session.execute(count)).scalar_one() == 1
