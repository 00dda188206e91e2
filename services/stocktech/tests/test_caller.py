"""The caller is resolved once per request (issue 8, point 1): reader calls per route, counted
on the fake AvAdmin every StockTech test uses. Before the change a purchase made six (user,
buyer account, seller account, user again, plan, buyer account again) and a plain GET two."""

from __future__ import annotations

from typing import Any

import httpx


async def test_reader_calls_per_route(
    client: httpx.AsyncClient, company: Any, create_product: Any, fake_avadmin: Any,
    taxonomy: Any,
) -> None:
    seller = company()
    buyer = company()
    product = await create_product(seller)

    def calls_during() -> list[tuple[str, Any]]:
        return fake_avadmin.calls[mark:]

    mark = len(fake_avadmin.calls)
    resp = await client.get("/api/products", headers=buyer.headers)
    assert resp.status_code == 200
    assert calls_during() == [("standing", buyer.user_id)]

    mark = len(fake_avadmin.calls)
    resp = await client.get(f"/api/products/{product['id']}", headers=buyer.headers)
    assert resp.status_code == 200
    assert calls_during() == [("standing", buyer.user_id)]

    mark = len(fake_avadmin.calls)
    resp = await client.post("/api/transactions", headers={**buyer.headers,
                                                            "Idempotency-Key": "k-1"},
                             json={"product_id": product["id"], "quantity": 1})
    assert resp.status_code == 201, resp.text
    # The buyer's standing and the seller's account (its WhatsApp for the wa.me link): two.
    assert calls_during() == [("standing", buyer.user_id), ("account", seller.account_id)]

    mark = len(fake_avadmin.calls)
    resp = await client.post("/api/products", headers=seller.headers,
                             json={"name": "Bateria iPhone 11", "price": "99.90",
                                   "stock_quantity": 3, "category_id": taxonomy.category_id,
                                   "brand_id": taxonomy.brand_id})
    assert resp.status_code == 201, resp.text
    assert calls_during() == [("standing", seller.user_id)]

    tx = (await client.get("/api/transactions", params={"role": "seller"},
                           headers=seller.headers)).json()["items"][0]
    assert tx["status"] == "pending"
    mark = len(fake_avadmin.calls)
    resp = await client.post(f"/api/transactions/{tx['id']}/complete", headers=seller.headers)
    assert resp.status_code == 200, resp.text
    assert calls_during() == [("standing", seller.user_id)]

