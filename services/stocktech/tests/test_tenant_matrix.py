"""Issue 9: the tenant-isolation matrix over StockTech's OpenAPI (avelar_kit.testing.tenancy):
every route with an id, every method, the other company's admin and user: the answer a missing
id gets, and no table changes. The owner's product is one off sale (an active one is public on
the marketplace: test_isolation.py covers writes to it); the catalog is shared by every company
(operators and services write it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from avelar_kit.br.codes import PRODUCT_CODES
from avelar_kit.testing.plugin import owner_url
from avelar_kit.testing.tenancy import TenantMatrix, table_checksums

CATALOG = "the shared catalog: every company reads it, only operators and services write it"


@pytest.fixture
async def owner_engine(stocktech_db_url: str) -> AsyncIterator[AsyncEngine]:
    # As the database's owner: no row-level policy hides a row from the comparison.
    engine = create_async_engine(owner_url(stocktech_db_url), pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def test_other_companys_ids_answer_as_missing_ones_and_change_nothing(
    client: httpx.AsyncClient, company: Any, create_product: Any, taxonomy: Any,
    fake_avadmin: Any, tokens: Any, owner_engine: AsyncEngine,
) -> None:
    owner, intruder, buyer = company(name="Dona"), company(name="Intrusa"), company()
    on_sale = await create_product(owner, stock_quantity=5)
    off_sale = await create_product(owner, name="Rascunho")
    assert (await client.delete(f"/api/products/{off_sale['id']}",
                                headers=owner.headers)).status_code == 204
    bought = await client.post("/api/transactions", headers=buyer.headers,
                               json={"product_id": on_sale["id"], "quantity": 1})
    assert bought.status_code == 201, bought.text
    await create_product(intruder, name="Da intrusa")  # the intruder has rows of its own
    user = fake_avadmin.add_user(intruder.account_id, role="user")
    user_token = tokens.user_token(user_id=user.id, account_id=intruder.account_id, role="user")

    matrix = TenantMatrix(
        client=client, openapi=(await client.get("/openapi.json")).json(),
        owner=owner.headers,
        intruders={"admin": intruder.headers,
                   "user": {"Authorization": f"Bearer {user_token}"}},
        ids={"product_id": off_sale["id"], "code": off_sale["code"],
             "transaction_id": bought.json()["id"], "account_id": str(owner.account_id),
             "category_id": taxonomy.category_id, "brand_id": taxonomy.brand_id,
             "user_id": str(owner.user_id)},
        missing={"code": next(c for c in iter(PRODUCT_CODES.random, None)
                              if c != off_sale["code"])},
        requests={
            "PATCH /api/products/{product_id}": {"json": {"price": "1.00", "is_active": True}},
            "PATCH /api/categories/{category_id}": {"json": {"name": "Roubada"}},
            "PATCH /api/brands/{brand_id}": {"json": {"name": "Roubada"}},
        },
        shared={"GET /api/categories/{category_id}": CATALOG,
                "PATCH /api/categories/{category_id}": CATALOG,
                "GET /api/brands/{brand_id}": CATALOG,
                "PATCH /api/brands/{brand_id}": CATALOG},
        snapshot=lambda: table_checksums(owner_engine))
    failures = await matrix.run()
    print(f"[tenancy] StockTech: {len(matrix.rows)} intruder calls, {len(matrix.owner_rows)} "
          "owner controls")
    assert not failures, "\n".join(failures)
    assert matrix.rows, "the OpenAPI has routes with ids"
