"""Mint real signed tokens in tests (a stand-in for AvAdmin's issuer, same key type and claims)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from avelar_kit.auth.signing import SigningKey, base_claims, jwks_document
from avelar_kit.auth.verifier import LocalJWKS, TokenVerifier
from avelar_kit.settings import SERVICE_AUDIENCE, TOKEN_ISSUER, USER_AUDIENCE


class TokenFactory:
    def __init__(self, key: SigningKey | None = None) -> None:
        self.key = key or SigningKey.generate()

    def jwks(self) -> dict[str, Any]:
        return jwks_document([self.key])

    def verifier(self, service_audience: str | None = None) -> TokenVerifier:
        return TokenVerifier(LocalJWKS(self.jwks()), issuer=TOKEN_ISSUER, audience=USER_AUDIENCE,
                             service_audience=service_audience)

    def user_token(
        self,
        *,
        user_id: uuid.UUID | None = None,
        account_id: uuid.UUID | None = None,
        role: str = "admin",
        enabled_modules: Sequence[str] = ("StockTech", "Lucrum"),
        ttl: int = 900,
        **overrides: Any,
    ) -> str:
        uid = user_id or uuid.uuid4()
        claims = base_claims(issuer=TOKEN_ISSUER, audience=USER_AUDIENCE, subject=str(uid),
                             typ="access", ttl=ttl)
        claims.update({"user_id": str(uid), "account_id": str(account_id or uuid.uuid4()),
                       "role": role, "enabled_modules": list(enabled_modules)})
        claims.update(overrides)
        return self.key.sign(claims)

    def service_token(self, client_id: str = "test-service", ttl: int = 900) -> str:
        claims = base_claims(issuer=TOKEN_ISSUER, audience=SERVICE_AUDIENCE, subject=client_id,
                             typ="service", ttl=ttl)
        claims["scope"] = "internal"
        return self.key.sign(claims)
