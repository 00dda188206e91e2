"""Only the caller's company sees or touches its rows: every id of another company is 404,
and nothing of the owner's changes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

OFX = b"OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n" \
      b"CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n<OFX><BANKMSGSRSV1>" \
      b"<STMTTRNRS><STMTRS><BANKTRANLIST><STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20250101" \
      b"<TRNAMT>10.00<FITID>X1<MEMO>X</STMTTRN></BANKTRANLIST></STMTRS></STMTTRNRS>" \
      b"</BANKMSGSRSV1></OFX>"

# (method, path, json body, multipart file). {bank}, {bank2}, {tx}, {code}, {transfer},
# {category} are the owner's ids.
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, bool]] = [
    ("GET", "/api/bank-accounts/{bank}", None, False),
    ("PATCH", "/api/bank-accounts/{bank}", {"name": "Roubada", "opening_balance": "999.00"},
     False),
    ("DELETE", "/api/bank-accounts/{bank}", None, False),
    ("GET", "/api/bank-accounts/{bank}/reconcile", None, False),
    ("POST", "/api/bank-accounts/{bank}/import", None, True),
    ("GET", "/api/financial-transactions/{tx}", None, False),
    ("GET", "/api/financial-transactions/by-code/{code}", None, False),
    ("PATCH", "/api/financial-transactions/{tx}", {"amount": "1.00"}, False),
    ("DELETE", "/api/financial-transactions/{tx}", None, False),
    ("POST", "/api/financial-transactions",
     {"bank_account_id": "{bank}", "description": "x", "amount": "5.00", "type": "income"},
     False),
    ("POST", "/api/financial-transactions",
     {"bank_account_id": "{own_bank}", "description": "x", "amount": "5.00", "type": "income",
      "category_id": "{category}"}, False),
    ("PATCH", "/api/financial-transactions/{own_tx}", {"bank_account_id": "{bank}"}, False),
    ("PATCH", "/api/financial-transactions/{own_tx}", {"category_id": "{category}"}, False),
    ("GET", "/api/transfers/{transfer}", None, False),
    ("DELETE", "/api/transfers/{transfer}", None, False),
    ("POST", "/api/transfers",
     {"from_bank_account_id": "{bank}", "to_bank_account_id": "{bank2}", "amount": "1.00"},
     False),
    ("POST", "/api/transfers",
     {"from_bank_account_id": "{own_bank}", "to_bank_account_id": "{bank}", "amount": "1.00"},
     False),
    ("GET", "/api/categories/{category}", None, False),
    ("PATCH", "/api/categories/{category}", {"name": "Outra"}, False),
    ("DELETE", "/api/categories/{category}", None, False),
    ("GET", "/api/reports/cash-flow?from=2025-01-01&to=2025-12-31&bank_account_id={bank}",
     None, False),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.fixture
async def world(client: httpx.AsyncClient, make_company: Any, api: Any) -> dict[str, Any]:
    owner, intruder = make_company(), make_company()
    bank = await api.bank_account(owner, opening_balance="100.00")
    bank2 = await api.bank_account(owner, bank_code="237")
    tx = await api.post_tx(owner, bank["id"], "10.00")
    transfer = (await client.post("/api/transfers", headers=owner.headers, json={
        "from_bank_account_id": bank["id"], "to_bank_account_id": bank2["id"],
        "amount": "5.00"})).json()
    categories = (await client.get("/api/categories", headers=owner.headers)).json()
    category = next(c for c in categories if c["kind"] == "income")
    own_bank = await api.bank_account(intruder)
    own_tx = await api.post_tx(intruder, own_bank["id"], "1.00")
    ids = {"bank": bank["id"], "bank2": bank2["id"], "tx": tx["id"], "code": tx["code"],
           "transfer": transfer["id"], "category": category["id"], "own_bank": own_bank["id"],
           "own_tx": own_tx["id"]}
    return {"owner": owner, "intruder": intruder, "ids": ids}


async def _snapshot(client: httpx.AsyncClient, owner: Any) -> Any:
    parts = []
    for path in ("/api/bank-accounts?include_inactive=true", "/api/financial-transactions",
                 "/api/transfers", "/api/categories?include_inactive=true"):
        resp = await client.get(path, headers=owner.headers)
        assert resp.status_code == 200
        parts.append(resp.json())
    return parts


@pytest.mark.parametrize(("method", "path", "body", "upload"), ENDPOINTS,
                         ids=[f"{m} {p} {i}" for i, (m, p, _, _) in enumerate(ENDPOINTS)])
async def test_other_companys_ids_are_404(
    client: httpx.AsyncClient, world: dict[str, Any], method: str, path: str,
    body: dict[str, Any] | None, upload: bool,
) -> None:
    ids, intruder = world["ids"], world["intruder"]
    before = await _snapshot(client, world["owner"])
    kwargs: dict[str, Any] = {"headers": intruder.headers}
    if body is not None:
        kwargs["json"] = _fill(body, ids)
    if upload:
        kwargs["files"] = {"file": ("extrato.ofx", OFX, "application/x-ofx")}
    resp = await client.request(method, path.format(**ids), **kwargs)
    assert resp.status_code == 404, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert await _snapshot(client, world["owner"]) == before


async def test_lists_and_reports_show_only_the_callers_rows(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    ids, intruder = world["ids"], world["intruder"]
    h = intruder.headers
    banks = (await client.get("/api/bank-accounts", headers=h)).json()
    assert [b["id"] for b in banks] == [ids["own_bank"]]
    txs = (await client.get("/api/financial-transactions", headers=h,
                            params={"bank_account_id": ids["bank"]})).json()
    assert txs["total"] == 0
    assert (await client.get("/api/transfers", headers=h)).json()["total"] == 0
    drift = (await client.get("/api/reports/drift", headers=h)).json()
    assert [a["bank_account_id"] for a in drift["accounts"]] == [ids["own_bank"]]
    balances = (await client.get("/api/reports/balances", headers=h)).json()
    assert [a["bank_account_id"] for a in balances["accounts"]] == [ids["own_bank"]]
    csv_text = (await client.get("/api/reports/transactions.csv", headers=h)).text
    assert ids["code"] not in csv_text


async def test_module_access_and_authentication(
    client: httpx.AsyncClient, make_company: Any
) -> None:
    assert (await client.get("/api/bank-accounts")).status_code == 401
    resp = await client.get("/api/bank-accounts", headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401
    stock_only = make_company(modules=("StockTech",))
    resp = await client.get("/api/bank-accounts", headers=stock_only.headers)
    assert resp.status_code == 403
    assert resp.json()["code"] == "module_not_enabled"
