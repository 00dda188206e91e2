"""StockTech test fixtures: a database built by the migrations, the app served in-process over
ASGI (real commits, so concurrent requests really race), signed tokens, and an in-memory AvAdmin.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.auth.signing import base_claims
from avelar_kit.avadmin.models import AvAdminAccount, AvAdminPlan, AvAdminUser, Standing
from avelar_kit.db.tenancy import act_as_system
from avelar_kit.errors import ServiceUnavailable
from avelar_kit.settings import TOKEN_ISSUER
from avelar_kit.testing.database import truncate_all
from avelar_kit.testing.fake_avadmin import FakeAvAdmin
from avelar_kit.testing.plugin import migrated_database, owner_url
from avelar_kit.testing.tokens import TokenFactory
from stocktech.config import Settings
from stocktech.events.handlers import handle_event
from stocktech.main import create_app

SERVICE_DIR = Path(__file__).resolve().parents[1]


class TestAvAdmin(FakeAvAdmin):
    """FakeAvAdmin that can be taken down.

    ``down="writes"`` is AvAdmin unreachable behind the kit's client with a warm cache: reads
    are still answered (from the last known copy), a read for a write is refused with 503.
    ``down="all"`` refuses everything (a cold cache)."""

    __test__ = False

    def __init__(self) -> None:
        super().__init__()
        self.down: str | None = None

    def reset(self) -> None:
        self.users.clear()
        self.accounts.clear()
        self.plans.clear()
        self.calls.clear()
        self.down = None

    def _gate(self, for_write: bool) -> None:
        if self.down == "all" or (self.down == "writes" and for_write):
            raise ServiceUnavailable("AvAdmin indisponível", code="avadmin_unavailable")

    async def get_user(self, user_id: uuid.UUID, *, for_write: bool = False) -> AvAdminUser | None:
        self._gate(for_write)
        return await super().get_user(user_id, for_write=for_write)

    async def get_account(
        self, account_id: uuid.UUID, *, for_write: bool = False
    ) -> AvAdminAccount | None:
        self._gate(for_write)
        return await super().get_account(account_id, for_write=for_write)

    async def get_account_plan(
        self, account_id: uuid.UUID, *, for_write: bool = False
    ) -> AvAdminPlan | None:
        self._gate(for_write)
        return await super().get_account_plan(account_id, for_write=for_write)

    async def get_standing(
        self, user_id: uuid.UUID, account_id: uuid.UUID, *, for_write: bool = False
    ) -> Standing:
        self._gate(for_write)
        return await super().get_standing(user_id, account_id, for_write=for_write)


@pytest.fixture(scope="session")
def stocktech_db_url(pg_url: str) -> Iterator[str]:
    yield from migrated_database(pg_url, "stocktech", SERVICE_DIR)


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    return TokenFactory()


@pytest.fixture(scope="session")
def fake_avadmin() -> TestAvAdmin:
    return TestAvAdmin()


@pytest.fixture(scope="session")
def settings(stocktech_db_url: str, redis_url: str) -> Settings:
    # Enough connections for the 50-buyer races (each request holds one while it waits on a
    # row lock); the relay and the consumer are driven by the tests themselves.
    return Settings(database_url=stocktech_db_url, redis_url=redis_url, events_enabled=False,
                    # Few idle connections kept (the suite shares one server with the other
                    # modules), many allowed for the racing buyers.
                    db_pool_size=2, db_max_overflow=60,
                    # Racing buyers queue on the pool; on a loaded 2-core machine the wait can
                    # pass the 5 s production default.
                    db_pool_timeout=60)


@pytest.fixture(scope="session")
async def app(
    settings: Settings, tokens: TokenFactory, fake_avadmin: TestAvAdmin
) -> AsyncIterator[FastAPI]:
    application = create_app(settings, avadmin=fake_avadmin,
                             verifier=tokens.verifier(service_audience="avadmin-internal"))
    async with LifespanManager(application, startup_timeout=60, shutdown_timeout=60):
        yield application


@pytest.fixture
async def client(app: FastAPI, fake_avadmin: TestAvAdmin) -> AsyncIterator[httpx.AsyncClient]:
    fake_avadmin.reset()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stocktech.test",
                                 timeout=60) as c:
        yield c
    await truncate_all(owner_url(app.state.settings.database_url))
    fake_avadmin.reset()


@dataclass
class Company:
    account_id: uuid.UUID
    user_id: uuid.UUID
    token: str
    name: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def company(client: httpx.AsyncClient, fake_avadmin: TestAvAdmin, tokens: TokenFactory) -> Any:
    """Make a company known to the fake AvAdmin, with one active user and a token."""
    counter = {"n": 0}

    def _make(
        *, name: str | None = None, max_products: int = 500, max_transactions: int = 2000,
        plan_name: str = "Empresa", whatsapp: str = "+5511987654321",
        modules: tuple[str, ...] = ("StockTech", "Lucrum"),
    ) -> Company:
        counter["n"] += 1
        label = name or f"Empresa {counter['n']} LTDA"
        account = fake_avadmin.add_account(
            company_name=label, whatsapp=whatsapp, plan_name=plan_name,
            max_products=max_products, max_transactions=max_transactions,
            enabled_modules=modules,
        )
        user = fake_avadmin.add_user(account.id)
        token = tokens.user_token(user_id=user.id, account_id=account.id,
                                  enabled_modules=modules)
        return Company(account.id, user.id, token, label)

    return _make


def add_user(fake: TestAvAdmin, tokens: TokenFactory, company: Company) -> Company:
    """Another user of the same company."""
    user = fake.add_user(company.account_id, role="user")
    token = tokens.user_token(user_id=user.id, account_id=company.account_id, role="user")
    return Company(company.account_id, user.id, token, company.name)


@pytest.fixture
def service_headers(tokens: TokenFactory) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.service_token('catalog-admin')}"}


@pytest.fixture
def operator_headers(tokens: TokenFactory) -> dict[str, str]:
    claims = base_claims(issuer=TOKEN_ISSUER, audience="avadmin-operator",
                         subject=str(uuid.uuid4()), typ="operator", ttl=900)
    return {"Authorization": f"Bearer {tokens.key.sign(claims)}"}


@dataclass
class Taxonomy:
    category_id: str
    other_category_id: str
    brand_id: str
    other_brand_id: str


@pytest.fixture
async def taxonomy(client: httpx.AsyncClient, service_headers: dict[str, str]) -> Taxonomy:
    ids = []
    for path, body in [
        ("/api/categories", {"name": "Telas e Displays", "icon": "smartphone"}),
        ("/api/categories", {"name": "Baterias", "icon": "battery"}),
        ("/api/brands", {"name": "Apple"}),
        ("/api/brands", {"name": "Samsung"}),
    ]:
        resp = await client.post(path, json=body, headers=service_headers)
        assert resp.status_code == 201, resp.text
        ids.append(resp.json()["id"])
    return Taxonomy(*ids)


def product_body(taxonomy: Taxonomy, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Tela Frontal iPhone 11 Incell",
        "description": "Display incell com touch",
        "category_id": taxonomy.category_id,
        "brand_id": taxonomy.brand_id,
        "price": "289.90",
        "stock_quantity": 10,
        "images": ["https://cdn.example.com/tela.jpg"],
        "specifications": {"modelo": "iPhone 11"},
    }
    body.update(overrides)
    return body


@pytest.fixture
def create_product(client: httpx.AsyncClient, taxonomy: Taxonomy) -> Any:
    async def _create(owner: Company, **overrides: Any) -> dict[str, Any]:
        resp = await client.post("/api/products", json=product_body(taxonomy, **overrides),
                                 headers=owner.headers)
        assert resp.status_code == 201, resp.text
        data: dict[str, Any] = resp.json()
        return data

    return _create


@pytest.fixture
def apply_event(app: FastAPI) -> Any:
    """Apply an AvAdmin event as the consumer would: handle_event in its own transaction."""

    async def _apply(event_type: str, data: dict[str, Any],
                     occurred_at: datetime | None = None) -> None:
        envelope = {
            "id": str(uuid.uuid4()), "type": event_type, "source": "AvAdmin",
            "schema_version": 1, "data": data,
            "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
        }
        session: AsyncSession
        async with app.state.db.sessionmaker() as session, session.begin():
            await act_as_system(session)  # as the kit's consumer does
            await handle_event(session, envelope)

    return _apply
