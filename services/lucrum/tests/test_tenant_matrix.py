"""Issue 9: the tenant-isolation matrix over Lucrum's OpenAPI (avelar_kit.testing.tenancy):
every route with an id, every method, the other company's admin and user: 404 as for a missing
id, and no table changes. A new route with an id of a new kind fails here until it is added."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from avelar_kit.testing.plugin import owner_url
from avelar_kit.testing.tenancy import TenantMatrix, table_checksums
from lucrum.transactions.codes import random_code

OFX = (b"OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
       b"CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n<OFX><BANKMSGSRSV1>"
       b"<STMTTRNRS><STMTRS><BANKTRANLIST><STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20250101"
       b"<TRNAMT>10.00<FITID>X1<MEMO>X</STMTTRN></BANKTRANLIST></STMTRS></STMTTRNRS>"
       b"</BANKMSGSRSV1></OFX>")


@pytest.fixture
async def owner_engine(lucrum_db_url: str) -> AsyncIterator[AsyncEngine]:
    # As the database's owner: no row-level policy hides a row from the comparison.
    engine = create_async_engine(owner_url(lucrum_db_url), pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def test_other_companys_ids_answer_as_missing_ones_and_change_nothing(
    client: httpx.AsyncClient, make_company: Any, api: Any, avadmin: Any, tokens: Any,
    owner_engine: AsyncEngine,
) -> None:
    owner, intruder = make_company(), make_company()
    bank = await api.bank_account(owner, opening_balance="100.00")
    bank2 = await api.bank_account(owner, bank_code="237")
    tx = await api.post_tx(owner, bank["id"], "10.00")
    transfer = await client.post("/api/transfers", headers=owner.headers, json={
        "from_bank_account_id": bank["id"], "to_bank_account_id": bank2["id"],
        "amount": "5.00"})
    assert transfer.status_code == 201, transfer.text
    categories = (await client.get("/api/categories", headers=owner.headers)).json()
    category = next(c for c in categories if c["kind"] == "income")
    await api.bank_account(intruder)  # the intruder has rows of its own
    user = avadmin.add_user(intruder.account_id, role="user")
    user_token = tokens.user_token(user_id=user.id, account_id=intruder.account_id, role="user")

    matrix = TenantMatrix(
        client=client, openapi=(await client.get("/openapi.json")).json(),
        owner=owner.headers,
        intruders={"admin": intruder.headers,
                   "user": {"Authorization": f"Bearer {user_token}"}},
        ids={"bank_account_id": bank["id"], "transaction_id": tx["id"], "code": tx["code"],
             "transfer_id": transfer.json()["id"], "category_id": category["id"],
             "user_id": str(owner.user_id)},
        missing={"code": next(c for c in iter(random_code, None) if c != tx["code"])},
        requests={
            "PATCH /api/bank-accounts/{bank_account_id}": {"json": {"name": "Roubada"}},
            "POST /api/bank-accounts/{bank_account_id}/import": {
                "files": {"file": ("extrato.ofx", OFX, "application/x-ofx")}},
            "PATCH /api/financial-transactions/{transaction_id}": {"json": {"amount": "1.00"}},
            "PATCH /api/categories/{category_id}": {"json": {"name": "Outra"}},
        },
        snapshot=lambda: table_checksums(owner_engine))
    failures = await matrix.run()
    print(f"[tenancy] Lucrum: {len(matrix.rows)} intruder calls, {len(matrix.owner_rows)} "
          "owner controls")
    assert not failures, "\n".join(failures)
    assert matrix.rows, "the OpenAPI has routes with ids"
