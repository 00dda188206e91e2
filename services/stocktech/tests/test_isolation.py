"""Company B can neither change nor see company A's private data: every id-taking endpoint,
called with B's token, answers 404 (as if the id did not exist), and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from .conftest import Company


@dataclass
class World:
    a: Company
    b: Company
    c: Company
    on_sale: dict[str, Any]
    inactive: dict[str, Any]
    tx: dict[str, Any]  # C bought from A: B is neither party


@pytest.fixture
async def world(client: httpx.AsyncClient, company: Any, create_product: Any) -> World:
    a, b, c = company(name="A"), company(name="B"), company(name="C")
    on_sale = await create_product(a, stock_quantity=5)
    inactive = await create_product(a, name="Rascunho")
    await client.delete(f"/api/products/{inactive['id']}", headers=a.headers)
    resp = await client.post("/api/transactions",
                             json={"product_id": on_sale["id"], "quantity": 1},
                             headers=c.headers)
    assert resp.status_code == 201
    return World(a, b, c, on_sale, inactive, resp.json())


# (method, path template, json body)
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/products/{inactive}", None),
    ("GET", "/api/products/by-code/{inactive_code}", None),
    ("PATCH", "/api/products/{on_sale}", {"price": "1.00"}),
    ("PATCH", "/api/products/{inactive}", {"is_active": True}),
    ("DELETE", "/api/products/{on_sale}", None),
    ("DELETE", "/api/products/{inactive}", None),
    ("GET", "/api/transactions/{tx}", None),
    ("POST", "/api/transactions/{tx}/complete", None),
    ("POST", "/api/transactions/{tx}/cancel", None),
    ("POST", "/api/transactions", {"product_id": "{inactive}", "quantity": 1}),
]


def _fill(template: str, w: World) -> str:
    return template.format(on_sale=w.on_sale["id"], inactive=w.inactive["id"],
                           inactive_code=w.inactive["code"], tx=w.tx["id"])


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
async def test_other_company_gets_404(
    client: httpx.AsyncClient, world: World, method: str, path: str,
    body: dict[str, Any] | None,
) -> None:
    json_body = ({k: _fill(v, world) if isinstance(v, str) else v for k, v in body.items()}
                 if body is not None else None)
    resp = await client.request(method, _fill(path, world), json=json_body,
                                headers=world.b.headers)
    assert resp.status_code == 404, resp.text
    assert resp.headers["content-type"] == "application/problem+json"

    # Nothing changed for the owner.
    a = world.a.headers
    on_sale = (await client.get(f"/api/products/{world.on_sale['id']}", headers=a)).json()
    inactive = (await client.get(f"/api/products/{world.inactive['id']}", headers=a)).json()
    tx = (await client.get(f"/api/transactions/{world.tx['id']}", headers=a)).json()
    assert (on_sale["price"], on_sale["is_active"], on_sale["stock_quantity"]) == (
        world.on_sale["price"], True, 4)
    assert inactive["is_active"] is False
    assert tx["status"] == "pending"


async def test_public_product_is_readable_but_private_fields_are_not(
    client: httpx.AsyncClient, world: World
) -> None:
    resp = await client.get(f"/api/products/{world.on_sale['id']}", headers=world.b.headers)
    assert resp.status_code == 200
    assert resp.json()["user_id"] is None
    mine = await client.get("/api/products", params={"mine": "true"}, headers=world.b.headers)
    assert mine.json()["total"] == 0
    listed = await client.get("/api/transactions", headers=world.b.headers)
    assert listed.json()["total"] == 0


async def test_both_parties_see_the_transaction(
    client: httpx.AsyncClient, world: World
) -> None:
    for who in (world.a, world.c):
        resp = await client.get(f"/api/transactions/{world.tx['id']}", headers=who.headers)
        assert resp.status_code == 200
