"""Issuing tokens. Claims follow docs/avadmin-contract.md."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from avadmin.accounts.models import Account
from avadmin.config import Settings
from avadmin.security.keys import KeyRing
from avadmin.security.scopes import service_scope
from avadmin.users.models import User
from avelar_kit.auth.caller import OPERATOR_AUDIENCE
from avelar_kit.auth.signing import base_claims
from avelar_kit.settings import SERVICE_AUDIENCE, TOKEN_ISSUER, USER_AUDIENCE

__all__ = ["OPERATOR_AUDIENCE", "TokenIssuer"]


class TokenIssuer:
    def __init__(self, keyring: KeyRing, settings: Settings) -> None:
        self.keyring = keyring
        self.settings = settings

    def access_token(self, user: User, account: Account) -> tuple[str, dict[str, Any]]:
        claims = base_claims(issuer=TOKEN_ISSUER, audience=USER_AUDIENCE, subject=str(user.id),
                             typ="access", ttl=self.settings.access_token_ttl)
        claims.update({
            "user_id": str(user.id),
            "account_id": str(account.id),
            "role": user.role.value,
            "enabled_modules": list(account.enabled_modules),
        })
        return self.keyring.current.sign(claims), claims

    def refresh_token(self, user: User, family_id: str) -> tuple[str, dict[str, Any]]:
        # Same audience as access tokens on purpose: what keeps a refresh token from being used
        # as an access token is its typ, checked by every verifier (and tested).
        claims = base_claims(issuer=TOKEN_ISSUER, audience=USER_AUDIENCE, subject=str(user.id),
                             typ="refresh", ttl=self.settings.refresh_token_ttl)
        claims["fam"] = family_id
        return self.keyring.current.sign(claims), claims

    def service_token(self, client_id: str,
                      fields: Sequence[str] = ()) -> tuple[str, dict[str, Any]]:
        claims = base_claims(issuer=TOKEN_ISSUER, audience=SERVICE_AUDIENCE, subject=client_id,
                             typ="service", ttl=self.settings.service_token_ttl)
        # "internal" plus the personal fields the client reads (avadmin.security.scopes).
        claims["scope"] = service_scope(fields)
        return self.keyring.current.sign(claims), claims

    def operator_token(self, operator_id: str) -> tuple[str, dict[str, Any]]:
        claims = base_claims(issuer=TOKEN_ISSUER, audience=OPERATOR_AUDIENCE,
                             subject=operator_id, typ="operator",
                             ttl=self.settings.access_token_ttl)
        return self.keyring.current.sign(claims), claims
