"""The usage AvAdmin reads for plan changes (issue 11): internal services only."""

from __future__ import annotations

from typing import Any

import httpx


async def test_usage_counts_active_products_for_services_only(
    client: httpx.AsyncClient, company: Any, create_product: Any,
    service_headers: dict[str, str],
) -> None:
    seller = company()
    made = [await create_product(seller) for _ in range(3)]
    gone = await client.delete(f"/api/products/{made[0]['id']}", headers=seller.headers)
    assert gone.status_code == 204, gone.text
    path = f"/api/internal/accounts/{seller.account_id}/usage"
    resp = await client.get(path, headers=service_headers)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"account_id": str(seller.account_id), "products_active": 2,
                           "purchases_this_month": 0}
    refused = await client.get(path, headers=seller.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "service_required"
    assert (await client.get(path)).status_code == 401
