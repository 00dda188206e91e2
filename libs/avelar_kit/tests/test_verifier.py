"""RemoteJWKS while AvAdmin is down or slow: verification keeps working from the cached keys
and does not wait on AvAdmin for a key it already knows."""

from __future__ import annotations

import asyncio

import httpx

from avelar_kit.auth.verifier import RemoteJWKS, TokenVerifier
from avelar_kit.settings import TOKEN_ISSUER, USER_AUDIENCE
from avelar_kit.testing.tokens import TokenFactory


class _JWKSEndpoint:
    """AvAdmin's JWKS route as an httpx transport; ``gate`` holds answers (AvAdmin hanging)."""

    def __init__(self, tokens: TokenFactory) -> None:
        self.tokens = tokens
        self.calls = 0
        self.down = False
        self.gate: asyncio.Event | None = None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json=self.tokens.jwks())


async def test_known_key_is_served_from_cache_when_avadmin_is_down() -> None:
    tokens = TokenFactory()
    endpoint = _JWKSEndpoint(tokens)
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as http:
        jwks = RemoteJWKS("http://avadmin/.well-known/jwks.json", client=http, ttl=0,
                          min_refetch_interval=0)
        verifier = TokenVerifier(jwks, issuer=TOKEN_ISSUER, audience=USER_AUDIENCE)
        await verifier.verify(tokens.user_token())
        endpoint.down = True
        principal = await verifier.verify(tokens.user_token())
        assert principal.kind == "user"
        assert endpoint.calls == 2  # it tried, failed, and kept the cached keys


async def test_a_stale_refresh_in_progress_does_not_hold_up_other_requests() -> None:
    tokens = TokenFactory()
    endpoint = _JWKSEndpoint(tokens)
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as http:
        jwks = RemoteJWKS("http://avadmin/.well-known/jwks.json", client=http, ttl=0,
                          min_refetch_interval=0)
        verifier = TokenVerifier(jwks, issuer=TOKEN_ISSUER, audience=USER_AUDIENCE)
        await verifier.verify(tokens.user_token())
        endpoint.gate = asyncio.Event()  # AvAdmin hangs (up to the fetch timeout)
        refreshing = asyncio.create_task(verifier.verify(tokens.user_token()))
        while endpoint.calls < 2:  # noqa: ASYNC110 (waiting for the refresh to be in flight)
            await asyncio.sleep(0.001)
        others = await asyncio.wait_for(
            asyncio.gather(*(verifier.verify(tokens.user_token()) for _ in range(5))), 5)
        assert all(p.kind == "user" for p in others)
        assert not refreshing.done(), "the others did not wait for the refresh"
        endpoint.gate.set()
        await refreshing


# -- issue 9: every registered claim type-checked ---------------------------------------------

import pytest  # noqa: E402

from avelar_kit.auth.verifier import TokenError  # noqa: E402


def _raw_signed(tokens: TokenFactory, overrides: dict) -> str:
    """A correctly signed token whose payload PyJWT's encoder would refuse to build."""
    import json

    import jwt

    good = jwt.decode(tokens.user_token(), options={"verify_signature": False})
    good.update(overrides)
    return jwt.api_jws.encode(json.dumps(good).encode(), tokens.key.private_key,
                              algorithm="EdDSA", headers={"kid": tokens.key.kid, "typ": "JWT"})


@pytest.mark.parametrize("overrides", [
    {"exp": "1999999999"}, {"exp": True}, {"iat": "1700000000"}, {"nbf": "0"},
    {"sub": 123}, {"iss": ["avelarsys-avadmin"]}, {"aud": 5}, {"aud": ["avelarsys", 3]},
    {"jti": 7}, {"typ": None},
])
async def test_registered_claims_of_the_wrong_type_are_refused(overrides: dict) -> None:
    tokens = TokenFactory()
    token = _raw_signed(tokens, overrides)
    with pytest.raises(TokenError) as refused:
        await tokens.verifier().verify(token)
    assert refused.value.reason in ("bad_claim_type", "invalid", "wrong_issuer", "expired",
                                    "wrong_audience", "wrong_type", "missing_claim")


async def test_a_numeric_string_exp_is_refused_as_a_bad_claim_type() -> None:
    tokens = TokenFactory()
    with pytest.raises(TokenError) as refused:
        await tokens.verifier().verify(_raw_signed(tokens, {"exp": "1999999999"}))
    assert refused.value.reason == "bad_claim_type"
    assert (await tokens.verifier().verify(tokens.user_token())).user_id is not None
