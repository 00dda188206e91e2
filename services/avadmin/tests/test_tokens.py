"""Every forged or misused token is refused by the shared verifier (401, problem+json)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from avelar_kit.auth.signing import SigningKey, base_claims
from avelar_kit.settings import SERVICE_AUDIENCE, TOKEN_ISSUER, USER_AUDIENCE


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(company: Any, **over: Any) -> dict[str, Any]:
    claims = base_claims(issuer=TOKEN_ISSUER, audience=USER_AUDIENCE,
                         subject=str(company.user_id), typ="access", ttl=900)
    claims.update({"user_id": str(company.user_id), "account_id": str(company.account_id),
                   "role": "admin", "enabled_modules": ["StockTech", "Lucrum"]})
    claims.update(over)
    return claims


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})


async def test_genuine_token_is_accepted(client: httpx.AsyncClient, signup: Any,
                                         signing_key: SigningKey) -> None:
    company = await signup()
    assert (await _me(client, signing_key.sign(_claims(company)))).status_code == 200


async def test_alg_none_is_refused(client: httpx.AsyncClient, signup: Any,
                                   signing_key: SigningKey) -> None:
    company = await signup()
    token = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': signing_key.kid})}." \
            f"{_b64(_claims(company))}."
    resp = await _me(client, token)
    assert resp.status_code == 401
    assert resp.json()["code"] == "invalid_token"
    assert resp.headers["www-authenticate"] == "Bearer"


async def test_token_signed_by_another_key_is_refused(client: httpx.AsyncClient,
                                                      signup: Any,
                                                      signing_key: SigningKey) -> None:
    company = await signup()
    attacker = SigningKey.generate()
    # Same kid as the real key, so only the signature check can catch it.
    forged = jwt.encode(_claims(company), attacker.private_key, algorithm="EdDSA",
                        headers={"kid": signing_key.kid})
    assert (await _me(client, forged)).status_code == 401
    unknown_kid = attacker.sign(_claims(company))
    assert (await _me(client, unknown_kid)).status_code == 401


async def test_hs256_made_with_the_public_key_is_refused(client: httpx.AsyncClient,
                                                        signup: Any,
                                                        signing_key: SigningKey) -> None:
    company = await signup()
    public_pem = signing_key.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    raw_x = signing_key.public_jwk()["x"].encode()
    header = {"alg": "HS256", "typ": "JWT", "kid": signing_key.kid}
    import hashlib
    import hmac

    for secret in (public_pem, raw_x):
        signing_input = f"{_b64(header)}.{_b64(_claims(company))}".encode()
        sig = base64.urlsafe_b64encode(
            hmac.new(secret, signing_input, hashlib.sha256).digest()).rstrip(b"=").decode()
        resp = await _me(client, f"{signing_input.decode()}.{sig}")
        assert resp.status_code == 401


async def test_expired_token_is_refused_with_its_own_code(client: httpx.AsyncClient,
                                                         signup: Any,
                                                         signing_key: SigningKey) -> None:
    company = await signup()
    now = int(time.time())
    token = signing_key.sign(_claims(company, iat=now - 3600, exp=now - 60))
    resp = await _me(client, token)
    assert resp.status_code == 401
    assert resp.json()["code"] == "token_expired"


@pytest.mark.parametrize("aud", ["stocktech", SERVICE_AUDIENCE, "avadmin-operator"])
async def test_wrong_audience_is_refused(client: httpx.AsyncClient, signup: Any,
                                         signing_key: SigningKey, aud: str) -> None:
    company = await signup()
    assert (await _me(client, signing_key.sign(_claims(company, aud=aud)))).status_code == 401


async def test_wrong_issuer_is_refused(client: httpx.AsyncClient, signup: Any,
                                       signing_key: SigningKey) -> None:
    company = await signup()
    token = signing_key.sign(_claims(company, iss="someone-else"))
    assert (await _me(client, token)).status_code == 401


@pytest.mark.parametrize("missing", ["exp", "iat", "jti", "sub", "typ", "aud", "iss",
                                     "user_id", "account_id", "role", "enabled_modules"])
async def test_every_claim_is_required(client: httpx.AsyncClient, signup: Any,
                                       signing_key: SigningKey, missing: str) -> None:
    company = await signup()
    claims = _claims(company)
    del claims[missing]
    assert (await _me(client, signing_key.sign(claims))).status_code == 401


async def test_refresh_token_is_refused_as_access_token(client: httpx.AsyncClient,
                                                        signup: Any) -> None:
    company = await signup()
    resp = await _me(client, company.refresh)
    assert resp.status_code == 401
    # And it still works as a refresh token: the refusal was about its type only.
    ok = await client.post("/api/auth/refresh", json={"refresh_token": company.refresh})
    assert ok.status_code == 200


async def test_access_token_is_refused_as_refresh_token(client: httpx.AsyncClient,
                                                        signup: Any) -> None:
    company = await signup()
    resp = await client.post("/api/auth/refresh", json={"refresh_token": company.access})
    assert resp.status_code == 401
    assert resp.json()["code"] == "invalid_refresh_token"


async def test_garbage_and_missing_tokens(client: httpx.AsyncClient) -> None:
    for header in ({"Authorization": "Bearer abc.def.ghi"}, {"Authorization": "Bearer x"},
                   {"Authorization": "Basic dXNlcjpwYXNz"}, {}):
        resp = await client.get("/api/users/me", headers=header)
        assert resp.status_code == 401, header
        assert resp.headers["content-type"] == "application/problem+json"


async def test_jwks_publishes_the_public_key_only(client: httpx.AsyncClient,
                                                  signing_key: SigningKey) -> None:
    resp = await client.get("/.well-known/jwks.json")
    assert resp.status_code == 200
    keys = resp.json()["keys"]
    assert [k["kid"] for k in keys] == [signing_key.kid]
    assert keys[0]["alg"] == "EdDSA"
    assert keys[0]["kty"] == "OKP"
    assert "d" not in keys[0]  # no private part


async def test_access_token_claims(client: httpx.AsyncClient, signup: Any) -> None:
    company = await signup()
    claims = jwt.decode(company.access, options={"verify_signature": False})
    assert claims["iss"] == TOKEN_ISSUER
    assert claims["aud"] == USER_AUDIENCE
    assert claims["typ"] == "access"
    assert claims["sub"] == claims["user_id"] == str(company.user_id)
    assert claims["account_id"] == str(company.account_id)
    assert claims["role"] == "admin"
    assert claims["enabled_modules"] == ["StockTech", "Lucrum"]
    assert claims["exp"] - claims["iat"] == 900
    uuid.UUID(hex=claims["jti"])
    header = jwt.get_unverified_header(company.access)
    assert header["alg"] == "EdDSA"


async def test_refresh_rotation_and_replay_revokes_the_family(client: httpx.AsyncClient,
                                                              signup: Any) -> None:
    company = await signup()
    first = await client.post("/api/auth/refresh", json={"refresh_token": company.refresh})
    assert first.status_code == 200
    second_refresh = first.json()["refresh_token"]
    assert second_refresh != company.refresh
    # Replaying the used token: refused, and the descendant is revoked too.
    replay = await client.post("/api/auth/refresh", json={"refresh_token": company.refresh})
    assert replay.status_code == 401
    after = await client.post("/api/auth/refresh", json={"refresh_token": second_refresh})
    assert after.status_code == 401


async def test_concurrent_use_of_one_refresh_token_succeeds_once(client: httpx.AsyncClient,
                                                                 signup: Any) -> None:
    import asyncio

    company = await signup()
    results = await asyncio.gather(*(client.post("/api/auth/refresh",
                                                 json={"refresh_token": company.refresh})
                                     for _ in range(4)))
    assert sorted(r.status_code for r in results) == [200, 401, 401, 401]


async def test_logout_ends_the_session(client: httpx.AsyncClient, signup: Any) -> None:
    company = await signup()
    resp = await client.post("/api/auth/logout", json={"refresh_token": company.refresh})
    assert resp.status_code == 204
    again = await client.post("/api/auth/refresh", json={"refresh_token": company.refresh})
    assert again.status_code == 401


async def test_service_token_by_client_credentials(client: httpx.AsyncClient, app: Any) -> None:
    from avadmin.cli import _create_client

    await _create_client(app.state.settings, "stocktech", "StockTech", "s" * 32)
    bad = await client.post("/api/auth/service-token",
                            json={"client_id": "stocktech", "client_secret": "x" * 32})
    assert bad.status_code == 401
    assert bad.json()["code"] == "invalid_client"
    ok = await client.post("/api/auth/service-token",
                           json={"client_id": "stocktech", "client_secret": "s" * 32})
    assert ok.status_code == 200, ok.text
    claims = jwt.decode(ok.json()["access_token"], options={"verify_signature": False})
    assert claims["scope"] == "internal"
    assert claims["typ"] == "service"
    assert claims["aud"] == SERVICE_AUDIENCE
    form = await client.post("/api/auth/service-token",
                             data={"grant_type": "client_credentials", "client_id": "stocktech",
                                   "client_secret": "s" * 32})
    assert form.status_code == 200
    malformed = await client.post("/api/auth/service-token", content=b"[1,2",
                                  headers={"content-type": "application/json"})
    assert malformed.status_code == 400


async def test_no_issued_token_carries_a_cpf_or_a_phone_number(
    client: httpx.AsyncClient, app: Any, signup: Any, operator: dict[str, str],
) -> None:
    """Issue 15, point 4: tokens are read by every module and sit in browsers; they carry ids,
    never the CPF or the WhatsApp number. Every kind AvAdmin issues is decoded and searched."""
    import re

    from avadmin.cli import _create_client

    company = await signup()
    login = await client.post("/api/auth/login",
                              json={"cpf": company.cpf, "password": company.password})
    refreshed = await client.post("/api/auth/refresh",
                                  json={"refresh_token": login.json()["refresh_token"]})
    await _create_client(app.state.settings, "stocktech", "StockTech", "s" * 32,
                         ("account.company_name", "account.whatsapp"))
    service = await client.post("/api/auth/service-token",
                                json={"client_id": "stocktech", "client_secret": "s" * 32})
    tokens = [company.access, company.refresh, login.json()["access_token"],
              login.json()["refresh_token"], refreshed.json()["access_token"],
              refreshed.json()["refresh_token"], service.json()["access_token"],
              operator["Authorization"].split()[1]]
    digits = re.compile(r"\d{10,}")
    for token in tokens:
        claims = jwt.decode(token, options={"verify_signature": False})
        text = json.dumps(claims)
        assert company.cpf not in text and company.data["user"]["whatsapp"] not in text
        assert not {"cpf", "whatsapp", "phone", "full_name", "cnpj"} & set(claims), claims
        # No text claim holds anything document- or phone-like (iat and exp are numbers).
        texts = [v for v in claims.values() if isinstance(v, str)]
        assert not [v for v in texts if digits.search(v.replace("-", ""))
                    and not _is_uuid(v)], claims


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
