from __future__ import annotations

from typing import Any

import httpx

from .conftest import Company, Taxonomy


async def test_everybody_reads_operators_write(
    client: httpx.AsyncClient, company: Any, taxonomy: Taxonomy,
    service_headers: dict[str, str], operator_headers: dict[str, str],
) -> None:
    user: Company = company()
    resp = await client.get("/api/categories", headers=user.headers)
    assert resp.status_code == 200
    assert [c["name"] for c in resp.json()] == ["Baterias", "Telas e Displays"]
    assert (await client.get("/api/categories")).status_code == 401

    resp = await client.post("/api/categories", json={"name": "Câmeras"}, headers=user.headers)
    assert resp.status_code == 403
    assert resp.json()["code"] == "operator_required"

    resp = await client.post("/api/categories", json={"name": "Câmeras", "icon": "camera"},
                             headers=operator_headers)
    assert resp.status_code == 201, resp.text
    resp = await client.post("/api/brands", json={"name": "Xiaomi",
                                                  "logo_url": "https://cdn.example.com/x.png"},
                             headers=operator_headers)
    assert resp.status_code == 201
    assert resp.json()["logo_url"] == "https://cdn.example.com/x.png"
    # Operators, who manage them, read them too (the portal's operator page lists them).
    for path, name in (("/api/categories", "Câmeras"), ("/api/brands", "Xiaomi")):
        resp = await client.get(path, headers=operator_headers)
        assert resp.status_code == 200, resp.text
        assert name in [item["name"] for item in resp.json()]
    inactive = await client.get("/api/categories?include_inactive=true",
                                headers=operator_headers)
    assert inactive.status_code == 200  # only services see inactive ones


async def test_names_are_unique_regardless_of_case(
    client: httpx.AsyncClient, taxonomy: Taxonomy, service_headers: dict[str, str]
) -> None:
    resp = await client.post("/api/brands", json={"name": "APPLE"}, headers=service_headers)
    assert resp.status_code == 409
    assert resp.json()["code"] == "brand_exists"
    resp = await client.patch(f"/api/categories/{taxonomy.other_category_id}",
                              json={"name": "telas e displays"}, headers=service_headers)
    assert resp.status_code == 409


async def test_deactivated_category_is_hidden_from_users(
    client: httpx.AsyncClient, company: Any, taxonomy: Taxonomy,
    service_headers: dict[str, str],
) -> None:
    user: Company = company()
    await client.patch(f"/api/categories/{taxonomy.category_id}", json={"is_active": False},
                       headers=service_headers)
    names = [c["name"] for c in (await client.get("/api/categories", headers=user.headers)).json()]
    assert names == ["Baterias"]
    resp = await client.get(f"/api/categories/{taxonomy.category_id}", headers=user.headers)
    assert resp.status_code == 404
    resp = await client.get("/api/categories", params={"include_inactive": "true"},
                            headers=service_headers)
    assert len(resp.json()) == 2


async def test_invalid_taxonomy_input(
    client: httpx.AsyncClient, service_headers: dict[str, str]
) -> None:
    for path, body in [("/api/categories", {"name": "x"}),
                       ("/api/categories", {"name": "y" * 51}),
                       ("/api/brands", {"name": "Ok", "logo_url": "javascript:alert(1)"}),
                       ("/api/brands", {"name": "Ok", "extra": True})]:
        resp = await client.post(path, json=body, headers=service_headers)
        assert resp.status_code == 422, body
