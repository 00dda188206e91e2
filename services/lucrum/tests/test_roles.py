"""Lucrum's role matrix (lucrum/permissions.py) walked with both company roles over every route
that requires a permission, plus the behaviour that matters: a plain user posts entries but
cannot delete the company's bank accounts."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from avelar_kit.testing.routes import walk_permissions
from lucrum.permissions import PERMISSIONS


def _user_headers(avadmin: Any, tokens: Any, account_id: Any) -> dict[str, str]:
    user = avadmin.add_user(account_id, role="user")
    token = tokens.user_token(user_id=user.id, account_id=account_id, role="user")
    return {"Authorization": f"Bearer {token}"}


async def test_every_permission_is_enforced_for_both_roles(
    app: FastAPI, client: httpx.AsyncClient, company: Any, avadmin: Any, tokens: Any
) -> None:
    rows = await walk_permissions(client, app, {
        "admin": company.headers, "user": _user_headers(avadmin, tokens, company.account_id)})
    assert {perm for perm, *_ in rows} == set(PERMISSIONS.matrix)
    for perm, route, role, status, code in rows:
        denied = role not in PERMISSIONS.roles(perm)
        assert (status == 403 and code == "permission_denied") == denied, (perm, route, role,
                                                                            status, code)


async def test_a_user_posts_entries_but_cannot_delete_a_bank_account(
    client: httpx.AsyncClient, company: Any, api: Any, avadmin: Any, tokens: Any
) -> None:
    acc = await api.bank_account(company)
    headers = _user_headers(avadmin, tokens, company.account_id)
    resp = await client.post("/api/financial-transactions", headers=headers, json={
        "bank_account_id": acc["id"], "description": "Venda balcão", "amount": "10.00",
        "type": "income"})
    assert resp.status_code == 201, resp.text
    resp = await client.delete(f"/api/bank-accounts/{acc['id']}", headers=headers)
    assert resp.status_code == 403
    assert resp.json()["permission"] == "bank_accounts.delete"
    assert await api.balance(company, acc["id"]) == "10.00"
