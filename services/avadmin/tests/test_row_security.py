"""The second wall in AvAdmin (ADR 0020): with a repository's or a route's company check
removed, a company still gets only its own rows; a service's token (the platform's context)
reads every company's; no company set, no rows."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from avadmin.accounts import router as accounts_router
from avadmin.auth.models import RefreshToken
from avadmin.models import Account, User
from avadmin.users.repository import UserRepository
from avadmin.users.service import UserService
from avelar_kit.auth.principal import Principal
from avelar_kit.auth.signing import SigningKey
from avelar_kit.db.tenancy import act_as_system

from .conftest import CNPJS, CPFS
from .test_internal_api import service_headers


@pytest.fixture
def no_company_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if someone forgot ``user.account_id != principal.account_id``, ``visible_account``
    and ``WHERE account_id = :c`` in the list of users."""

    async def visible_user(self: Any, principal: Principal, user_id: uuid.UUID,
                           *, for_update: bool = False) -> Any:
        user = await self.users.get(user_id, for_update=for_update)
        if user is None:
            from avadmin.users.service import _user_not_found
            raise _user_not_found()
        return user

    async def list_by_account(self: Any, account_id: uuid.UUID) -> Any:
        return (await self.session.scalars(select(User).order_by(User.created_at))).all()

    monkeypatch.setattr(UserService, "_visible_user", visible_user)
    monkeypatch.setattr(UserRepository, "list_by_account", list_by_account)
    monkeypatch.setattr(accounts_router, "visible_account", lambda principal, account_id: None)


async def test_without_its_company_checks_a_query_still_returns_only_the_callers_rows(
        client: httpx.AsyncClient, signup: Any, no_company_checks: None) -> None:
    mine = await signup()
    other = await signup(cnpj=CNPJS[1], cpf=CPFS[1])
    # Reads: another company's user and account are not there; one's own are.
    assert (await client.get(f"/api/users/{other.user_id}", headers=mine.headers)
            ).status_code == 404
    assert (await client.get(f"/api/users/{mine.user_id}", headers=mine.headers)
            ).status_code == 200
    assert (await client.get(f"/api/accounts/{other.account_id}", headers=mine.headers)
            ).status_code == 404
    assert (await client.get(f"/api/accounts/{mine.account_id}", headers=mine.headers)
            ).status_code == 200
    # A list with its filter gone: only the company's own users.
    listed = await client.get(f"/api/accounts/{mine.account_id}/users", headers=mine.headers)
    assert listed.status_code == 200, listed.text
    assert [u["id"] for u in listed.json()] == [str(mine.user_id)]
    # Writes: another company's user cannot be changed either.
    edit = await client.patch(f"/api/users/{other.user_id}", headers=mine.headers,
                              json={"full_name": "Invasor da Silva"})
    assert edit.status_code == 404, edit.text
    again = await client.get(f"/api/users/{other.user_id}", headers=other.headers)
    assert again.json()["full_name"] == "Maria Teste"


async def test_a_service_token_reads_every_company_through_the_platform_context(
        client: httpx.AsyncClient, signup: Any, signing_key: SigningKey) -> None:
    mine = await signup()
    other = await signup(cnpj=CNPJS[1], cpf=CPFS[1])
    for company in (mine, other):
        for path in (f"/api/accounts/{company.account_id}", f"/api/users/{company.user_id}"):
            resp = await client.get(path, headers=service_headers(signing_key))
            assert resp.status_code == 200, resp.text


async def test_a_transaction_without_a_company_sees_no_rows(app: FastAPI, signup: Any) -> None:
    await signup()
    await signup(cnpj=CNPJS[1], cpf=CPFS[1])
    for model in (Account, User, RefreshToken):
        count = select(func.count()).select_from(model)
        async with app.state.db.read_sessionmaker() as session:
            assert (await session.execute(count)).scalar_one() == 0, model
        async with app.state.db.sessionmaker() as session, session.begin():
            assert (await session.execute(count)).scalar_one() == 0, model
            await act_as_system(session)
            assert (await session.execute(count)).scalar_one() == 2, model
