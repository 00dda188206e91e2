"""The caller is resolved once per request (issue 8, point 1): one reader call per route in
Lucrum, the plan's monthly limit read from the caller, not asked again."""

from __future__ import annotations

from typing import Any

import httpx


async def test_one_reader_call_per_request(
    client: httpx.AsyncClient, company: Any, api: Any, avadmin: Any
) -> None:
    acc = await api.bank_account(company)
    mark = len(avadmin.calls)
    resp = await client.get("/api/bank-accounts", headers=company.headers)
    assert resp.status_code == 200
    assert avadmin.calls[mark:] == [("standing", company.user_id)]

    mark = len(avadmin.calls)
    resp = await client.post("/api/financial-transactions", headers=company.headers, json={
        "bank_account_id": acc["id"], "description": "Venda", "amount": "10.00",
        "type": "income"})
    assert resp.status_code == 201, resp.text
    assert avadmin.calls[mark:] == [("standing", company.user_id)]

    mark = len(avadmin.calls)
    resp = await client.get("/api/reports/cash-flow", headers=company.headers,
                            params={"from": "2026-01-01", "to": "2026-12-31"})
    assert resp.status_code == 200, resp.text
    assert avadmin.calls[mark:] == [("standing", company.user_id)]
