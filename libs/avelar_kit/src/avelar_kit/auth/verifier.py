from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

import httpx
import jwt
from jwt import PyJWK
from jwt.exceptions import PyJWKError, PyJWKSetError

from avelar_kit.auth.principal import Principal
from avelar_kit.expiring import ExpiringLRU

logger = logging.getLogger("avelar_kit.auth")

# One allow-list for the whole system: a token whose header names anything else (none, HS256
# made with the public key, RS256...) is refused before any key is looked at.
ALLOWED_ALGORITHMS: tuple[str, ...] = ("EdDSA",)
REQUIRED_CLAIMS: tuple[str, ...] = ("exp", "iat", "iss", "aud", "sub", "jti", "typ")
USER_CLAIMS: tuple[str, ...] = ("user_id", "account_id", "role", "enabled_modules")
LEEWAY_SECONDS = 10


_NUMERIC_CLAIMS = ("exp", "nbf", "iat")
_STRING_CLAIMS = ("iss", "sub", "jti", "typ")


def _check_claim_types(claims: Mapping[str, Any]) -> None:
    """RFC 7519 types of the registered claims. PyJWT reads ``"exp": "1999999999"`` with
    ``int()`` and accepts it; we do not: a NumericDate is a JSON number (bool is not), and
    ``iss``/``sub``/``jti``/``typ`` are strings, ``aud`` a string or a list of strings."""
    for name in _NUMERIC_CLAIMS:
        if name in claims:
            value = claims[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TokenError("bad_claim_type", f"{name} must be a number")
    for name in _STRING_CLAIMS:
        if name in claims and not isinstance(claims[name], str):
            raise TokenError("bad_claim_type", f"{name} must be a string")
    aud = claims.get("aud")
    if aud is not None and not (isinstance(aud, str) or (
            isinstance(aud, list) and all(isinstance(a, str) for a in aud))):
        raise TokenError("bad_claim_type", "aud must be a string or a list of strings")


class TokenError(Exception):
    """The token is not acceptable. ``reason`` is a stable code; the message is for logs."""

    def __init__(self, reason: str, message: str = "") -> None:
        self.reason = reason
        super().__init__(message or reason)


class JWKSSource(Protocol):
    async def get_key(self, kid: str) -> PyJWK | None: ...


def _keyset(jwks: Mapping[str, Any]) -> dict[str, PyJWK]:
    keys: dict[str, PyJWK] = {}
    for raw in jwks.get("keys", []):
        try:
            key = PyJWK.from_dict(dict(raw))
        except (PyJWKError, PyJWKSetError, ValueError, TypeError):
            continue
        if key.key_id and key.algorithm_name in ALLOWED_ALGORITHMS:
            keys[key.key_id] = key
    return keys


class LocalJWKS:
    """Keys known in-process (AvAdmin verifying its own tokens, tests)."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        self._keys = _keyset(jwks)

    async def get_key(self, kid: str) -> PyJWK | None:
        return self._keys.get(kid)


class RemoteJWKS:
    """JWKS fetched from AvAdmin and cached.

    The cache is refreshed after ``ttl`` seconds; an unknown kid triggers a refetch at most once
    per ``min_refetch_interval`` (so a flood of tokens with random kids cannot turn into a flood of
    requests to AvAdmin). When AvAdmin is unreachable the last good key set stays in use, so
    verification keeps working while AvAdmin is down.
    """

    def __init__(
        self,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        ttl: float = 600.0,
        min_refetch_interval: float = 30.0,
        timeout: float = 2.0,
    ) -> None:
        self.url = url
        self._client = client
        self.ttl = ttl
        self.min_refetch_interval = min_refetch_interval
        self.timeout = timeout
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._last_attempt: float | None = None
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    async def _fetch(self) -> None:
        self._last_attempt = time.monotonic()
        self.fetch_count += 1
        try:
            if self._client is not None:
                resp = await self._client.get(self.url, timeout=self.timeout)
            else:
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    resp = await client.get(self.url)
            resp.raise_for_status()
            keys = _keyset(resp.json())
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("JWKS fetch failed (%s); keeping %d cached keys",
                           type(exc).__name__, len(self._keys))
            return
        self._keys = keys
        self._fetched_at = time.monotonic()

    async def get_key(self, kid: str) -> PyJWK | None:
        now = time.monotonic()
        stale = self._fetched_at is None or now - self._fetched_at > self.ttl
        unknown = kid not in self._keys
        if stale and not unknown and self._lock.locked():
            # A refresh is already on its way; the key we hold is still AvAdmin's last word.
            # Waiting would stall every request for up to ``timeout`` when AvAdmin hangs.
            return self._keys.get(kid)
        if stale or unknown:
            async with self._lock:
                now = time.monotonic()
                stale = self._fetched_at is None or now - self._fetched_at > self.ttl
                unknown = kid not in self._keys
                may_refetch = (
                    self._last_attempt is None
                    or now - self._last_attempt >= self.min_refetch_interval
                )
                if (stale or unknown) and may_refetch:
                    await self._fetch()
        return self._keys.get(kid)


class VerifiedTokenCache(ExpiringLRU[str, Principal]):
    """Callers of tokens whose signature and claims were already verified, each kept until its
    token's own ``exp`` and no longer; a bounded LRU (the least recently used entry goes first).

    Only what the token itself proves is cached. Whether the user, the company and the session
    are still valid (suspension, deactivation, a password change: ADR 0006) is asked by the
    access checks that run after verification, on every request, hit or miss."""


# PyJWT's refusals, most specific first, as the reasons TokenError carries.
_REFUSALS: tuple[tuple[type[jwt.InvalidTokenError], str], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.InvalidAudienceError, "wrong_audience"),
    (jwt.InvalidIssuerError, "wrong_issuer"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.InvalidSignatureError, "bad_signature"),
)
_REFUSAL_DETAIL = {"expired": "token expired", "bad_signature": "signature verification failed"}


def _refusal(exc: jwt.InvalidTokenError) -> TokenError:
    reason = next((r for cls, r in _REFUSALS if isinstance(exc, cls)), "invalid")
    return TokenError(reason, _REFUSAL_DETAIL.get(reason, str(exc)))


class TokenVerifier:
    def __init__(
        self,
        source: JWKSSource,
        *,
        issuer: str,
        audience: str,
        service_audience: str | None = None,
        cache_size: int = 10_000,
    ) -> None:
        """``audience`` is the audience of user access tokens; ``service_audience``, when set,
        lets service tokens (client credentials, scope ``internal``) in as well.

        ``cache_size`` bounds the verified-token cache of ``verify`` (0 turns it off): a token
        seen before skips the EdDSA verification until it expires."""
        self.source = source
        self.issuer = issuer
        self.audience = audience
        self.service_audience = service_audience
        self.cache = VerifiedTokenCache(cache_size)

    async def _key_for(self, token: str) -> PyJWK:
        """The public key the token's header names (``kid``), under an allowed ``alg``."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise TokenError("malformed", str(exc)) from exc
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise TokenError("algorithm_not_allowed", f"alg {alg!r} is not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenError("missing_kid")
        key = await self.source.get_key(kid)
        if key is None:
            raise TokenError("unknown_key", "no key with that kid")
        return key

    async def decode(
        self, token: str, *, audience: str | None = None, expected_typ: str | None = "access"
    ) -> dict[str, Any]:
        key = await self._key_for(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=list(ALLOWED_ALGORITHMS),
                audience=audience or self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": list(REQUIRED_CLAIMS), "verify_signature": True},
            )
        except jwt.InvalidTokenError as exc:
            raise _refusal(exc) from exc
        _check_claim_types(claims)
        if expected_typ is not None and claims.get("typ") != expected_typ:
            raise TokenError("wrong_type", f"expected a {expected_typ} token")
        return claims

    async def verify(self, token: str) -> Principal:
        """Verify an access token (user) or a service token and return the caller.

        A token verified before answers from the cache until its ``exp``; refusals are never
        cached (each bad token is checked again, and costs the caller as much)."""
        cached = self.cache.get(token)
        if cached is not None:
            return cached
        principal = await self._verify(token)
        exp = principal.claims.get("exp")
        if isinstance(exp, int | float):
            self.cache.put(token, principal, float(exp))
        return principal

    async def _verify(self, token: str) -> Principal:
        try:
            header_typ = jwt.decode(token, options={"verify_signature": False}).get("typ")
        except jwt.InvalidTokenError as exc:
            raise TokenError("malformed", str(exc)) from exc
        if header_typ == "service":
            if self.service_audience is None:
                raise TokenError("wrong_type", "service tokens are not accepted here")
            claims = await self.decode(
                token, audience=self.service_audience, expected_typ="service"
            )
        else:
            claims = await self.decode(token, expected_typ="access")
            missing = [c for c in USER_CLAIMS if c not in claims]
            if missing:
                raise TokenError("missing_claim", f"missing {', '.join(missing)}")
            try:
                uuid.UUID(str(claims["user_id"]))
                uuid.UUID(str(claims["account_id"]))
            except ValueError as exc:
                raise TokenError("invalid", "malformed ids") from exc
            if not isinstance(claims["enabled_modules"], list):
                raise TokenError("invalid", "enabled_modules must be a list")
        return Principal.from_claims(claims)


def avadmin_verifier(
    avadmin_url: str, *, issuer: str, audience: str, service_audience: str | None = None,
    cache_size: int = 10_000,
) -> TokenVerifier:
    """The verifier a consuming module uses: AvAdmin's JWKS at ``avadmin_url``, cached."""
    jwks_url = f"{avadmin_url.rstrip('/')}/.well-known/jwks.json"
    return TokenVerifier(RemoteJWKS(jwks_url), issuer=issuer, audience=audience,
                         service_audience=service_audience, cache_size=cache_size)
