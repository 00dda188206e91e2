"""StockTech's role matrix (stocktech/permissions.py) walked with both company roles over every
route that requires a permission, plus the behaviour that matters: a plain user cannot take a
product off the marketplace, an admin can."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from avelar_kit.testing.routes import walk_permissions
from stocktech.permissions import PERMISSIONS


async def test_every_permission_is_enforced_for_both_roles(
    app: FastAPI, client: httpx.AsyncClient, company: Any, fake_avadmin: Any, tokens: Any
) -> None:
    admin = company()
    user = fake_avadmin.add_user(admin.account_id, role="user")
    user_token = tokens.user_token(user_id=user.id, account_id=admin.account_id, role="user")
    rows = await walk_permissions(client, app, {
        "admin": admin.headers, "user": {"Authorization": f"Bearer {user_token}"}})
    assert {perm for perm, *_ in rows} == set(PERMISSIONS.matrix)
    for perm, route, role, status, code in rows:
        denied = role not in PERMISSIONS.roles(perm)
        assert (status == 403 and code == "permission_denied") == denied, (perm, route, role,
                                                                            status, code)


async def test_a_user_sells_but_only_an_admin_takes_a_product_off(
    client: httpx.AsyncClient, company: Any, create_product: Any, fake_avadmin: Any,
    tokens: Any,
) -> None:
    admin = company()
    user = fake_avadmin.add_user(admin.account_id, role="user")
    headers = {"Authorization": "Bearer " + tokens.user_token(
        user_id=user.id, account_id=admin.account_id, role="user")}
    product = await create_product(admin)
    resp = await client.patch(f"/api/products/{product['id']}", json={"stock_quantity": 7},
                              headers=headers)
    assert resp.status_code == 200, resp.text
    resp = await client.delete(f"/api/products/{product['id']}", headers=headers)
    assert resp.status_code == 403
    assert resp.json()["code"] == "permission_denied"
    assert resp.json()["permission"] == "products.delete"
    resp = await client.delete(f"/api/products/{product['id']}", headers=admin.headers)
    assert resp.status_code == 204
