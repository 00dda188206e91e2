from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from avelar_kit.db.tenancy import act_as_system
from stocktech.products.codes import is_valid_code
from stocktech.seed import BRANDS, CATEGORIES, DEMO_PRODUCTS, seed_demo_products, seed_taxonomy
from stocktech.transactions.repository import IdempotencyRepository

from .conftest import Company


async def test_seed_is_idempotent_and_listed(
    app: FastAPI, client: httpx.AsyncClient, company: Any
) -> None:
    demo_account, demo_user = uuid.uuid4(), uuid.uuid4()
    for _ in range(2):
        async with app.state.db.sessionmaker() as session, session.begin():
            await act_as_system(session)  # the test looks at every company's rows
            await seed_taxonomy(session)
            await seed_demo_products(session, demo_account, demo_user,
                                     company_name="Demo Eletrônicos LTDA")
    viewer: Company = company()
    cats = (await client.get("/api/categories", headers=viewer.headers)).json()
    brands = (await client.get("/api/brands", headers=viewer.headers)).json()
    assert len(cats) == len(CATEGORIES) and len(brands) == len(BRANDS)
    page = (await client.get("/api/products", params={"page_size": 100},
                             headers=viewer.headers)).json()
    assert page["total"] == len(DEMO_PRODUCTS)
    assert all(is_valid_code(p["code"]) for p in page["items"])
    assert {p["seller"]["company_name"] for p in page["items"]} == {"Demo Eletrônicos LTDA"}


async def test_prune_forgets_old_idempotency_keys(app: FastAPI, client: httpx.AsyncClient
                                                  ) -> None:
    account = uuid.uuid4()
    async with app.state.db.sessionmaker() as session, session.begin():
        await act_as_system(session)  # the test looks at every company's rows
        repo = IdempotencyRepository(session)
        await repo.claim(account, "old", "h")
        await repo.claim(account, "new", "h")
        await session.execute(text("UPDATE idempotency_keys SET created_at = now() - "
                                   "interval '25 hours' WHERE key = 'old'"))
    async with app.state.db.sessionmaker() as session, session.begin():
        await act_as_system(session)  # the test looks at every company's rows
        assert await IdempotencyRepository(session).prune(24) == 1
        assert await IdempotencyRepository(session).get(account, "new") is not None
