"""The seed's internal API: service tokens read any id, a user token only its own company."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from avadmin.security.scopes import KNOWN, STOCKTECH_FIELDS
from avelar_kit.auth.signing import SigningKey, base_claims
from avelar_kit.settings import SERVICE_AUDIENCE, TOKEN_ISSUER

from .conftest import CNPJS, CPFS, number_for

# A client registered for every personal field (the seed's shape); see the scope tests below.
EVERY_FIELD = "internal " + " ".join(sorted(KNOWN))


def service_headers(key: SigningKey, scope: str = EVERY_FIELD) -> dict[str, str]:
    claims = base_claims(issuer=TOKEN_ISSUER, audience=SERVICE_AUDIENCE, subject="stocktech",
                         typ="service", ttl=900)
    claims["scope"] = scope
    return {"Authorization": f"Bearer {key.sign(claims)}"}


@pytest.fixture
async def two(signup: Any) -> tuple[Any, Any]:
    a = await signup(cnpj=CNPJS[0], cpf=CPFS[0])
    b = await signup(cnpj=CNPJS[1], cpf=CPFS[1], plan="Lojista")
    return a, b


async def test_service_token_reads_the_seed_fields(client: httpx.AsyncClient, two: Any,
                                                   signing_key: SigningKey) -> None:
    a, _ = two
    h = service_headers(signing_key)
    user = (await client.get(f"/api/users/{a.user_id}", headers=h)).json()
    assert set(user) == {"id", "full_name", "cpf", "whatsapp", "account_id", "role", "is_active",
                         "sessions_valid_after"}
    assert user["cpf"] == CPFS[0]
    assert user["whatsapp"] == number_for(CPFS[0])
    account = (await client.get(f"/api/accounts/{a.account_id}", headers=h)).json()
    assert set(account) == {"id", "company_name", "cnpj", "whatsapp", "enabled_modules",
                            "status", "plan"}
    assert account["plan"]["name"] == "Empresa"
    assert account["plan"]["max_products"] == 500
    assert account["plan"]["max_users"] == 5
    assert account["status"] == "active"
    plan = (await client.get(f"/api/accounts/{a.account_id}/plan", headers=h)).json()
    assert plan == {"id": plan["id"], "name": "Empresa", "max_products": 500, "max_users": 5,
                    "max_transactions": 2000, "features": ["whatsapp", "api_access", "reports"],
                    "status": "active"}


async def test_no_password_hash_anywhere(client: httpx.AsyncClient, two: Any,
                                         signing_key: SigningKey) -> None:
    a, _ = two
    h = service_headers(signing_key)
    for path in (f"/api/users/{a.user_id}", f"/api/accounts/{a.account_id}",
                 f"/api/accounts/{a.account_id}/users", "/api/users/me"):
        resp = await client.get(path, headers=a.headers if "me" in path or "users" in path
                                else h)
        assert resp.status_code == 200, (path, resp.text)
        assert "password" not in resp.text
        assert "$argon2" not in resp.text


async def test_user_token_reads_own_company_only(client: httpx.AsyncClient, two: Any) -> None:
    a, b = two
    own = [f"/api/users/{a.user_id}", f"/api/accounts/{a.account_id}",
           f"/api/accounts/{a.account_id}/plan", f"/api/accounts/{a.account_id}/users"]
    for path in own:
        assert (await client.get(path, headers=a.headers)).status_code == 200, path
    other = [f"/api/users/{b.user_id}", f"/api/accounts/{b.account_id}",
             f"/api/accounts/{b.account_id}/plan", f"/api/accounts/{b.account_id}/users"]
    for path in other:
        resp = await client.get(path, headers=a.headers)
        assert resp.status_code == 404, path
        assert resp.headers["content-type"] == "application/problem+json"
    # Another company's id answers exactly like an id that does not exist.
    ghost = await client.get(f"/api/accounts/{uuid.uuid4()}", headers=a.headers)
    theirs = await client.get(f"/api/accounts/{b.account_id}", headers=a.headers)
    assert ghost.json()["code"] == theirs.json()["code"]


async def test_no_token_is_401(client: httpx.AsyncClient, two: Any) -> None:
    a, _ = two
    for path in (f"/api/users/{a.user_id}", f"/api/accounts/{a.account_id}",
                 f"/api/accounts/{a.account_id}/plan"):
        assert (await client.get(path)).status_code == 401


async def test_unknown_ids_are_404_for_services(client: httpx.AsyncClient,
                                                signing_key: SigningKey, plans: Any) -> None:
    h = service_headers(signing_key)
    for path in (f"/api/users/{uuid.uuid4()}", f"/api/accounts/{uuid.uuid4()}",
                 f"/api/accounts/{uuid.uuid4()}/plan"):
        assert (await client.get(path, headers=h)).status_code == 404


async def test_malformed_id_is_422_naming_the_field(client: httpx.AsyncClient,
                                                   signing_key: SigningKey, plans: Any) -> None:
    resp = await client.get("/api/users/not-a-uuid", headers=service_headers(signing_key))
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "user_id"


async def test_service_token_cannot_act_as_a_user(client: httpx.AsyncClient,
                                                  signing_key: SigningKey, two: Any) -> None:
    a, _ = two
    h = service_headers(signing_key)
    assert (await client.get("/api/users/me", headers=h)).status_code == 403
    resp = await client.post(f"/api/accounts/{a.account_id}/users", headers=h,
                             json={"full_name": "X Y", "cpf": CPFS[4], "whatsapp": "11912345678",
                                   "password": "abc12345"})
    assert resp.status_code == 403


async def test_operator_tokens_and_user_tokens_do_not_mix(client: httpx.AsyncClient,
                                                          two: Any) -> None:
    a, _ = two
    # A company admin is not a platform operator.
    resp = await client.get("/api/operator/accounts", headers=a.headers)
    assert resp.status_code == 401


async def _client_token(client: httpx.AsyncClient, app: Any, client_id: str,
                        fields: tuple[str, ...]) -> dict[str, str]:
    from avadmin.cli import _create_client

    await _create_client(app.state.settings, client_id, client_id, "s" * 32, fields)
    resp = await client.post("/api/auth/service-token",
                             json={"client_id": client_id, "client_secret": "s" * 32})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


async def test_a_service_client_gets_no_personal_field_outside_its_scope(
    client: httpx.AsyncClient, app: Any, two: Any,
) -> None:
    """Issue 15, point 4: StockTech reads the seller company's name and WhatsApp, never a CPF;
    Lucrum nothing personal. A field outside the client's scope comes back null."""
    a, _ = two
    stocktech = await _client_token(client, app, "stocktech-scope", STOCKTECH_FIELDS)
    lucrum = await _client_token(client, app, "lucrum-scope", ())

    account = (await client.get(f"/api/accounts/{a.account_id}", headers=stocktech)).json()
    assert account["company_name"] == "Empresa Teste LTDA"
    assert account["whatsapp"] == number_for(CPFS[0])
    assert account["cnpj"] is None
    assert account["status"] == "active" and account["plan"]["name"] == "Empresa"
    user = (await client.get(f"/api/users/{a.user_id}", headers=stocktech)).json()
    assert user["cpf"] is None and user["whatsapp"] is None and user["full_name"] is None
    assert user["is_active"] is True and user["role"] == "admin"
    users = (await client.get(f"/api/accounts/{a.account_id}/users", headers=stocktech)).json()
    assert users and all(u["cpf"] is None and u["whatsapp"] is None for u in users)

    for path in (f"/api/accounts/{a.account_id}", f"/api/users/{a.user_id}"):
        body = (await client.get(path, headers=lucrum)).json()
        assert body.get("cpf") is None and body.get("whatsapp") is None
        assert body.get("cnpj") is None and body.get("company_name") is None
        assert body.get("full_name") is None
    # The answers hold none of the planted values anywhere.
    for headers in (stocktech, lucrum):
        text = (await client.get(f"/api/users/{a.user_id}", headers=headers)).text
        assert CPFS[0] not in text and number_for(CPFS[0]) not in text
    # The company's own users still read their company whole.
    own = (await client.get(f"/api/users/{a.user_id}", headers=a.headers)).json()
    assert own["cpf"] == CPFS[0]


async def test_unknown_fields_are_refused_by_the_cli(app: Any, capsys: Any) -> None:
    import argparse

    from avadmin.cli import _cmd_create_service_client

    args = argparse.Namespace(client_id="x", name=None, secret_stdin=False,
                              fields="account.whatsapp,user.password_hash")
    assert _cmd_create_service_client(app.state.settings, args) == 2
    assert "user.password_hash" in capsys.readouterr().err
