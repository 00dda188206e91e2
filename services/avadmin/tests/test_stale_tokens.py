"""AvAdmin checks every user token against its own tables: a still-valid token does not outlive
a deactivation, a suspension or a demotion on AvAdmin's endpoints."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import CPFS
from .test_users import new_user


async def _login(client: httpx.AsyncClient, cpf: str, password: str) -> dict[str, str]:
    resp = await client.post("/api/auth/login", json={"cpf": cpf, "password": password})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


async def test_deactivated_user_token_stops_working_at_once(client: httpx.AsyncClient,
                                                            signup: Any) -> None:
    a = await signup()
    u = (await client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers,
                           json=new_user(CPFS[1]))).json()
    h = await _login(client, CPFS[1], "vendas2024x")
    assert (await client.get("/api/users/me", headers=h)).status_code == 200
    assert (await client.post(f"/api/users/{u['id']}/deactivate",
                              headers=a.headers)).status_code == 200
    resp = await client.get("/api/users/me", headers=h)
    assert resp.status_code == 401
    assert resp.json()["code"] == "invalid_token"


async def test_demoted_admin_cannot_promote_itself_back(client: httpx.AsyncClient,
                                                        signup: Any) -> None:
    a = await signup()
    b = (await client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers,
                           json=new_user(CPFS[1], role="admin"))).json()
    hb = await _login(client, CPFS[1], "vendas2024x")
    demote = await client.patch(f"/api/users/{a.user_id}", headers=hb, json={"role": "user"})
    assert demote.status_code == 200, demote.text
    # A's token still says admin, and is still within its 15 minutes.
    back = await client.patch(f"/api/users/{a.user_id}", headers=a.headers,
                              json={"role": "admin"})
    assert back.status_code == 401
    assert back.json()["code"] == "token_stale"
    off = await client.post(f"/api/users/{b['id']}/deactivate", headers=a.headers)
    assert off.status_code == 401
    # A fresh token carries the current role, and a plain user cannot change roles.
    ha = await _login(client, CPFS[0], a.password)
    again = await client.patch(f"/api/users/{a.user_id}", headers=ha, json={"role": "admin"})
    assert again.status_code == 403


async def test_suspended_company_token_is_refused(client: httpx.AsyncClient, signup: Any,
                                                  operator: dict[str, str]) -> None:
    a = await signup()
    assert (await client.post(f"/api/operator/accounts/{a.account_id}/suspend",
                              headers=operator)).status_code == 200
    resp = await client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers,
                             json=new_user(CPFS[1]))
    assert resp.status_code == 403
    assert resp.json()["code"] == "account_suspended"
    assert (await client.post(f"/api/operator/accounts/{a.account_id}/reactivate",
                              headers=operator)).status_code == 200
    assert (await client.get("/api/accounts/me", headers=a.headers)).status_code == 200
