from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from avelar_kit.db.tenancy import act_as_system
from stocktech.accounts.models import KnownAccount
from stocktech.events.handlers import handle_event

from .conftest import Company, Taxonomy, product_body


async def visible(client: httpx.AsyncClient, viewer: Company, product: dict[str, Any]
                  ) -> tuple[int, int, int]:
    listing = await client.get("/api/products", headers=viewer.headers)
    by_id = await client.get(f"/api/products/{product['id']}", headers=viewer.headers)
    by_code = await client.get(f"/api/products/by-code/{product['code']}",
                               headers=viewer.headers)
    return listing.json()["total"], by_id.status_code, by_code.status_code


async def test_suspended_seller_leaves_the_marketplace_and_comes_back(
    client: httpx.AsyncClient, company: Any, create_product: Any, apply_event: Any
) -> None:
    seller: Company = company()
    buyer: Company = company()
    product = await create_product(seller)
    assert await visible(client, buyer, product) == (1, 200, 200)

    await apply_event("account.suspended", {"account_id": str(seller.account_id)})
    assert await visible(client, buyer, product) == (0, 404, 404)
    resp = await client.post("/api/transactions",
                             json={"product_id": product["id"], "quantity": 1},
                             headers=buyer.headers)
    assert resp.status_code == 404
    # The suspended company itself is shut out until it is reactivated.
    resp = await client.get("/api/products", params={"mine": "true"}, headers=seller.headers)
    assert resp.status_code == 403
    assert resp.json()["code"] == "account_suspended"

    await apply_event("account.reactivated", {"account_id": str(seller.account_id)})
    assert await visible(client, buyer, product) == (1, 200, 200)
    resp = await client.get("/api/products", params={"mine": "true"}, headers=seller.headers)
    assert resp.status_code == 200


async def test_late_and_duplicate_events_change_nothing(
    app: FastAPI, client: httpx.AsyncClient, company: Any, create_product: Any,
    apply_event: Any,
) -> None:
    seller: Company = company()
    buyer: Company = company()
    product = await create_product(seller)
    now = datetime.now(UTC)
    await apply_event("account.suspended", {"account_id": str(seller.account_id)}, now)
    await apply_event("account.reactivated", {"account_id": str(seller.account_id)},
                      now + timedelta(seconds=1))
    # Delivered late: the suspension that the reactivation already overrode.
    await apply_event("account.suspended", {"account_id": str(seller.account_id)}, now)
    assert await visible(client, buyer, product) == (1, 200, 200)

    await apply_event("account.plan_changed", {
        "account_id": str(seller.account_id),
        "plan": {"name": "Corporativo", "max_products": 5000, "max_users": 50,
                 "max_transactions": 20000}}, now + timedelta(seconds=5))
    await apply_event("account.plan_changed", {
        "account_id": str(seller.account_id),
        "plan": {"name": "Lojista", "max_products": 1, "max_users": 1,
                 "max_transactions": 10}}, now)
    async with app.state.db.sessionmaker() as session:
        await act_as_system(session)  # the test looks at every company's rows
        row = await session.get(KnownAccount, seller.account_id)
        assert row is not None
        assert (row.plan_name, row.max_products) == ("Corporativo", 5000)

    async with app.state.db.sessionmaker() as session, session.begin():
        await act_as_system(session)  # the test looks at every company's rows
        assert await handle_event(session, {"type": "invoice.paid", "data": {}}) is False


async def test_account_updated_renames_the_seller(
    client: httpx.AsyncClient, company: Any, create_product: Any, apply_event: Any
) -> None:
    seller: Company = company(name="Nome Antigo")
    product = await create_product(seller)
    await apply_event("account.updated", {
        "account_id": str(seller.account_id), "company_name": "Nome Novo LTDA",
        "whatsapp": "+5521987654321", "enabled_modules": ["StockTech"], "status": "active"})
    resp = await client.get(f"/api/products/{product['id']}", headers=company().headers)
    assert resp.json()["seller"]["company_name"] == "Nome Novo LTDA"


async def test_deactivated_user_can_no_longer_act(
    client: httpx.AsyncClient, company: Any, taxonomy: Taxonomy, apply_event: Any
) -> None:
    user: Company = company()
    await apply_event("user.deactivated",
                      {"user_id": str(user.user_id), "account_id": str(user.account_id)})
    for method, path, body in [("GET", "/api/products", None),
                               ("POST", "/api/products", product_body(taxonomy))]:
        resp = await client.request(method, path, json=body, headers=user.headers)
        assert resp.status_code == 401
        assert resp.json()["code"] == "user_deactivated"  # as the kit (docs/new-module.md)


async def test_unknown_account_from_an_event_is_recorded(
    app: FastAPI, client: httpx.AsyncClient, apply_event: Any
) -> None:
    import uuid

    account_id = uuid.uuid4()
    await apply_event("account.suspended", {"account_id": str(account_id)})
    async with app.state.db.sessionmaker() as session:
        await act_as_system(session)  # the test looks at every company's rows
        status = await session.scalar(
            select(KnownAccount.status).where(KnownAccount.account_id == account_id))
    assert status == "suspended"
