"""Issue 9: the tenant-isolation matrix over AvAdmin's OpenAPI (avelar_kit.testing.tenancy):
every route with an id, every method, the other company's admin and user: the answer a missing
id gets, and no table changes. Operator and internal routes answer every company caller 401/403
for any id; the matrix checks that too (same answer, nothing written)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from avelar_kit.testing.plugin import owner_url
from avelar_kit.testing.tenancy import TenantMatrix, table_checksums

from .conftest import CNPJS, CPFS, number_for


@pytest.fixture
async def owner_engine(avadmin_db_url: str) -> AsyncIterator[AsyncEngine]:
    # As the database's owner: no row-level policy hides a row from the comparison.
    engine = create_async_engine(owner_url(avadmin_db_url), pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def _add_user(client: httpx.AsyncClient, admin: Any, cpf: str) -> tuple[str, dict[str, str]]:
    resp = await client.post(f"/api/accounts/{admin.account_id}/users", headers=admin.headers,
                             json={"full_name": "Vendedora", "cpf": cpf,
                                   "whatsapp": number_for(cpf), "password": "vendas2024x",
                                   "role": "user"})
    assert resp.status_code == 201, resp.text
    login = await client.post("/api/auth/login", json={"cpf": cpf, "password": "vendas2024x"})
    assert login.status_code == 200, login.text
    return resp.json()["id"], {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_other_companys_ids_answer_as_missing_ones_and_change_nothing(
    app: FastAPI, client: httpx.AsyncClient, signup: Any, owner_engine: AsyncEngine,
) -> None:
    owner = await signup(cnpj=CNPJS[0], cpf=CPFS[0], plan="Corporativo")
    intruder = await signup(cnpj=CNPJS[1], cpf=CPFS[1], plan="Corporativo")
    owner_user, _ = await _add_user(client, owner, CPFS[2])
    _, intruder_user = await _add_user(client, intruder, CPFS[3])
    async with owner_engine.begin() as conn:  # the signup's charge, paid: it has a receipt
        tx_id = await conn.scalar(text(
            "UPDATE billing_transactions SET status = 'paid', paid_at = now(), method = 'pix' "
            "WHERE account_id = :a RETURNING id"), {"a": owner.account_id})
        plan_id = await conn.scalar(text("SELECT plan_id FROM accounts WHERE id = :a"),
                                    {"a": owner.account_id})
    assert tx_id is not None
    export = await client.post("/api/privacy/export", headers=owner.headers, json={})
    assert export.status_code in (201, 202), export.text

    matrix = TenantMatrix(
        client=client, openapi=(await client.get("/openapi.json")).json(),
        owner=owner.headers,
        intruders={"admin": intruder.headers, "user": intruder_user},
        ids={"account_id": str(owner.account_id), "user_id": owner_user,
             "tx_id": str(tx_id), "plan_id": str(plan_id), "export_id": export.json()["id"]},
        requests={
            "PATCH /api/users/{user_id}": {"json": {"full_name": "Outro Nome"}},
            "POST /api/accounts/{account_id}/users": {"json": {
                "full_name": "Infiltrada", "cpf": CPFS[4], "whatsapp": number_for(CPFS[4]),
                "password": "infiltrada2024", "role": "admin"}},
            "POST /api/operator/accounts/{account_id}/suspend": {"json": {"reason": "x"}},
            "POST /api/operator/accounts/{account_id}/reactivate": {"json": {}},
            "POST /api/operator/accounts/{account_id}/plan": {"json": {"plan_id": str(plan_id)}},
            "PATCH /api/operator/plans/{plan_id}": {"json": {"max_products": 1}},
        },
        snapshot=lambda: table_checksums(owner_engine))
    # The database at rest during the matrix: the outbox relay, left running, marked the setup's
    # events published between one call's two snapshots once (an embedded-servers run). The app
    # is the session's: its relay starts again afterwards.
    await app.state.relay.stop()
    try:
        await app.state.relay.publish_pending()
        failures = await matrix.run()
    finally:
        await app.state.relay.start()
    print(f"[tenancy] AvAdmin: {len(matrix.rows)} intruder calls, {len(matrix.owner_rows)} "
          "owner controls")
    assert not failures, "\n".join(failures)
    assert matrix.rows, "the OpenAPI has routes with ids"
