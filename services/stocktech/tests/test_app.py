from __future__ import annotations

import httpx
import pytest

from avelar_kit.testing.database import check

from .conftest import SERVICE_DIR


async def test_health(client: httpx.AsyncClient) -> None:
    resp = await client.get("/health")
    assert resp.status_code == 200
    body = resp.json()
    assert body["module"] == "StockTech"
    assert (body["status"], body["database"], body["redis"]) == ("healthy", "connected",
                                                                "connected")
    assert "avadmin_api" in body and "timestamp" in body


def test_models_match_migrations(stocktech_db_url: str) -> None:
    check(SERVICE_DIR, stocktech_db_url)


@pytest.mark.parametrize("path", ["/api/products", "/api/transactions", "/api/categories"])
async def test_bad_tokens_are_401(client: httpx.AsyncClient, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"}):
        resp = await client.get(path, headers=headers)
        assert resp.status_code == 401
        assert resp.headers["content-type"] == "application/problem+json"


async def test_openapi_documents_the_endpoints(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    for path in ("/api/products", "/api/products/{product_id}",
                 "/api/products/by-code/{code}", "/api/transactions",
                 "/api/transactions/{transaction_id}/complete",
                 "/api/transactions/{transaction_id}/cancel", "/api/categories", "/api/brands"):
        assert path in spec["paths"], path
    post = spec["paths"]["/api/transactions"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
