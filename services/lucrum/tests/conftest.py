from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from avelar_kit.testing.database import truncate_all
from avelar_kit.testing.fake_avadmin import FakeAvAdmin
from avelar_kit.testing.plugin import migrated_database, owner_url
from avelar_kit.testing.tokens import TokenFactory
from lucrum.config import Settings
from lucrum.main import create_app
from lucrum.transactions.codes import random_code

SERVICE_DIR = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def lucrum_db_url(pg_url: str) -> Iterator[str]:
    yield from migrated_database(pg_url, "lucrum", SERVICE_DIR)


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    return TokenFactory()


@pytest.fixture(scope="session")
def avadmin() -> FakeAvAdmin:
    return FakeAvAdmin()


@pytest.fixture(scope="session")
async def app(
    lucrum_db_url: str, redis_url: str, tokens: TokenFactory, avadmin: FakeAvAdmin
) -> AsyncIterator[FastAPI]:
    settings = Settings(database_url=lucrum_db_url, redis_url=redis_url, events_enabled=False,
                        # Few idle connections kept (the suite shares one server with the
                        # other modules), many allowed for the concurrency tests.
                        db_pool_size=2, db_max_overflow=40,
                        # The concurrency tests queue 100 requests on 30 connections; on a
                        # loaded 2-core machine the wait can pass the 5 s production default.
                        db_pool_timeout=60)
    application = create_app(settings, avadmin=avadmin, verifier=tokens.verifier())
    async with LifespanManager(application, startup_timeout=60, shutdown_timeout=60):
        yield application


@pytest.fixture
async def clean(app: FastAPI) -> AsyncIterator[None]:
    # Real commits (the concurrency tests need them), so tables are emptied after each test.
    yield
    app.state.code_generator = random_code
    await truncate_all(owner_url(app.state.settings.database_url))


@pytest.fixture
async def client(app: FastAPI, clean: None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lucrum") as c:
        yield c


@dataclass
class Company:
    account_id: uuid.UUID
    user_id: uuid.UUID
    headers: dict[str, str]


@pytest.fixture
def make_company(avadmin: FakeAvAdmin, tokens: TokenFactory) -> Any:
    def make(modules: tuple[str, ...] = ("StockTech", "Lucrum"), **plan: Any) -> Company:
        account = avadmin.add_account(enabled_modules=modules, **plan)
        user = avadmin.add_user(account.id)
        token = tokens.user_token(user_id=user.id, account_id=account.id,
                                  enabled_modules=modules)
        return Company(account.id, user.id, {"Authorization": f"Bearer {token}"})

    return make


@pytest.fixture
def company(make_company: Any) -> Company:
    c: Company = make_company()
    return c


class Api:
    """Small helpers over the HTTP API (a fixture: with --import-mode=importlib test modules
    cannot import from conftest)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def bank_account(self, company: Company, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"bank_code": "341", "agency": "1234",
                                "account_number": f"{uuid.uuid4().int % 10**7}-1",
                                "account_type": "checking", "opening_balance": "0.00"}
        body.update(overrides)
        resp = await self.client.post("/api/bank-accounts", json=body, headers=company.headers)
        assert resp.status_code == 201, resp.text
        data: dict[str, Any] = resp.json()
        return data

    async def post_tx(
        self, company: Company, bank_account_id: str, amount: str, type_: str = "income",
        **extra: Any,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"bank_account_id": bank_account_id, "description": "Lançamento",
                                "amount": amount, "type": type_}
        body.update(extra)
        resp = await self.client.post("/api/financial-transactions", json=body,
                                      headers=company.headers)
        assert resp.status_code == 201, resp.text
        data: dict[str, Any] = resp.json()
        return data

    async def balance(self, company: Company, bank_account_id: str) -> str:
        resp = await self.client.get(f"/api/bank-accounts/{bank_account_id}",
                                     headers=company.headers)
        assert resp.status_code == 200, resp.text
        value: str = resp.json()["balance"]
        return value

    async def drift(self, company: Company) -> dict[str, Any]:
        resp = await self.client.get("/api/reports/drift", headers=company.headers)
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()
        return data


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)
