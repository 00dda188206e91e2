from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx


async def test_banks_list(client: httpx.AsyncClient, company: Any) -> None:
    banks = (await client.get("/api/banks", headers=company.headers)).json()
    by_code = {b["code"]: b for b in banks}
    assert by_code["341"]["label"] == "341 - Itaú Unibanco"
    assert by_code["260"]["name"] == "Nu Pagamentos (Nubank)"
    assert "399" not in by_code  # HSBC Brasil no longer operates
    assert all(len(b["code"]) == 3 and b["code"].isdigit() for b in banks)


async def test_shapes_are_validated_and_normalised(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    acc = await api.bank_account(company, bank_code="1", agency="12345",
                                 account_number="1.234.567 x")
    assert (acc["bank_code"], acc["agency"], acc["account_number"]) == ("001", "1234-5",
                                                                        "1234567-X")
    for bad in ({"bank_code": "999"}, {"agency": "12"}, {"agency": "12ab"},
                {"account_number": "abc"}, {"account_type": "investment"},
                {"opening_balance": 10.5}):
        body = {"bank_code": "341", "agency": "1234", "account_number": "555-1"} | bad
        resp = await client.post("/api/bank-accounts", json=body, headers=company.headers)
        assert resp.status_code == 422, bad
    resp = await client.post("/api/bank-accounts", headers=company.headers, json={
        "bank_code": "001", "agency": "1234-5", "account_number": "1234567-X"})
    assert resp.status_code == 409
    assert resp.json()["code"] == "bank_account_exists"


async def test_default_account_moves_and_stays_unique(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    first = await api.bank_account(company)
    second = await api.bank_account(company, bank_code="237")
    assert (first["is_default"], second["is_default"]) == (True, False)
    resp = await client.patch(f"/api/bank-accounts/{second['id']}", headers=company.headers,
                              json={"is_default": True})
    assert resp.json()["is_default"] is True
    listing = (await client.get("/api/bank-accounts", headers=company.headers)).json()
    assert [a["is_default"] for a in listing] == [True, False]
    assert listing[0]["id"] == second["id"]
    resp = await client.patch(f"/api/bank-accounts/{second['id']}", headers=company.headers,
                              json={"is_active": False, "is_default": True})
    assert resp.status_code == 409


async def test_delete_unused_removes_used_deactivates(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    unused = await api.bank_account(company)
    used = await api.bank_account(company, bank_code="104")
    await api.post_tx(company, used["id"], "10.00")
    assert (await client.delete(f"/api/bank-accounts/{unused['id']}",
                                headers=company.headers)).status_code == 204
    assert (await client.get(f"/api/bank-accounts/{unused['id']}",
                             headers=company.headers)).status_code == 404
    assert (await client.delete(f"/api/bank-accounts/{used['id']}",
                                headers=company.headers)).status_code == 204
    kept = (await client.get(f"/api/bank-accounts/{used['id']}", headers=company.headers)).json()
    assert (kept["is_active"], kept["balance"]) == (False, "10.00")
    resp = await client.post("/api/financial-transactions", headers=company.headers, json={
        "bank_account_id": used["id"], "description": "x", "amount": "1.00", "type": "income"})
    assert resp.status_code == 409
    assert resp.json()["code"] == "bank_account_inactive"
    resp = await client.patch(f"/api/bank-accounts/{used['id']}", headers=company.headers,
                              json={"is_active": True})
    assert resp.json()["is_active"] is True


async def test_categories(client: httpx.AsyncClient, company: Any, api: Any) -> None:
    cats = (await client.get("/api/categories", headers=company.headers)).json()
    names = {(c["name"], c["kind"]) for c in cats}
    assert ("Vendas", "income") in names and ("Impostos e taxas", "expense") in names
    resp = await client.post("/api/categories", headers=company.headers,
                             json={"name": "vendas", "kind": "income"})
    assert resp.status_code == 409
    resp = await client.post("/api/categories", headers=company.headers,
                             json={"name": "Consultoria", "kind": "income"})
    assert resp.status_code == 201
    consult = resp.json()
    acc = await api.bank_account(company)
    resp = await client.post("/api/financial-transactions", headers=company.headers, json={
        "bank_account_id": acc["id"], "description": "x", "amount": "1.00", "type": "expense",
        "category_id": consult["id"]})
    assert resp.status_code == 422
    assert resp.json()["code"] == "category_kind_mismatch"
    tx = await api.post_tx(company, acc["id"], "1.00", category_id=consult["id"])
    assert tx["category"] == "Consultoria"
    await client.patch(f"/api/categories/{consult['id']}", headers=company.headers,
                       json={"name": "Consultoria técnica"})
    got = (await client.get(f"/api/financial-transactions/{tx['id']}",
                            headers=company.headers)).json()
    assert got["category"] == "Consultoria técnica"
    assert (await client.delete(f"/api/categories/{consult['id']}",
                                headers=company.headers)).status_code == 204
    assert (await client.get(f"/api/categories/{consult['id']}",
                             headers=company.headers)).json()["is_active"] is False


async def test_plan_limit_on_manual_postings(
    client: httpx.AsyncClient, make_company: Any, api: Any
) -> None:
    small = make_company(max_transactions=3)
    acc = await api.bank_account(small)
    for _ in range(3):
        await api.post_tx(small, acc["id"], "1.00")
    resp = await client.post("/api/financial-transactions", headers=small.headers, json={
        "bank_account_id": acc["id"], "description": "x", "amount": "1.00", "type": "income"})
    assert resp.status_code == 403
    assert resp.json()["code"] == "plan_limit_reached"
    assert (resp.json()["limit"], resp.json()["allowed"], resp.json()["used"]) == (
        "max_transactions", 3, 3)
    assert await api.balance(small, acc["id"]) == "3.00"


async def test_edits_refuse_nulls_and_unknown_fields(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    acc = await api.bank_account(company)
    tx = await api.post_tx(company, acc["id"], "5.00")
    for body in ({"amount": None}, {"description": None}, {"foo": 1}, {"amount": "0.00"}):
        resp = await client.patch(f"/api/financial-transactions/{tx['id']}", json=body,
                                  headers=company.headers)
        assert resp.status_code == 422, body
    resp = await client.patch(f"/api/financial-transactions/{tx['id']}", headers=company.headers,
                              json={"category_id": None, "description": "  Ajustado  "})
    assert resp.status_code == 200
    assert resp.json()["description"] == "Ajustado"
    assert await api.balance(company, acc["id"]) == "5.00"


async def test_moving_the_default_while_transfers_run_does_not_deadlock(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    # Making B the default locks A (the old default) and then B; a transfer between them locks
    # both in id order. Without one lock order, some of these end in a deadlock (500).
    a = await api.bank_account(company, opening_balance="1000.00")
    b = await api.bank_account(company, bank_code="237", opening_balance="1000.00")
    calls = []
    for i in range(12):
        target = (a, b)[i % 2]
        calls.append(client.patch(f"/api/bank-accounts/{target['id']}",
                                  json={"is_default": True}, headers=company.headers))
        src, dst = (a, b) if i % 3 else (b, a)
        calls.append(client.post("/api/transfers", headers=company.headers, json={
            "from_bank_account_id": src["id"], "to_bank_account_id": dst["id"],
            "amount": "1.00"}))
    results = await asyncio.gather(*calls)
    assert [r.status_code for r in results] == [200, 201] * 12, [r.text for r in results
                                                                 if r.status_code >= 400][:2]
    accounts = (await client.get("/api/bank-accounts", headers=company.headers)).json()
    assert sum(acc["is_default"] for acc in accounts) == 1
    assert sum(Decimal(acc["balance"]) for acc in accounts) == Decimal("2000.00")
    assert (await api.drift(company))["ok"] is True
