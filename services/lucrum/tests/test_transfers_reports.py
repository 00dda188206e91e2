"""Transfers move money atomically and are never income or expense; report totals equal the
ledger."""

from __future__ import annotations

import asyncio
import csv
import io
from decimal import Decimal
from typing import Any

import httpx


async def _all_transactions(client: httpx.AsyncClient, company: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        resp = await client.get("/api/financial-transactions", headers=company.headers,
                                params={"page": page, "page_size": 200})
        assert resp.status_code == 200
        body = resp.json()
        items.extend(body["items"])
        if len(items) >= body["total"]:
            return items
        page += 1


async def test_transfer_moves_both_balances_and_is_undone_atomically(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    a = await api.bank_account(company, opening_balance="100.00")
    b = await api.bank_account(company, bank_code="260", opening_balance="0.00")
    resp = await client.post("/api/transfers", headers=company.headers, json={
        "from_bank_account_id": a["id"], "to_bank_account_id": b["id"], "amount": "150.00",
        "transfer_date": "2025-03-10"})
    assert resp.status_code == 201, resp.text
    transfer = resp.json()
    assert transfer["outgoing"]["code"] != transfer["incoming"]["code"]
    # An overdraft is allowed: a checking account may go negative.
    assert await api.balance(company, a["id"]) == "-50.00"
    assert await api.balance(company, b["id"]) == "150.00"

    leg = transfer["outgoing"]["id"]
    resp = await client.patch(f"/api/financial-transactions/{leg}", headers=company.headers,
                              json={"amount": "1.00"})
    assert resp.status_code == 409
    assert resp.json()["code"] == "transfer_leg"
    resp = await client.delete(f"/api/financial-transactions/{leg}", headers=company.headers)
    assert resp.status_code == 409

    resp = await client.delete(f"/api/transfers/{transfer['id']}", headers=company.headers)
    assert resp.status_code == 204
    assert await api.balance(company, a["id"]) == "100.00"
    assert await api.balance(company, b["id"]) == "0.00"
    assert await _all_transactions(client, company) == []
    assert (await api.drift(company))["ok"] is True


async def test_transfer_validation(client: httpx.AsyncClient, company: Any, api: Any) -> None:
    a = await api.bank_account(company)
    resp = await client.post("/api/transfers", headers=company.headers, json={
        "from_bank_account_id": a["id"], "to_bank_account_id": a["id"], "amount": "1.00"})
    assert resp.status_code == 422
    b = await api.bank_account(company, bank_code="001")
    await client.delete(f"/api/bank-accounts/{b['id']}", headers=company.headers)  # unused: gone
    resp = await client.post("/api/transfers", headers=company.headers, json={
        "from_bank_account_id": a["id"], "to_bank_account_id": b["id"], "amount": "1.00"})
    assert resp.status_code == 404
    assert await api.balance(company, a["id"]) == "0.00"


async def test_concurrent_opposite_transfers_do_not_deadlock_and_stay_exact(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    a = await api.bank_account(company, opening_balance="1000.00")
    b = await api.bank_account(company, bank_code="104", opening_balance="1000.00")
    calls = []
    for i in range(40):
        src, dst = (a, b) if i % 2 else (b, a)
        calls.append(client.post("/api/transfers", headers=company.headers, json={
            "from_bank_account_id": src["id"], "to_bank_account_id": dst["id"],
            "amount": f"{i + 1}.00"}))
    results = await asyncio.gather(*calls)
    assert [r.status_code for r in results] == [201] * 40
    # odd i: a -> b, even i: b -> a
    moved = sum(Decimal(i + 1) if i % 2 else -Decimal(i + 1) for i in range(40))
    assert Decimal(await api.balance(company, a["id"])) == Decimal("1000.00") - moved
    assert Decimal(await api.balance(company, b["id"])) == Decimal("1000.00") + moved
    assert (await api.drift(company))["ok"] is True


async def _books(client: httpx.AsyncClient, company: Any, api: Any) -> tuple[Any, Any]:
    a = await api.bank_account(company, opening_balance="500.00")
    b = await api.bank_account(company, bank_code="033", opening_balance="0.00")
    cats = (await client.get("/api/categories", headers=company.headers)).json()
    by_name = {c["name"]: c["id"] for c in cats}
    entries = [
        (a, "3000.00", "income", "2025-01-05", "Vendas"),
        (a, "1200.00", "expense", "2025-01-10", "Aluguel e condomínio"),
        (b, "450.25", "income", "2025-01-28", "Prestação de serviços"),
        (a, "89.90", "expense", "2025-02-03", "Tarifas bancárias"),
        (b, "2500.00", "income", "2025-03-15", "Vendas"),
        (b, "310.40", "expense", "2025-03-20", None),
        (a, "99.99", "income", "2024-12-31", "Vendas"),  # outside the period
    ]
    for acc, amount, kind, when, cat in entries:
        extra = {"transaction_date": when}
        if cat:
            extra["category_id"] = by_name[cat]
        await api.post_tx(company, acc["id"], amount, kind, **extra)
    for amount, when in (("700.00", "2025-01-15"), ("250.00", "2025-03-01")):
        resp = await client.post("/api/transfers", headers=company.headers, json={
            "from_bank_account_id": a["id"], "to_bank_account_id": b["id"], "amount": amount,
            "transfer_date": when})
        assert resp.status_code == 201
    return a, b


async def test_cash_flow_excludes_transfers_and_totals_equal_the_ledger(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    await _books(client, company, api)
    ledger = [t for t in await _all_transactions(client, company)
              if "2025-01-01" <= t["transaction_date"] <= "2025-03-31"]
    assert any(t["type"].startswith("transfer") for t in ledger)
    income = sum((Decimal(t["amount"]) for t in ledger if t["type"] == "income"), Decimal(0))
    expense = sum((Decimal(t["amount"]) for t in ledger if t["type"] == "expense"), Decimal(0))
    assert (income, expense) == (Decimal("5950.25"), Decimal("1600.30"))

    resp = await client.get("/api/reports/cash-flow", headers=company.headers,
                            params={"from": "2025-01-01", "to": "2025-03-31"})
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["from"] == "2025-01-01"
    assert report["totals"] == {"income": "5950.25", "expense": "1600.30", "net": "4349.95"}
    assert [(r["period"], r["income"], r["expense"], r["net"]) for r in report["rows"]] == [
        ("2025-01", "3450.25", "1200.00", "2250.25"),
        ("2025-02", "0.00", "89.90", "-89.90"),
        ("2025-03", "2500.00", "310.40", "2189.60"),
    ]
    assert sum(Decimal(r["income"]) for r in report["rows"]) == income
    assert sum(Decimal(r["expense"]) for r in report["rows"]) == expense

    resp = await client.get("/api/reports/cash-flow", headers=company.headers, params={
        "from": "2025-01-01", "to": "2025-03-31", "group_by": "category"})
    by_cat = resp.json()
    assert by_cat["totals"] == report["totals"]
    rows = {r["category"]: (r["income"], r["expense"]) for r in by_cat["rows"]}
    assert rows == {
        "Vendas": ("5500.00", "0.00"),
        "Aluguel e condomínio": ("0.00", "1200.00"),
        "Prestação de serviços": ("450.25", "0.00"),
        "Tarifas bancárias": ("0.00", "89.90"),
        None: ("0.00", "310.40"),
    }

    resp = await client.get("/api/reports/cash-flow", headers=company.headers,
                            params={"from": "2025-03-31", "to": "2025-01-01"})
    assert resp.status_code == 422


async def test_balances_at_a_date_and_csv_export(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    a, b = await _books(client, company, api)
    resp = await client.get("/api/reports/balances", headers=company.headers,
                            params={"date": "2025-01-31"})
    assert resp.status_code == 200
    balances = {r["bank_account_id"]: r["balance"] for r in resp.json()["accounts"]}
    # a: 500 + 99.99 + 3000 - 1200 - 700 ; b: 0 + 450.25 + 700
    assert balances == {a["id"]: "1699.99", b["id"]: "1150.25"}
    assert resp.json()["total"] == "2850.24"
    today = (await client.get("/api/reports/balances", headers=company.headers)).json()
    current = {r["bank_account_id"]: r["balance"] for r in today["accounts"]}
    assert current == {a["id"]: await api.balance(company, a["id"]),
                       b["id"]: await api.balance(company, b["id"])}

    resp = await client.get("/api/reports/transactions.csv", headers=company.headers,
                            params={"from": "2025-01-01", "to": "2025-03-31"})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert resp.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Código", "Data", "Descrição", "Tipo", "Categoria", "Conta", "Valor"]
    assert len(rows) == 1 + 6 + 4
    assert rows[1][1] == "05/01/2025" and rows[1][6] == "3000,00"
    total = sum(Decimal(r[6].replace(",", ".")) for r in rows[1:])
    # Transfers net to zero, so the signed column sums to income - expense.
    assert total == Decimal("4349.95")
    assert any(r[3] == "Transferência enviada" for r in rows[1:])


async def test_csv_export_neutralises_formulas(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    acc = await api.bank_account(company)
    await api.post_tx(company, acc["id"], "1.00", description='=HYPERLINK("http://x","y")')
    resp = await client.get("/api/reports/transactions.csv", headers=company.headers)
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[1][2].startswith("'=")


async def test_list_filters_and_pagination(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    _, b = await _books(client, company, api)

    async def count(**params: Any) -> int:
        resp = await client.get("/api/financial-transactions", headers=company.headers,
                                params=params)
        assert resp.status_code == 200, resp.text
        total: int = resp.json()["total"]
        return total

    assert await count() == 11
    assert await count(type="income") == 4
    assert await count(bank_account_id=b["id"]) == 5
    assert await count(**{"from": "2025-02-01", "to": "2025-02-28"}) == 1
    assert await count(q="transferência") == 4
    assert await count(q="100%") == 0
    page = (await client.get("/api/financial-transactions", headers=company.headers,
                             params={"page": 2, "page_size": 4})).json()
    assert len(page["items"]) == 4 and page["page"] == 2
    resp = await client.get("/api/financial-transactions", headers=company.headers,
                            params={"from": "2025-03-01", "to": "2025-01-01"})
    assert resp.status_code == 422


async def test_reports_at_the_edges_of_the_calendar(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    acc = await api.bank_account(company)
    await api.post_tx(company, acc["id"], "10.00", transaction_date="2025-01-15")
    for start, end, months in (("9999-11-01", "9999-12-31", ["9999-11", "9999-12"]),
                               ("0001-01-01", "0001-02-28", ["0001-01", "0001-02"])):
        resp = await client.get("/api/reports/cash-flow", headers=company.headers,
                                params={"from": start, "to": end})
        assert resp.status_code == 200, resp.text
        assert [r["period"] for r in resp.json()["rows"]] == months
        assert resp.json()["totals"]["income"] == "0.00"
    for day in ("0001-01-01", "9999-12-31"):
        resp = await client.get("/api/reports/balances", headers=company.headers,
                                params={"date": day})
        assert resp.status_code == 200, resp.text


async def test_report_totals_beyond_one_columns_range_are_answered(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    # Each value fits NUMERIC(15,2); their sums do not, and must still be reported, not 500.
    big = "9000000000000.00"
    a = await api.bank_account(company, opening_balance=big)
    b = await api.bank_account(company, opening_balance=big, bank_code="237")
    for acc in (a, b):
        await api.post_tx(company, acc["id"], big, "expense", transaction_date="2025-01-10")
        await api.post_tx(company, acc["id"], big, "expense", transaction_date="2025-01-11")
    resp = await client.get("/api/reports/balances", headers=company.headers,
                            params={"date": "2024-12-31"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["total"] == "18000000000000.00"
    for group_by in ("month", "category"):
        resp = await client.get("/api/reports/cash-flow", headers=company.headers, params={
            "from": "2025-01-01", "to": "2025-01-31", "group_by": group_by})
        assert resp.status_code == 200, resp.text
        assert resp.json()["totals"] == {"income": "0.00", "expense": "36000000000000.00",
                                         "net": "-36000000000000.00"}
    drift = await api.drift(company)
    assert drift["ok"] is True
    assert {r["ledger_sum"] for r in drift["accounts"]} == {"-18000000000000.00"}
    resp = await client.get(f"/api/bank-accounts/{a['id']}/reconcile", headers=company.headers)
    assert resp.status_code == 200, resp.text
    assert (resp.json()["ledger_sum"], resp.json()["drift"]) == ("-18000000000000.00", "0.00")
