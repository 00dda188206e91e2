"""LGPD export and erasure in AvAdmin (issue 15, points 1 and 2; docs/privacy.md).

The modules' parts come over real HTTP from a small stand-in module (what StockTech and Lucrum
serve at ``/api/internal/privacy/users/{id}``), which the test makes slow or down."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from avadmin.models import (
    AuditLog,
    BillingStatus,
    BillingTransaction,
    OutboxEvent,
    PrivacyExport,
    Subscription,
    User,
)
from avadmin.privacy.sources import ModuleSource, ModuleSources
from avelar_kit.br.cpf import compute_cpf_check_digits
from avelar_kit.db.base import utcnow
from avelar_kit.db.tenancy import act_as_system
from avelar_kit.testing.privacy import scan_database, scan_redis
from avelar_standins.server import BackgroundServer

from .conftest import CNPJS, CPFS, deliver, number_for, signup_body

PASSWORD = "vendas2024x"


def unique_cpf() -> str:
    base = f"{random.randrange(10**8, 10**9):09d}"
    return base + compute_cpf_check_digits(base)


class ModuleStandIn:
    """A module's internal privacy endpoint: answers, is slow, or is down."""

    def __init__(self) -> None:
        self.mode = "up"
        self.calls = 0
        self.server = BackgroundServer(Starlette(routes=[
            Route("/api/internal/privacy/users/{user_id}", self._answer)])).start()

    async def _answer(self, request: Request) -> JSONResponse:
        self.calls += 1
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return JSONResponse({"code": "not_authenticated"}, status_code=401)
        if self.mode == "down":
            return JSONResponse({"code": "unavailable"}, status_code=503)
        if self.mode == "slow":
            await asyncio.sleep(3)
        uid = request.path_params["user_id"]
        return JSONResponse({"module": "StockTech", "user_id": uid, "data": {
            "products_listed": [{"name": f"Tela de {uid[:8]}"}]}})


@pytest.fixture(scope="module")
def module_standin() -> Iterator[ModuleStandIn]:
    standin = ModuleStandIn()
    yield standin
    standin.server.stop()


