"""The audit trail in Lucrum (issue 15, point 3; ADR 0017): each write only a company admin
may make (bank accounts, categories, deleted entries and transfers) leaves exactly one row with
before and after in Lucrum's audit_log; GET /api/audit reads it. A new admin-only route
without a scenario here fails the walk."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from avelar_kit.db.tenancy import act_as_system
from avelar_kit.testing.routes import privileged_writes
from lucrum.audit.models import AuditLog


@dataclass
class World:
    client: httpx.AsyncClient
    api: Any
    admin: Any
    ids: dict[str, str] = field(default_factory=dict)


Scenario = Callable[[World], Awaitable[httpx.Response]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(route: str) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        SCENARIOS[route] = fn
        return fn

    return register


@scenario("POST /api/bank-accounts")
async def _create_account(w: World) -> httpx.Response:
    resp = await w.client.post("/api/bank-accounts", headers=w.admin.headers, json={
        "bank_code": "341", "agency": "0001", "account_number": "12345-6",
        "account_type": "checking", "opening_balance": "100.00"})
    w.ids["account"] = resp.json().get("id", "")
    return resp


@scenario("PATCH /api/bank-accounts/{bank_account_id}")
async def _update_account(w: World) -> httpx.Response:
    return await w.client.patch(f"/api/bank-accounts/{w.ids['account']}",
                                headers=w.admin.headers,
                                json={"name": "Conta auditada", "opening_balance": "150.00"})


@scenario("POST /api/categories")
async def _create_category(w: World) -> httpx.Response:
    resp = await w.client.post("/api/categories", headers=w.admin.headers,
                               json={"name": "Auditoria", "kind": "expense"})
    w.ids["category"] = resp.json().get("id", "")
    return resp


@scenario("PATCH /api/categories/{category_id}")
async def _update_category(w: World) -> httpx.Response:
    return await w.client.patch(f"/api/categories/{w.ids['category']}",
                                headers=w.admin.headers, json={"name": "Auditoria 2"})


@scenario("DELETE /api/categories/{category_id}")
async def _delete_category(w: World) -> httpx.Response:
    return await w.client.delete(f"/api/categories/{w.ids['category']}",
                                 headers=w.admin.headers)


@scenario("DELETE /api/financial-transactions/{transaction_id}")
async def _delete_entry(w: World) -> httpx.Response:
    tx = await w.api.post_tx(w.admin, w.ids["account"], "10.00")
    return await w.client.delete(f"/api/financial-transactions/{tx['id']}",
                                 headers=w.admin.headers)


@scenario("DELETE /api/transfers/{transfer_id}")
async def _delete_transfer(w: World) -> httpx.Response:
    other = await w.api.bank_account(w.admin)
    resp = await w.client.post("/api/transfers", headers=w.admin.headers, json={
        "from_bank_account_id": w.ids["account"], "to_bank_account_id": other["id"],
        "amount": "5.00"})
    assert resp.status_code == 201, resp.text
    return await w.client.delete(f"/api/transfers/{resp.json()['id']}", headers=w.admin.headers)


@scenario("DELETE /api/bank-accounts/{bank_account_id}")
async def _delete_account(w: World) -> httpx.Response:
    spare = await w.api.bank_account(w.admin, is_default=False)
    return await w.client.delete(f"/api/bank-accounts/{spare['id']}", headers=w.admin.headers)


async def _rows(app: FastAPI) -> list[AuditLog]:
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test looks at every company's rows
        return list((await s.scalars(select(AuditLog))).all())


async def test_every_admin_write_leaves_exactly_one_audit_row(
    app: FastAPI, client: httpx.AsyncClient, company: Any, api: Any,
) -> None:
    routes = privileged_writes(app)
    assert routes - set(SCENARIOS) == set(), "admin writes without an audit scenario"
    assert set(SCENARIOS) - routes == set(), "scenarios for routes that are not admin-only"
    w = World(client, api, company)
    for route, run in SCENARIOS.items():
        resp = await run(w)  # the scenario's setup requests have request ids of their own
        assert resp.status_code < 300, (route, resp.status_code, resp.text)
        new = [r for r in await _rows(app) if r.request_id == resp.headers["x-request-id"]]
        assert len(new) == 1, (route, [r.action for r in new])
        row = new[0]
        assert row.before != row.after, (route, row.before, row.after)
        assert row.client_address and row.actor == f"user:{company.user_id}", route
        assert row.account_id == company.account_id
    own = await client.get("/api/audit", headers=company.headers, params={"limit": 200})
    assert own.status_code == 200, own.text
    actions = [i["action"] for i in own.json()["items"]]
    assert {"bank_account.created", "bank_account.updated", "bank_account.deleted",
            "category.created", "category.updated", "category.deleted", "entry.deleted",
            "transfer.deleted"} <= set(actions)
    assert {i["account_id"] for i in own.json()["items"]} == {str(company.account_id)}
