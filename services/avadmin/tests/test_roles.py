"""AvAdmin's role matrix (avadmin/permissions.py) walked with both company roles over every
route that requires a permission: the same vocabulary and the same 403 as StockTech and Lucrum."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from avadmin.permissions import PERMISSIONS
from avelar_kit.testing.routes import walk_permissions


async def test_every_permission_is_enforced_for_both_roles(
    app: FastAPI, client: httpx.AsyncClient, signup: Any
) -> None:
    a = await signup(plan="Corporativo")
    resp = await client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers, json={
        "full_name": "Vendedora", "cpf": "11144477735", "whatsapp": "+5511988887777",
        "password": "vendas2024x", "role": "user"})
    assert resp.status_code == 201, resp.text
    login = await client.post("/api/auth/login",
                              json={"cpf": "11144477735", "password": "vendas2024x"})
    user_headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    rows = await walk_permissions(client, app, {"admin": a.headers, "user": user_headers})
    # users.list and users.update are checked by UserService (test_users.py walks them).
    assert {perm for perm, *_ in rows} == set(PERMISSIONS.matrix) - {"users.list",
                                                                      "users.update"}
    for perm, route, role, status, code in rows:
        denied = role not in PERMISSIONS.roles(perm)
        assert (status == 403 and code == "permission_denied") == denied, (perm, route, role,
                                                                            status, code)
