from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from avadmin.models import OutboxEvent
from avelar_kit.db.tenancy import act_as_system

from .conftest import CNPJS, CPFS


async def test_admin_reads_and_edits_own_account(client: httpx.AsyncClient, signup: Any) -> None:
    a = await signup()
    me = await client.get("/api/accounts/me", headers=a.headers)
    assert me.status_code == 200
    assert me.json()["plan"]["name"] == "Empresa"
    resp = await client.patch("/api/accounts/me", headers=a.headers,
                              json={"company_name": "Nova Razão LTDA",
                                    "whatsapp": "+55 21 99876-5432",
                                    "enabled_modules": ["Lucrum"]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["company_name"] == "Nova Razão LTDA"
    assert resp.json()["whatsapp"] == "+5521998765432"
    assert resp.json()["enabled_modules"] == ["Lucrum"]


async def test_account_update_validates_cnpj_and_modules(client: httpx.AsyncClient,
                                                         signup: Any) -> None:
    a = await signup(plan="Lojista")
    bad = await client.patch("/api/accounts/me", headers=a.headers,
                             json={"cnpj": "12ABC34501DE36"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "cnpj"
    alnum = await client.patch("/api/accounts/me", headers=a.headers,
                               json={"cnpj": "12.abc.345/01de-35"})
    assert alnum.status_code == 200
    assert alnum.json()["cnpj"] == "12ABC34501DE35"
    outside = await client.patch("/api/accounts/me", headers=a.headers,
                                 json={"enabled_modules": ["StockTech", "Lucrum"]})
    assert outside.status_code == 422
    assert outside.json()["code"] == "module_not_in_plan"
    unknown = await client.patch("/api/accounts/me", headers=a.headers,
                                 json={"enabled_modules": ["Contabil"]})
    assert unknown.status_code == 422
    landline = await client.patch("/api/accounts/me", headers=a.headers,
                                  json={"whatsapp": "+55 11 3333-4444"})
    assert landline.status_code == 422


async def test_cnpj_taken_on_update(client: httpx.AsyncClient, signup: Any) -> None:
    a = await signup()
    await signup(cnpj=CNPJS[1], cpf=CPFS[1])
    resp = await client.patch("/api/accounts/me", headers=a.headers, json={"cnpj": CNPJS[1]})
    assert resp.status_code == 409
    assert resp.json()["code"] == "cnpj_taken"


async def test_operator_suspends_and_reactivates(client: httpx.AsyncClient, signup: Any,
                                                 operator: dict[str, str], app: Any) -> None:
    a = await signup()
    listed = await client.get("/api/operator/accounts", headers=operator)
    assert listed.json()["total"] == 1
    s = await client.post(f"/api/operator/accounts/{a.account_id}/suspend", headers=operator,
                          json={"reason": "inadimplência"})
    assert s.status_code == 200
    assert s.json()["status"] == "suspended"
    # Suspending twice is harmless and emits no second event.
    await client.post(f"/api/operator/accounts/{a.account_id}/suspend", headers=operator)
    login = await client.post("/api/auth/login", json={"cpf": CPFS[0], "password": a.password})
    assert login.status_code == 403
    assert login.json()["code"] == "account_suspended"
    refresh = await client.post("/api/auth/refresh", json={"refresh_token": a.refresh})
    assert refresh.status_code == 401
    filtered = await client.get("/api/operator/accounts?status=suspended", headers=operator)
    assert filtered.json()["total"] == 1
    r = await client.post(f"/api/operator/accounts/{a.account_id}/reactivate", headers=operator)
    assert r.json()["status"] == "active"
    assert (await client.post("/api/auth/login",
                              json={"cpf": CPFS[0], "password": a.password})).status_code == 200
    async with app.state.db.sessionmaker() as session:
        await act_as_system(session)  # the test works on every company's rows
        types = [e.event_type for e in (await session.scalars(
            select(OutboxEvent).order_by(OutboxEvent.created_at))).all()]
    assert types == ["account.suspended", "account.reactivated"]


async def test_operator_changes_plan_and_event_carries_limits(
    client: httpx.AsyncClient, signup: Any, operator: dict[str, str], plans: dict[str, Any],
    app: Any,
) -> None:
    a = await signup(plan="Empresa")
    resp = await client.post(f"/api/operator/accounts/{a.account_id}/plan", headers=operator,
                             json={"plan_id": str(plans["Lojista"])})
    assert resp.status_code == 200
    assert resp.json()["plan"]["name"] == "Lojista"
    assert resp.json()["enabled_modules"] == ["StockTech"]  # Lucrum is not in Lojista
    async with app.state.db.sessionmaker() as session:
        await act_as_system(session)  # the test works on every company's rows
        events = (await session.scalars(select(OutboxEvent)
                                        .order_by(OutboxEvent.created_at))).all()
    changed = next(e for e in events if e.event_type == "account.plan_changed")
    assert changed.payload["plan"]["max_products"] == 100
    assert changed.payload["plan"]["max_users"] == 2
    assert changed.payload["plan"]["max_transactions"] == 300
    assert "account.updated" in [e.event_type for e in events]


async def test_operator_creates_and_edits_plans(client: httpx.AsyncClient, signup: Any,
                                                operator: dict[str, str], app: Any) -> None:
    a = await signup(plan="Empresa")
    body = {"name": "Startup", "price": "149.90", "max_products": 250, "max_users": 3,
            "max_transactions": 1000, "features": ["whatsapp"], "modules": ["StockTech"]}
    created = await client.post("/api/operator/plans", headers=operator, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["price"] == "149.90"
    dup = await client.post("/api/operator/plans", headers=operator, json=body)
    assert dup.status_code == 409
    float_price = await client.post("/api/operator/plans", headers=operator,
                                    json=body | {"name": "Outro", "price": 149.9})
    assert float_price.status_code == 422
    negative = await client.post("/api/operator/plans", headers=operator,
                                 json=body | {"name": "Outro", "price": "-1.00"})
    assert negative.status_code == 422
    empresa = next(p for p in (await client.get("/api/operator/plans", headers=operator)).json()
                   if p["name"] == "Empresa")
    edited = await client.patch(f"/api/operator/plans/{empresa['id']}", headers=operator,
                                json={"max_products": 400})
    assert edited.json()["max_products"] == 400
    async with app.state.db.sessionmaker() as session:
        await act_as_system(session)  # the test works on every company's rows
        ev = await session.scalar(select(OutboxEvent)
                                  .where(OutboxEvent.event_type == "account.plan_changed"))
    assert ev is not None
    assert ev.payload["account_id"] == str(a.account_id)
    assert ev.payload["plan"]["max_products"] == 400


async def test_operator_login_failure_and_no_token(client: httpx.AsyncClient,
                                                   operator: dict[str, str]) -> None:
    bad = await client.post("/api/operator/login",
                            json={"email": "ops@avelarsys.com.br", "password": "errada"})
    assert bad.status_code == 401
    assert (await client.get("/api/operator/accounts")).status_code == 401


async def test_operator_token_dies_with_the_operator(client: httpx.AsyncClient, app: Any,
                                                    operator: dict[str, str]) -> None:
    import uuid

    from sqlalchemy import update

    from avadmin.models import Operator

    assert (await client.get("/api/operator/accounts", headers=operator)).status_code == 200
    ghost, _ = app.state.issuer.operator_token(str(uuid.uuid4()))
    resp = await client.get("/api/operator/accounts",
                            headers={"Authorization": f"Bearer {ghost}"})
    assert resp.status_code == 401
    async with app.state.db.sessionmaker() as session, session.begin():
        await act_as_system(session)  # the test works on every company's rows
        await session.execute(update(Operator).values(is_active=False))
    assert (await client.get("/api/operator/accounts", headers=operator)).status_code == 401


async def test_plan_losing_a_module_switches_it_off_for_its_companies(
    client: httpx.AsyncClient, signup: Any, operator: dict[str, str], plans: dict[str, Any],
    app: Any,
) -> None:
    a = await signup(plan="Empresa")
    resp = await client.patch(f"/api/operator/plans/{plans['Empresa']}", headers=operator,
                              json={"modules": ["StockTech"], "name": "Empresa Plus"})
    assert resp.status_code == 200, resp.text
    me = (await client.get("/api/accounts/me", headers=a.headers)).json()
    assert me["enabled_modules"] == ["StockTech"]
    async with app.state.db.sessionmaker() as session:
        await act_as_system(session)  # the test works on every company's rows
        events = (await session.scalars(select(OutboxEvent)
                                        .order_by(OutboxEvent.created_at))).all()
    assert [e.event_type for e in events] == ["account.plan_changed", "account.updated"]
    assert events[0].payload["plan"]["name"] == "Empresa Plus"
    assert events[1].payload["enabled_modules"] == ["StockTech"]


async def test_partner_module_registered_added_to_a_plan_and_enabled(
    client: httpx.AsyncClient, signup: Any, operator: dict[str, str]
) -> None:
    """The seed's "Parceria": a third party's module becomes something companies can enable."""
    listed = await client.get("/api/operator/modules", headers=operator)
    assert [m["name"] for m in listed.json()] == ["StockTech", "Lucrum"]
    plan = {"name": "Parceria", "price": "199.90", "max_products": 100, "max_users": 3,
            "max_transactions": 500, "modules": ["StockTech", "Fiscalize"]}
    refused = await client.post("/api/operator/plans", headers=operator, json=plan)
    assert refused.status_code == 422
    assert refused.json()["code"] == "module_unknown"
    bad_name = await client.post("/api/operator/modules", headers=operator,
                                 json={"name": "fiscal ize!"})
    assert bad_name.status_code == 422
    reg = await client.post("/api/operator/modules", headers=operator,
                            json={"name": "Fiscalize", "description": "Notas fiscais (parceiro)"})
    assert reg.status_code == 201
    dup = await client.post("/api/operator/modules", headers=operator, json={"name": "Fiscalize"})
    assert dup.status_code == 409
    created = await client.post("/api/operator/plans", headers=operator, json=plan)
    assert created.status_code == 201, created.text
    company = await signup(plan="Parceria")
    assert company.data["account"]["enabled_modules"] == ["StockTech", "Fiscalize"]
    import jwt

    claims = jwt.decode(company.access, options={"verify_signature": False})
    assert claims["enabled_modules"] == ["StockTech", "Fiscalize"]
    off = await client.patch("/api/accounts/me", headers=company.headers,
                             json={"enabled_modules": ["Fiscalize"]})
    assert off.status_code == 200
    assert off.json()["enabled_modules"] == ["Fiscalize"]
