"""StockTech's part of the LGPD export and erasure (issue 15; docs/privacy.md)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from avelar_kit.db.tenancy import act_as_system
from stocktech.accounts.models import KnownUser

from .conftest import add_user


async def test_the_person_s_marketplace_data_for_services_only(
    client: httpx.AsyncClient, company: Any, create_product: Any, fake_avadmin: Any,
    tokens: Any, service_headers: dict[str, str],
) -> None:
    seller, buyer_company = company(), company()
    buyer = add_user(fake_avadmin, tokens, buyer_company)
    product = await create_product(seller, name="Tela Exportada 11")
    bought = await client.post("/api/transactions", headers=buyer.headers,
                               json={"product_id": product["id"], "quantity": 2})
    assert bought.status_code == 201, bought.text
    path = f"/api/internal/privacy/users/{buyer.user_id}"
    resp = await client.get(path, headers=service_headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["module"] == "StockTech" and body["user_id"] == str(buyer.user_id)
    [tx] = body["data"]["transactions"]
    assert (tx["id"], tx["roles"], tx["product_name"], tx["quantity"], tx["total_amount"]) == (
        bought.json()["id"], ["buyer"], "Tela Exportada 11", 2, "579.80")
    listed = (await client.get(f"/api/internal/privacy/users/{seller.user_id}",
                               headers=service_headers)).json()["data"]
    assert [p["name"] for p in listed["products_listed"]] == ["Tela Exportada 11"]
    assert [t["roles"] for t in listed["transactions"]] == [["seller"]]
    # The person's own token is not a service's; nobody without a token.
    refused = await client.get(path, headers=buyer.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "service_required"
    assert (await client.get(path)).status_code == 401


async def test_user_erased_refuses_the_person_and_keeps_the_history(
    client: httpx.AsyncClient, company: Any, create_product: Any, apply_event: Any, app: Any,
    service_headers: dict[str, str],
) -> None:
    seller, buyer = company(), company()
    product = await create_product(seller)
    bought = await client.post("/api/transactions", headers=buyer.headers,
                               json={"product_id": product["id"], "quantity": 1})
    assert bought.status_code == 201
    await apply_event("user.erased", {"user_id": str(buyer.user_id),
                                      "account_id": str(buyer.account_id)})
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test looks at every company's rows
        known = (await s.scalars(select(KnownUser).where(
            KnownUser.user_id == buyer.user_id))).one()
    assert known.is_active is False
    again = await client.post("/api/transactions", headers=buyer.headers,
                              json={"product_id": product["id"], "quantity": 1})
    assert again.status_code in (401, 403), again.text
    # The sale stays, under the user id (the pseudonymous reference).
    sales = await client.get("/api/transactions", params={"role": "seller"},
                             headers=seller.headers)
    assert [t["id"] for t in sales.json()["items"]] == [bought.json()["id"]]
