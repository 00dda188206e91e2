from __future__ import annotations

from typing import Any

import httpx


async def test_health(client: httpx.AsyncClient) -> None:
    resp = await client.get("/health")
    assert resp.status_code == 200
    body = resp.json()
    assert body["module"] == "Lucrum"
    assert body["database"] == "connected"


async def test_basic_flow(client: httpx.AsyncClient, company: Any, api: Any) -> None:
    acc = await api.bank_account(company, opening_balance="100.00")
    assert acc["is_default"] is True
    assert acc["bank_label"] == "341 - Itaú Unibanco"
    tx = await api.post_tx(company, acc["id"], "10.50")
    assert tx["code"].startswith("LC")
    assert await api.balance(company, acc["id"]) == "110.50"
    data: Any = (await client.get("/api/financial-transactions", headers=company.headers)).json()
    assert data["total"] == 1
