"""The second wall (ADR 0020): with a repository's company filter removed, a company still gets
only its own rows; a transaction with no company sees none."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from avelar_kit.db.tenancy import act_as_system
from lucrum.bank_accounts.models import BankAccount
from lucrum.bank_accounts.repository import BankAccountRepository


@pytest.fixture
def no_company_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bank account queries as if someone forgot ``account_id = :company``."""

    async def get(self: Any, company: uuid.UUID, bank_account_id: uuid.UUID) -> Any:
        return (await self.session.execute(
            select(BankAccount).where(BankAccount.id == bank_account_id))).scalar_one_or_none()

    async def list_for(self: Any, company: uuid.UUID, *a: Any, **kw: Any) -> Any:
        return (await self.session.execute(select(BankAccount))).scalars().all()

    monkeypatch.setattr(BankAccountRepository, "get", get)
    monkeypatch.setattr(BankAccountRepository, "list_for", list_for)


async def test_without_its_company_filter_a_query_still_returns_only_the_callers_rows(
        client: httpx.AsyncClient, api: Any, make_company: Any, no_company_filter: None,
) -> None:
    a, b = make_company(), make_company()
    mine = await api.bank_account(a)
    theirs = await api.bank_account(b)
    listed = await client.get("/api/bank-accounts", headers=a.headers)
    assert listed.status_code == 200, listed.text
    ids = {item["id"] for item in listed.json()["items"]} if isinstance(
        listed.json(), dict) else {item["id"] for item in listed.json()}
    assert ids == {mine["id"]}
    other = await client.get(f"/api/bank-accounts/{theirs['id']}", headers=a.headers)
    assert other.status_code == 404
    own = await client.get(f"/api/bank-accounts/{theirs['id']}", headers=b.headers)
    assert own.status_code == 200


async def test_a_transaction_without_a_company_sees_no_rows(
        app: FastAPI, api: Any, company: Any) -> None:
    await api.bank_account(company)
    count = select(func.count()).select_from(BankAccount)
    async with app.state.db.read_sessionmaker() as session:
        assert (await session.execute(count)).scalar_one() == 0
    async with app.state.db.sessionmaker() as session, session.begin():
        assert (await session.execute(count)).scalar_one() == 0
        await act_as_system(session)
        assert (await session.execute(count)).scalar_one() == 1
