"""The audit trail in StockTech (issue 15, point 3; ADR 0017): operators' category and brand
writes and company admins' writes each leave exactly one row with before and after in
StockTech's own audit_log; GET /api/audit reads it. A new admin or operator write route
without a scenario here fails the walk."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from avelar_kit.db.tenancy import act_as_system
from avelar_kit.testing.routes import privileged_writes
from stocktech.audit.models import AuditLog

from .conftest import Company


@dataclass
class World:
    client: httpx.AsyncClient
    operator: dict[str, str]
    admin: Company
    product_id: str
    ids: dict[str, str] = field(default_factory=dict)


Scenario = Callable[[World], Awaitable[httpx.Response]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(route: str) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        SCENARIOS[route] = fn
        return fn

    return register


@scenario("POST /api/categories")
async def _create_category(w: World) -> httpx.Response:
    resp = await w.client.post("/api/categories", headers=w.operator,
                               json={"name": "Auditadas", "icon": "box"})
    w.ids["category"] = resp.json().get("id", "")
    return resp


@scenario("PATCH /api/categories/{category_id}")
async def _update_category(w: World) -> httpx.Response:
    return await w.client.patch(f"/api/categories/{w.ids['category']}", headers=w.operator,
                                json={"name": "Auditadas 2", "is_active": False})


@scenario("POST /api/brands")
async def _create_brand(w: World) -> httpx.Response:
    resp = await w.client.post("/api/brands", headers=w.operator, json={"name": "Auditada"})
    w.ids["brand"] = resp.json().get("id", "")
    return resp


@scenario("PATCH /api/brands/{brand_id}")
async def _update_brand(w: World) -> httpx.Response:
    return await w.client.patch(f"/api/brands/{w.ids['brand']}", headers=w.operator,
                                json={"logo_url": "https://cdn.example.com/logo.png"})


@scenario("DELETE /api/products/{product_id}")
async def _delete_product(w: World) -> httpx.Response:
    return await w.client.delete(f"/api/products/{w.product_id}", headers=w.admin.headers)


async def _rows(app: FastAPI) -> list[AuditLog]:
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test looks at every company's rows
        return list((await s.scalars(select(AuditLog))).all())


async def test_every_admin_and_operator_write_leaves_exactly_one_audit_row(
    app: FastAPI, client: httpx.AsyncClient, company: Any, create_product: Any,
    operator_headers: dict[str, str],
) -> None:
    routes = privileged_writes(app)
    assert routes - set(SCENARIOS) == set(), "admin/operator writes without an audit scenario"
    assert set(SCENARIOS) - routes == set(), "scenarios for routes that are not privileged"
    admin = company()
    product = await create_product(admin)
    w = World(client, operator_headers, admin, product["id"])
    for route, run in SCENARIOS.items():
        seen = {r.id for r in await _rows(app)}
        rid = f"audit-{uuid.uuid4().hex}"
        client.headers["X-Request-ID"] = rid
        resp = await run(w)
        assert resp.status_code < 300, (route, resp.status_code, resp.text)
        new = [r for r in await _rows(app) if r.id not in seen]
        assert len(new) == 1, (route, [r.action for r in new])
        row = new[0]
        assert row.before != row.after, (route, row.before, row.after)
        assert row.request_id == rid and row.client_address, route
        assert row.actor.startswith("user:" if "products" in route else "operator:"), row.actor
    del client.headers["X-Request-ID"]


async def test_operators_read_the_trail_and_admins_only_their_company(
    client: httpx.AsyncClient, company: Any, create_product: Any,
    operator_headers: dict[str, str],
) -> None:
    a, b = company(), company()
    for c in (a, b):
        product = await create_product(c)
        resp = await client.delete(f"/api/products/{product['id']}", headers=c.headers)
        assert resp.status_code == 204, resp.text
    everything = (await client.get("/api/audit", headers=operator_headers)).json()
    assert {"category.created", "brand.created", "product.deactivated"} <= {
        i["action"] for i in everything["items"]}
    own = await client.get("/api/audit", headers=a.headers)
    assert own.status_code == 200, own.text
    assert [i["account_id"] for i in own.json()["items"]] == [str(a.account_id)]
    assert own.json()["items"][0]["before"] == {"is_active": True}
