"""Issue 11 point 6: the plan's `features` gate Lucrum's reports, answered like a plan limit."""

from __future__ import annotations

from typing import Any

import httpx


async def test_reports_need_the_reports_feature_with_a_problem_naming_it(
    client: httpx.AsyncClient, make_company: Any, api: Any,
) -> None:
    without = make_company(plan_name="Financeiro Básico", features=("whatsapp",))
    await api.bank_account(without)
    params = {"from": "2026-01-01", "to": "2026-01-31"}
    for path, query in (("/api/reports/cash-flow", params), ("/api/reports/balances", {}),
                        ("/api/reports/transactions.csv", {})):
        resp = await client.get(path, params=query, headers=without.headers)
        assert resp.status_code == 403, (path, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        body = resp.json()
        assert body["code"] == "plan_feature_required"
        assert body["feature"] == "reports" and body["plan"] == "Financeiro Básico"
        assert "reports" in body["detail"] and "Financeiro Básico" in body["detail"]
    # The balance check is not a report: it stays open.
    assert (await client.get("/api/reports/drift", headers=without.headers)).status_code == 200

    with_reports = make_company(features=("reports",))
    resp = await client.get("/api/reports/cash-flow", params=params,
                            headers=with_reports.headers)
    assert resp.status_code == 200, resp.text
