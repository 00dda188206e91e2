"""Lucrum's part of the LGPD export (issue 15; docs/privacy.md)."""

from __future__ import annotations

from typing import Any

import httpx


async def test_the_person_s_entries_for_services_only(
    client: httpx.AsyncClient, company: Any, api: Any, tokens: Any, app: Any,
) -> None:
    # Service tokens verified as in production (the suite's verifier knows user tokens only).
    # Put back by hand: monkeypatch's undo on Starlette's State left the app with no verifier
    # and every later test of the session failed.
    suite_verifier = app.state.verifier
    app.state.verifier = tokens.verifier(service_audience="avadmin-internal")
    try:
        await _services_only(client, company, api, tokens)
    finally:
        app.state.verifier = suite_verifier


async def _services_only(client: httpx.AsyncClient, company: Any, api: Any,
                         tokens: Any) -> None:
    bank = await api.bank_account(company)
    entry = await api.post_tx(company, bank["id"], "150.00", description="Aluguel de março")
    service = {"Authorization": f"Bearer {tokens.service_token('avadmin')}"}
    path = f"/api/internal/privacy/users/{company.user_id}"
    resp = await client.get(path, headers=service)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["module"] == "Lucrum"
    [mine] = body["data"]["entries_created"]
    assert (mine["id"], mine["description"], mine["amount"]) == (
        entry["id"], "Aluguel de março", "150.00")
    assert body["data"]["cached_profile"] is None  # the tests' fake AvAdmin has no cache
    refused = await client.get(path, headers=company.headers)
    assert refused.status_code == 403
    assert (await client.get(path)).status_code == 401