@pytest.fixture
def with_module(app: FastAPI, module_standin: ModuleStandIn) -> Iterator[ModuleStandIn]:
    """AvAdmin's export asks the stand-in as "StockTech" (bounded at 0.5 s per attempt)."""
    saved = app.state.privacy_sources
    sources = ModuleSources([ModuleSource("StockTech", module_standin.server.url)],
                            app.state.issuer, timeout=0.5)
    app.state.privacy_sources = sources
    app.state.privacy.sources = sources
    module_standin.mode = "up"
    yield module_standin
    app.state.privacy_sources = saved
    app.state.privacy.sources = saved


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def add_user(client: httpx.AsyncClient, company: Any, cpf: str, *, name: str,
                   role: str = "user") -> tuple[uuid.UUID, dict[str, Any]]:
    resp = await client.post(f"/api/accounts/{company.account_id}/users", headers=company.headers,
                             json={"full_name": name, "cpf": cpf, "whatsapp": number_for(cpf),
                                   "password": PASSWORD, "role": role})
    assert resp.status_code == 201, resp.text
    login = await client.post("/api/auth/login", json={"cpf": cpf, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return uuid.UUID(resp.json()["id"]), login.json()


async def test_export_for_oneself_holds_every_avadmin_field_and_only_the_person_downloads(
    client: httpx.AsyncClient, signup: Any, operator: dict[str, str], app: FastAPI,
) -> None:
    company = await signup()
    _uid, tokens = await add_user(client, company, CPFS[1], name="Joana Exportada")
    resp = await client.post("/api/privacy/export", headers=bearer(tokens["access_token"]),
                             json={})
    assert resp.status_code == 201, resp.text
    export = resp.json()
    assert export["status"] == "complete" and export["missing"] == []
    download = await client.get(export["download_url"], headers=bearer(tokens["access_token"]))
    assert download.status_code == 200, download.text
    assert "attachment" in download.headers["content-disposition"]
    doc = download.json()
    profile = doc["modules"]["AvAdmin"]["profile"]
    assert (profile["full_name"], profile["cpf"], profile["whatsapp"]) == (
        "Joana Exportada", CPFS[1], number_for(CPFS[1]))
    assert doc["modules"]["AvAdmin"]["sessions"], "the refresh token issued at login"
    # Nobody else downloads it: not the company's admin, not an operator.
    for headers in (company.headers, operator):
        other = await client.get(export["download_url"], headers=headers)
        assert other.status_code == 404, other.text
    # A limited time: past expires_at it is gone (and the job deletes it).
    async with app.state.db.sessionmaker() as s, s.begin():
        await act_as_system(s)  # the test works on every company's rows
        await s.execute(update(PrivacyExport).values(expires_at=utcnow() - timedelta(seconds=1)))
    late = await client.get(export["download_url"], headers=bearer(tokens["access_token"]))
    assert late.status_code == 404
    assert (await app.state.privacy.run())["exports_expired"] == 1


async def test_operator_export_is_recorded_and_a_slow_module_completes_later(
    client: httpx.AsyncClient, signup: Any, operator: dict[str, str], app: FastAPI,
    with_module: ModuleStandIn,
) -> None:
    company = await signup()
    uid, tokens = await add_user(client, company, CPFS[1], name="Pedro Pedido")
    with_module.mode = "slow"
    resp = await client.post("/api/privacy/export", headers=operator,
                             json={"user_id": str(uid), "reason": "pedido por WhatsApp"})
    # The request waited a bounded time, then said what is missing.
    assert resp.status_code == 202, resp.text
    export = resp.json()
    assert export["status"] == "pending" and export["missing"] == ["StockTech"]
    assert export["modules_ready"] == ["AvAdmin"]
    person = bearer(tokens["access_token"])
    polled = await client.get(f"/api/privacy/exports/{export['id']}", headers=person)
    assert polled.json()["missing"] == ["StockTech"]
    early = await client.get(export["download_url"], headers=person)
    assert early.status_code == 409 and early.json()["code"] == "export_pending"
    # The module is down for the job's first try, back for the second.
    with_module.mode = "down"
    assert (await app.state.privacy.run())["exports_completed"] == 0
    with_module.mode = "up"
    assert (await app.state.privacy.run())["exports_completed"] == 1
    done = await client.get(f"/api/privacy/exports/{export['id']}", headers=operator)
    assert done.json()["status"] == "complete"
    doc = (await client.get(export["download_url"], headers=person)).json()
    assert doc["modules"]["StockTech"]["products_listed"] == [{"name": f"Tela de {str(uid)[:8]}"}]
    assert doc["requested_by"].startswith("operator:")
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        audit = (await s.scalars(select(AuditLog).where(
            AuditLog.action == "privacy.export_requested"))).all()
    assert [(a.actor.split(":")[0], a.target) for a in audit] == [("operator", f"user:{uid}")]


async def test_an_operator_must_name_the_person(client: httpx.AsyncClient,
                                                operator: dict[str, str]) -> None:
    resp = await client.post("/api/privacy/export", headers=operator, json={})
    assert resp.status_code == 409
    assert resp.json()["code"] == "user_id_required" and "user_id" in resp.json()["detail"]
    bad = await client.post("/api/privacy/export", headers=operator, json={"user_id": "x"})
    assert bad.status_code == 422


async def test_erasure_anonymises_every_copy_in_avadmin_and_ends_every_session(
    client: httpx.AsyncClient, signup: Any, app: FastAPI, plans: dict[str, Any],
) -> None:
    company = await signup()
    async with app.state.db.sessionmaker() as s, s.begin():
        await act_as_system(s)  # the test works on every company's rows
        s.add(BillingTransaction(account_id=company.account_id, plan_id=plans["Empresa"],
                                 amount=Decimal("249.90"), status=BillingStatus.paid,
                                 paid_at=utcnow(), mercadopago_id=f"mp-{uuid.uuid4().hex}"))

    async def billing() -> list[tuple[Any, ...]]:
        async with app.state.db.sessionmaker() as s:
            await act_as_system(s)  # the test works on every company's rows
            rows = (await s.scalars(select(BillingTransaction).where(
                BillingTransaction.account_id == company.account_id))).all()
        return sorted((r.id, r.amount, r.status, r.mercadopago_id, r.paid_at) for r in rows)

    billed = await billing()
    # Values of this test alone (the run's stream holds the other tests' events too).
    cpf = unique_cpf()
    name, number = f"Rita Apagavel {uuid.uuid4().hex[:6]}", number_for(cpf)
    uid, tokens = await add_user(client, company, cpf, name=name)
    # Copies: a user.updated event, a WhatsApp code waiting for delivery.
    renamed = await client.patch(f"/api/users/{uid}", headers=bearer(tokens["access_token"]),
                                 json={"full_name": name})
    assert renamed.status_code == 200
    sent = await client.post("/api/whatsapp/verify/start",
                             headers=bearer(tokens["access_token"]), json={"target": "user"})
    assert sent.status_code == 202, sent.text
    await app.state.relay.publish_pending()  # the user.updated events are in the stream
    stream = app.state.settings.events_stream
    assert await scan_redis(app.state.redis, [name], match=stream)

    resp = await client.post("/api/privacy/erase", headers=company.headers,
                             json={"user_id": str(uid)})
    assert resp.status_code == 200, resp.text
    assert resp.json()["reference"] == str(uid)
    await app.state.privacy.run()  # the streams, as the background task does

    digits = number.lstrip("+")
    found = await scan_database(app.state.settings.database_url, [cpf, name, digits])
    assert found == []
    redis_found = await scan_redis(app.state.redis, [cpf, name, digits])
    assert redis_found == []
    # Every session ends: the access token, the refresh token, the password.
    me = await client.get("/api/users/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 401
    refresh = await client.post("/api/auth/refresh",
                                json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401
    login = await client.post("/api/auth/login", json={"cpf": cpf, "password": PASSWORD})
    assert login.status_code == 401
    # The row stays, the pseudonymous reference; the modules learn it from user.erased.
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        user = await s.get(User, uid)
        assert user is not None and user.erased_at is not None and not user.is_active
        event = (await s.scalars(select(OutboxEvent).where(
            OutboxEvent.event_type == "user.erased"))).one()
        [audit] = (await s.scalars(select(AuditLog).where(
            AuditLog.action == "privacy.erased"))).all()
    assert set(event.payload) == {"user_id", "account_id", "erased_at", "sessions_valid_after"}
    assert (audit.actor, audit.target) == (f"user:{company.user_id}", f"user:{uid}")
    # The same CPF can sign up again: it is no one's now.
    again = await client.post(f"/api/accounts/{company.account_id}/users",
                              headers=company.headers,
                              json={"full_name": name, "cpf": cpf, "whatsapp": number,
                                    "password": PASSWORD})
    assert again.status_code == 201, again.text
    # The company's billing is untouched (a fiscal record, art. 16).
    assert await billing() == billed
    # Erasing twice is the same answer.
    twice = await client.post("/api/privacy/erase", headers=company.headers,
                              json={"user_id": str(uid)})
    assert twice.status_code == 200


async def test_who_may_erase(client: httpx.AsyncClient, signup: Any,
                             operator: dict[str, str]) -> None:
    a = await signup()
    b = await signup(cnpj=CNPJS[1], cpf=CPFS[2])
    _u1, t1 = await add_user(client, a, CPFS[3], name="Usuario Um")
    u2, _ = await add_user(client, a, CPFS[4], name="Usuario Dois")
    # A plain user cannot erase a coworker; another company's admin does not see them.
    denied = await client.post("/api/privacy/erase", headers=bearer(t1["access_token"]),
                               json={"user_id": str(u2)})
    assert denied.status_code == 403
    hidden = await client.post("/api/privacy/erase", headers=b.headers,
                               json={"user_id": str(u2)})
    assert hidden.status_code == 404
    # The person erases themself; an operator erases anyone.
    own = await client.post("/api/privacy/erase", headers=bearer(t1["access_token"]), json={})
    assert own.status_code == 200, own.text
    by_operator = await client.post("/api/privacy/erase", headers=operator,
                                    json={"user_id": str(u2)})
    assert by_operator.status_code == 200, by_operator.text
    assert (await client.post("/api/privacy/erase", json={})).status_code == 401


async def test_an_admins_erasure_also_scrubs_the_copies_that_name_no_company(
    client: httpx.AsyncClient, signup: Any, app: FastAPI,
) -> None:
    """A signup the person began and never confirmed sent a code to their number before any
    company existed (a message without account_id). The erasure runs in the admin's company,
    and row-level security hides such rows from it: the scrub is the platform's step."""
    company = await signup()
    cpf = unique_cpf()
    name, number = f"Lia Semempresa {uuid.uuid4().hex[:6]}", number_for(cpf)
    body = signup_body(cnpj=CNPJS[1], cpf=cpf)
    body["admin"]["full_name"] = name
    started = await client.post("/api/auth/signup", json=body)
    assert started.status_code == 202, started.text
    await deliver(app)
    digits = number.lstrip("+")
    assert await scan_database(app.state.settings.database_url, [digits])  # the copy is there
    uid, _ = await add_user(client, company, cpf, name=name)
    resp = await client.post("/api/privacy/erase", headers=company.headers,
                             json={"user_id": str(uid)})
    assert resp.status_code == 200, resp.text
    assert await scan_database(app.state.settings.database_url, [cpf, name, digits]) == []


async def test_the_last_admin_of_a_paying_company_is_not_erased(
    client: httpx.AsyncClient, signup: Any, app: FastAPI, operator: dict[str, str],
) -> None:
    company = await signup()
    async with app.state.db.sessionmaker() as s, s.begin():
        await act_as_system(s)  # the test works on every company's rows
        s.add(Subscription(account_id=company.account_id,
                           paid_until=utcnow() + timedelta(days=20)))
    for headers in (company.headers, operator):
        resp = await client.post("/api/privacy/erase", headers=headers,
                                 json={"user_id": str(company.user_id)})
        assert resp.status_code == 409, resp.text
        body = resp.json()
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert body["code"] == "last_admin_active_subscription"
        assert "último administrador" in body["detail"] and "assinatura" in body["detail"]
    # With another admin, the erasure goes through.
    await add_user(client, company, CPFS[1], name="Outra Admin", role="admin")
    ok = await client.post("/api/privacy/erase", headers=company.headers, json={})
    assert ok.status_code == 200, ok.text
    await deliver(app)
