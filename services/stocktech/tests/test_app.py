from __future__ import annotations

from typing import Any

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


# -- issue 9 point 5: security headers on every answer ------------------------------------------


def _secure(resp: httpx.Response) -> None:
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
    assert "server" not in resp.headers


async def test_every_answer_has_security_headers_and_no_store_when_authenticated(
    client: httpx.AsyncClient, company: Any
) -> None:
    seller = company()
    anonymous = await client.get("/api/products")
    _secure(anonymous)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-security-policy"].startswith("default-src 'none'")
    mine = await client.get("/api/products", params={"mine": "true"}, headers=seller.headers)
    assert mine.status_code == 200
    _secure(mine)
    assert mine.headers["cache-control"] == "no-store"
    missing = await client.get("/no-such-route", headers=seller.headers)
    _secure(missing)
    assert missing.headers["cache-control"] == "no-store"
    docs = await client.get("/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    _secure(docs)
    assert "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    assert "cache-control" not in docs.headers


async def test_docs_can_be_turned_off(settings: Any) -> None:
    from stocktech.main import create_app

    app = create_app(settings.model_copy(update={"docs_enabled": False}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://s.test") as c:
        assert (await c.get("/docs")).status_code == 404
        assert (await c.get("/redoc")).status_code == 404
