"""The balance is never wrong: concurrent postings, edits and deletes, with zero drift."""

from __future__ import annotations

import asyncio
import random
import time
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from avelar_kit.db.tenancy import act_as_system
from lucrum.bank_accounts.repository import BankAccountRepository


def signed(tx: dict[str, Any]) -> Decimal:
    amount = Decimal(tx["amount"])
    return amount if tx["type"] in ("income", "transfer_in") else -amount


async def test_concurrent_postings_edits_and_deletes_keep_the_balance_exact(
    app: FastAPI, client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    rng = random.Random(2024)
    acc = await api.bank_account(company, opening_balance="1000.00")
    bodies = [
        {"bank_account_id": acc["id"], "description": f"Lançamento {i}",
         "amount": f"{rng.randrange(1, 100_000) / 100:.2f}",
         "type": rng.choice(["income", "expense"])}
        for i in range(100)
    ]
    started = time.perf_counter()
    responses = await asyncio.gather(*[
        client.post("/api/financial-transactions", json=b, headers=company.headers)
        for b in bodies
    ])
    elapsed = time.perf_counter() - started
    assert [r.status_code for r in responses] == [201] * 100
    txs = [r.json() for r in responses]
    expected = Decimal("1000.00") + sum((signed(t) for t in txs), Decimal(0))
    assert Decimal(await api.balance(company, acc["id"])) == expected
    print(f"\n100 concurrent postings to one account: {elapsed:.2f}s "
          f"({100 / elapsed:.0f} postings/s)")

    # Then, all at the same time: 30 edits (new amount and sometimes the other direction),
    # 30 deletes, and 40 more postings.
    edited, deleted, kept = txs[:30], txs[30:60], txs[60:]
    new_values = [(f"{rng.randrange(1, 100_000) / 100:.2f}", rng.choice(["income", "expense"]))
                  for _ in edited]
    more = [{"bank_account_id": acc["id"], "description": f"Mais {i}",
             "amount": f"{rng.randrange(1, 100_000) / 100:.2f}", "type": "expense"}
            for i in range(40)]
    calls = (
        [client.patch(f"/api/financial-transactions/{t['id']}", headers=company.headers,
                      json={"amount": amount, "type": kind})
         for t, (amount, kind) in zip(edited, new_values, strict=True)]
        + [client.delete(f"/api/financial-transactions/{t['id']}", headers=company.headers)
           for t in deleted]
        + [client.post("/api/financial-transactions", json=b, headers=company.headers)
           for b in more]
    )
    results = await asyncio.gather(*calls)
    assert [r.status_code for r in results[:30]] == [200] * 30
    assert [r.status_code for r in results[30:60]] == [204] * 30
    assert [r.status_code for r in results[60:]] == [201] * 40
    after = (
        [r.json() for r in results[:30]] + kept + [r.json() for r in results[60:]]
    )
    expected = Decimal("1000.00") + sum((signed(t) for t in after), Decimal(0))
    assert Decimal(await api.balance(company, acc["id"])) == expected

    drift = await api.drift(company)
    assert drift["ok"] is True
    assert [a["drift"] for a in drift["accounts"]] == ["0.00"]
    resp = await client.get(f"/api/bank-accounts/{acc['id']}/reconcile", headers=company.headers)
    assert resp.json()["drift"] == "0.00"
    assert Decimal(resp.json()["computed_balance"]) == expected


async def test_concurrent_edits_of_the_same_entry_apply_each_difference_once(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    acc = await api.bank_account(company)
    tx = await api.post_tx(company, acc["id"], "100.00")
    amounts = [f"{a}.00" for a in range(1, 21)]
    results = await asyncio.gather(*[
        client.patch(f"/api/financial-transactions/{tx['id']}", json={"amount": a},
                     headers=company.headers) for a in amounts
    ])
    assert all(r.status_code == 200 for r in results)
    final = (await client.get(f"/api/financial-transactions/{tx['id']}",
                              headers=company.headers)).json()
    assert await api.balance(company, acc["id"]) == final["amount"]
    assert (await api.drift(company))["ok"] is True


async def test_concurrent_double_delete_reverses_once(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    acc = await api.bank_account(company, opening_balance="50.00")
    tx = await api.post_tx(company, acc["id"], "20.00", "expense")
    results = await asyncio.gather(*[
        client.delete(f"/api/financial-transactions/{tx['id']}", headers=company.headers)
        for _ in range(5)
    ])
    assert sorted(r.status_code for r in results) == [204, 404, 404, 404, 404]
    assert await api.balance(company, acc["id"]) == "50.00"


async def test_moving_an_entry_between_accounts_moves_its_effect(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    a = await api.bank_account(company, opening_balance="10.00")
    b = await api.bank_account(company, opening_balance="20.00", bank_code="237")
    tx = await api.post_tx(company, a["id"], "5.00", "expense")
    assert await api.balance(company, a["id"]) == "5.00"
    resp = await client.patch(f"/api/financial-transactions/{tx['id']}", headers=company.headers,
                              json={"bank_account_id": b["id"], "type": "income",
                                    "amount": "7.50"})
    assert resp.status_code == 200, resp.text
    assert await api.balance(company, a["id"]) == "10.00"
    assert await api.balance(company, b["id"]) == "27.50"
    assert (await api.drift(company))["ok"] is True


async def test_overdraft_is_allowed_and_opening_balance_edit_shifts_the_balance(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    acc = await api.bank_account(company, opening_balance="100.00")
    await api.post_tx(company, acc["id"], "150.00", "expense")
    assert await api.balance(company, acc["id"]) == "-50.00"
    resp = await client.patch(f"/api/bank-accounts/{acc['id']}", headers=company.headers,
                              json={"opening_balance": "400.00"})
    assert resp.status_code == 200
    assert resp.json()["balance"] == "250.00"
    assert (await api.drift(company))["ok"] is True


async def test_drift_check_reports_a_balance_changed_behind_the_ledger(
    app: FastAPI, client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    """The check must be able to fail: a balance edited directly in the database shows up."""
    acc = await api.bank_account(company)
    await api.post_tx(company, acc["id"], "10.00")
    async with app.state.db.engine.begin() as conn:
        await conn.execute(text("SELECT set_config('avelar.system', 'on', true)"))
        await conn.execute(text("UPDATE bank_accounts SET balance = balance + 0.01 "
                                "WHERE id = :id"), {"id": acc["id"]})
    drift = await api.drift(company)
    assert drift["ok"] is False
    assert drift["accounts"][0]["drift"] == "0.01"
    async with app.state.db.sessionmaker() as session:
        await act_as_system(session)  # the test looks at every company's rows
        found = await BankAccountRepository(session).all_drift()
    assert [(str(r[1]), r[2] - r[3]) for r in found] == [(acc["id"], Decimal("0.01"))]


async def test_bad_amounts_are_refused_without_writing(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    acc = await api.bank_account(company)
    for amount in ("0", "-5.00", "1.005", 1.5, "1e3", "10000000000000.00", "abc"):
        resp = await client.post("/api/financial-transactions", headers=company.headers, json={
            "bank_account_id": acc["id"], "description": "x", "amount": amount,
            "type": "income"})
        assert resp.status_code == 422, (amount, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
    resp = await client.post("/api/financial-transactions", headers=company.headers, json={
        "bank_account_id": acc["id"], "description": "x", "amount": "1.00",
        "type": "transfer_in"})
    assert resp.status_code == 422
    assert await api.balance(company, acc["id"]) == "0.00"
    listing = await client.get("/api/financial-transactions", headers=company.headers)
    assert listing.json()["total"] == 0


async def test_balance_overflow_is_a_clear_4xx_and_nothing_is_written(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    acc = await api.bank_account(company, opening_balance="9999999999999.00")
    resp = await client.post("/api/financial-transactions", headers=company.headers, json={
        "bank_account_id": acc["id"], "description": "x", "amount": "5.00", "type": "income"})
    assert resp.status_code == 422
    assert await api.balance(company, acc["id"]) == "9999999999999.00"
    assert (await client.get("/api/financial-transactions",
                             headers=company.headers)).json()["total"] == 0


async def test_implausible_dates_and_control_characters_name_the_field(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    acc = await api.bank_account(company)
    other = await api.bank_account(company, bank_code="237")
    tx = await api.post_tx(company, acc["id"], "3.00", transaction_date="2099-12-31")
    base = {"bank_account_id": acc["id"], "description": "x", "amount": "1.00", "type": "income"}
    bad: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", "/api/financial-transactions", base | {"transaction_date": "0001-01-01"},
         "transaction_date"),
        ("POST", "/api/financial-transactions", base | {"transaction_date": "9999-12-31"},
         "transaction_date"),
        ("POST", "/api/financial-transactions", base | {"description": "caf\u0000e"},
         "description"),
        ("PATCH", f"/api/financial-transactions/{tx['id']}", {"transaction_date": "1899-12-31"},
         "transaction_date"),
        ("POST", "/api/transfers", {"from_bank_account_id": acc["id"], "amount": "1.00",
                                    "to_bank_account_id": other["id"],
                                    "transfer_date": "2100-01-01"}, "transfer_date"),
        ("PATCH", f"/api/bank-accounts/{acc['id']}", {"name": "Conta\u0000"}, "name"),
        ("POST", "/api/categories", {"name": "Ca\u0007fé", "kind": "income"}, "name"),
    ]
    for method, path, body, field in bad:
        resp = await client.request(method, path, json=body, headers=company.headers)
        assert resp.status_code == 422, (path, body, resp.text)
        assert resp.json()["code"] == "validation_error", resp.text
        assert [e["field"] for e in resp.json()["errors"]] == [field]
    assert await api.balance(company, acc["id"]) == "3.00"
    assert await api.balance(company, other["id"]) == "0.00"


async def test_postings_are_counted_in_metrics(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    from avelar_kit.testing.metrics import scrape, value

    acc = await api.bank_account(company, opening_balance="10.00")
    before = await scrape(client)
    for kind in ("income", "income", "expense"):
        resp = await client.post("/api/financial-transactions", headers=company.headers,
                                 json={"bank_account_id": acc["id"], "description": "Venda",
                                       "amount": "1.00", "type": kind})
        assert resp.status_code == 201, resp.text
    after = await scrape(client)

    def moved(**labels: str) -> float:
        name = "avelar_ledger_postings_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved(source="manual", type="income") == 2
    assert moved(source="manual", type="expense") == 1
