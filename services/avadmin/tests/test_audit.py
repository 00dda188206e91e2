"""The audit trail (issue 15, point 3): every write by a company admin or a platform operator
leaves exactly one row with before and after; the trail is read at GET /api/audit.

The route walk (``privileged_writes``) finds every such route from the route table (an
admins-only permission, an operator guard, or the ``AUDITED`` marker): a new route without a
scenario here fails the test, so no future admin or operator write can forget its row."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from avadmin.audit.models import AuditLog
from avadmin.billing.gateway import MercadoPagoGateway
from avelar_kit.audit import PERSONAL
from avelar_kit.db.tenancy import act_as_system
from avelar_kit.testing.routes import privileged_writes
from avelar_standins import mercadopago as mp
from avelar_standins.server import BackgroundServer

from .conftest import CNPJS, CPFS, Company

MP_TOKEN = "TEST-audit-token"


@dataclass
class World:
    client: httpx.AsyncClient
    admin: Company
    operator: dict[str, str]
    plans: dict[str, Any]
    ids: dict[str, str] = field(default_factory=dict)


Scenario = Callable[[World], Awaitable[httpx.Response]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(route: str) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        SCENARIOS[route] = fn
        return fn

    return register


# -- company admins (in this order: each builds on the previous) -------------------------------

@scenario("POST /api/accounts/{account_id}/users")
async def _create_user(w: World) -> httpx.Response:
    resp = await w.client.post(f"/api/accounts/{w.admin.account_id}/users",
                               headers=w.admin.headers, json={
                                   "full_name": "Vendedora Auditada", "cpf": CPFS[1],
                                   "whatsapp": "+5511988881111", "password": "vendas2024x",
                                   "role": "user"})
    w.ids["user"] = resp.json().get("id", "")
    return resp


@scenario("PATCH /api/users/{user_id}")
async def _update_user(w: World) -> httpx.Response:
    return await w.client.patch(f"/api/users/{w.ids['user']}", headers=w.admin.headers,
                                json={"role": "admin", "whatsapp": "+5511988882222"})


@scenario("POST /api/users/{user_id}/deactivate")
async def _deactivate(w: World) -> httpx.Response:
    return await w.client.post(f"/api/users/{w.ids['user']}/deactivate", headers=w.admin.headers)


@scenario("POST /api/users/{user_id}/activate")
async def _activate(w: World) -> httpx.Response:
    return await w.client.post(f"/api/users/{w.ids['user']}/activate", headers=w.admin.headers)


@scenario("POST /api/users/password-reset")
async def _reset(w: World) -> httpx.Response:
    return await w.client.post("/api/users/password-reset", headers=w.admin.headers,
                               json={"cpf": CPFS[1], "temporary_password": "temporaria2024"})


@scenario("PATCH /api/accounts/me")
async def _update_account(w: World) -> httpx.Response:
    return await w.client.patch("/api/accounts/me", headers=w.admin.headers,
                                json={"company_name": "Empresa Auditada LTDA",
                                      "responsible_name": "Outra Pessoa"})


@scenario("POST /api/billing/checkout")
async def _checkout(w: World) -> httpx.Response:
    return await w.client.post("/api/billing/checkout", headers={
        **w.admin.headers, "Idempotency-Key": f"audit-{uuid.uuid4()}"},
        json={"plan_name": "Corporativo", "method": "pix", "cycle": "monthly"})


# -- platform operators ------------------------------------------------------------------------

@scenario("POST /api/operator/modules")
async def _register_module(w: World) -> httpx.Response:
    return await w.client.post("/api/operator/modules", headers=w.operator,
                               json={"name": "Auditoria", "description": "parceiro"})


@scenario("POST /api/operator/plans")
async def _create_plan(w: World) -> httpx.Response:
    resp = await w.client.post("/api/operator/plans", headers=w.operator, json={
        "name": "Auditado", "price": "10.00", "max_products": 5, "max_users": 5,
        "max_transactions": 5, "modules": ["StockTech"], "features": []})
    w.ids["plan"] = resp.json().get("id", "")
    return resp


@scenario("PATCH /api/operator/plans/{plan_id}")
async def _update_plan(w: World) -> httpx.Response:
    return await w.client.patch(f"/api/operator/plans/{w.ids['plan']}", headers=w.operator,
                                json={"max_products": 50, "price": "12.50"})


@scenario("POST /api/operator/accounts/{account_id}/plan")
async def _change_plan(w: World) -> httpx.Response:
    return await w.client.post(f"/api/operator/accounts/{w.admin.account_id}/plan",
                               headers=w.operator,
                               json={"plan_id": str(w.plans["Corporativo"])})


@scenario("POST /api/operator/accounts/{account_id}/suspend")
async def _suspend(w: World) -> httpx.Response:
    return await w.client.post(f"/api/operator/accounts/{w.admin.account_id}/suspend",
                               headers=w.operator, json={"reason": "teste de auditoria"})


@scenario("POST /api/operator/accounts/{account_id}/reactivate")
async def _reactivate(w: World) -> httpx.Response:
    return await w.client.post(f"/api/operator/accounts/{w.admin.account_id}/reactivate",
                               headers=w.operator)


# -- privacy (the person's own acts are recorded too; an admin's and an operator's above all) ----

@scenario("POST /api/privacy/export")
async def _export(w: World) -> httpx.Response:
    return await w.client.post("/api/privacy/export", headers=w.admin.headers, json={})


@scenario("POST /api/privacy/erase")
async def _erase(w: World) -> httpx.Response:
    return await w.client.post("/api/privacy/erase", headers=w.admin.headers,
                               json={"user_id": w.ids["user"]})


@pytest.fixture
async def gateway(app: FastAPI) -> AsyncIterator[None]:
    """Checkout needs a payment gateway: the MercadoPago stand-in over real HTTP."""
    server = BackgroundServer(mp.create_app(webhook_secret="s" * 32,
                                            access_token=MP_TOKEN)).start()
    app.state.gateway = MercadoPagoGateway(server.url, MP_TOKEN, timeout=10)
    try:
        yield
    finally:
        await app.state.gateway.aclose()
        app.state.gateway = None
        server.stop()


async def _rows(app: FastAPI) -> list[AuditLog]:
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        return list((await s.scalars(select(AuditLog).order_by(AuditLog.created_at))).all())


async def test_every_admin_and_operator_write_leaves_exactly_one_audit_row(
    app: FastAPI, client: httpx.AsyncClient, signup: Any, operator: dict[str, str],
    plans: dict[str, Any], gateway: None,
) -> None:
    routes = privileged_writes(app)
    assert routes - set(SCENARIOS) == set(), "admin/operator writes without an audit scenario"
    assert set(SCENARIOS) - routes == set(), "scenarios for routes that are not privileged"
    w = World(client, await signup(plan="Empresa"), operator, plans)
    for route, run in SCENARIOS.items():
        seen = {r.id for r in await _rows(app)}
        rid = f"audit-{uuid.uuid4().hex}"
        w.client.headers["X-Request-ID"] = rid
        resp = await run(w)
        assert resp.status_code < 300, (route, resp.status_code, resp.text)
        new = [r for r in await _rows(app) if r.id not in seen]
        assert len(new) == 1, (route, [r.action for r in new])
        row = new[0]
        assert row.before != row.after, (route, row.action, row.before, row.after)
        assert row.before is not None and row.after is not None
        assert row.request_id == rid, route
        assert row.client_address, route
        who = "operator:" if route.split()[1].startswith("/api/operator/") else "user:"
        assert row.actor.startswith(who), (route, row.actor)
    del w.client.headers["X-Request-ID"]


async def test_audit_rows_hold_no_personal_values(
    app: FastAPI, client: httpx.AsyncClient, signup: Any,
) -> None:
    a = await signup()
    resp = await client.patch("/api/accounts/me", headers=a.headers,
                              json={"whatsapp": "+5511977776666", "company_name": "Nova LTDA"})
    assert resp.status_code == 200, resp.text
    row = next(r for r in await _rows(app) if r.action == "account.updated")
    assert row.before["whatsapp"] == row.after["whatsapp"] == PERSONAL
    assert row.before["whatsapp_verified"] is True and row.after["whatsapp_verified"] is False
    assert row.after["company_name"] == "Nova LTDA"
    dumped = str([(r.before, r.after, r.details) for r in await _rows(app)])
    assert a.cpf not in dumped and "977776666" not in dumped


async def test_operators_read_every_company_and_admins_only_their_own(
    app: FastAPI, client: httpx.AsyncClient, signup: Any, operator: dict[str, str],
) -> None:
    a = await signup(cnpj=CNPJS[0], cpf=CPFS[0])
    b = await signup(cnpj=CNPJS[1], cpf=CPFS[2])
    for company in (a, b):
        resp = await client.patch("/api/accounts/me", headers=company.headers,
                                  json={"company_name": "Renomeada LTDA"})
        assert resp.status_code == 200, resp.text
    await client.post(f"/api/operator/accounts/{b.account_id}/suspend", headers=operator)

    own = await client.get("/api/audit", headers=a.headers)
    assert own.status_code == 200, own.text
    assert own.json()["items"] and {i["account_id"] for i in own.json()["items"]} == {
        str(a.account_id)}
    # An admin asking for another company still gets only their own.
    other = await client.get("/api/audit", headers=a.headers,
                             params={"account_id": str(b.account_id)})
    assert {i["account_id"] for i in other.json()["items"]} == {str(a.account_id)}

    every = await client.get("/api/audit", headers=operator, params={"limit": 200})
    assert {str(a.account_id), str(b.account_id)} <= {i["account_id"]
                                                      for i in every.json()["items"]}
    by_company = await client.get("/api/audit", headers=operator, params={
        "account_id": str(b.account_id), "action": "account.suspended"})
    items = by_company.json()["items"]
    assert len(items) == 1 and items[0]["actor"].startswith("operator:")
    assert items[0]["before"] == {"status": "active"}
    assert items[0]["after"] == {"status": "suspended"}
    by_actor = await client.get("/api/audit", headers=operator,
                                params={"actor": items[0]["actor"]})
    assert {i["action"] for i in by_actor.json()["items"]} == {"account.suspended"}
    group = await client.get("/api/audit", headers=operator, params={"action": "account."})
    assert {i["action"].split(".")[0] for i in group.json()["items"]} == {"account"}

    page = await client.get("/api/audit", headers=operator, params={"limit": 1, "offset": 1})
    assert page.json()["total"] == every.json()["total"] and len(page.json()["items"]) == 1
    future = await client.get("/api/audit", headers=operator,
                              params={"since": "2999-01-01T00:00:00Z"})
    assert future.json() == {"items": [], "total": 0, "limit": 50, "offset": 0}
    bad = await client.get("/api/audit", headers=operator, params={
        "since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_period"
    assert (await client.get("/api/audit")).status_code == 401
