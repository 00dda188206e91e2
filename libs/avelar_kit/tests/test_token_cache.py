"""The verified-token cache: keyed by the token, until its expiry, bounded, refusals uncached."""

from __future__ import annotations

import time
import uuid

import pytest

from avelar_kit.auth.principal import Principal
from avelar_kit.auth.verifier import TokenError, VerifiedTokenCache
from avelar_kit.testing.tokens import TokenFactory


def _principal(n: int = 0) -> Principal:
    return Principal(kind="service", subject=f"s{n}", token_id=str(n))


def test_an_entry_lives_until_the_token_expires_and_no_longer() -> None:
    now = [1000.0]
    cache = VerifiedTokenCache(10, clock=lambda: now[0])
    cache.put("t", _principal(), expires_at=1010.0)
    assert cache.get("t") == _principal()
    now[0] = 1009.9
    assert cache.get("t") is not None
    now[0] = 1010.0
    assert cache.get("t") is None
    assert len(cache) == 0
    cache.put("late", _principal(), expires_at=1005.0)  # already expired: not kept
    assert len(cache) == 0


def test_the_size_is_bounded_least_recently_used_first() -> None:
    cache = VerifiedTokenCache(3, clock=lambda: 0.0)
    for i in range(3):
        cache.put(f"t{i}", _principal(i), expires_at=100.0)
    assert cache.get("t0") is not None  # t0 is now the most recent
    cache.put("t3", _principal(3), expires_at=100.0)
    assert len(cache) == 3
    assert cache.get("t1") is None
    assert {t for t in ("t0", "t2", "t3") if cache.get(t) is not None} == {"t0", "t2", "t3"}
    off = VerifiedTokenCache(0)
    off.put("t", _principal(), expires_at=time.time() + 60)
    assert len(off) == 0


async def test_verify_skips_the_signature_check_for_a_token_seen_before() -> None:
    tokens = TokenFactory()
    verifier = tokens.verifier(service_audience="avadmin-internal")
    calls = {"n": 0}
    inner = verifier._verify

    async def counting(token: str) -> Principal:
        calls["n"] += 1
        return await inner(token)

    verifier._verify = counting  # type: ignore[method-assign]
    user = uuid.uuid4()
    token = tokens.user_token(user_id=user)
    first = await verifier.verify(token)
    second = await verifier.verify(token)
    assert first == second and first.user_id == user
    assert calls["n"] == 1 and verifier.cache.hits == 1
    # Another token is another key: verified on its own.
    await verifier.verify(tokens.user_token(user_id=user))
    assert calls["n"] == 2


async def test_refusals_are_not_cached_and_an_expired_token_is_refused() -> None:
    tokens = TokenFactory()
    verifier = tokens.verifier()
    good = tokens.user_token()
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(TokenError):
            await verifier.verify(forged)
    assert len(verifier.cache) == 0
    expired = tokens.user_token(ttl=-60)
    with pytest.raises(TokenError) as exc:
        await verifier.verify(expired)
    assert exc.value.reason == "expired"
    assert len(verifier.cache) == 0


async def test_a_cached_token_is_dropped_at_its_expiry() -> None:
    tokens = TokenFactory()
    verifier = tokens.verifier()
    token = tokens.user_token(ttl=900)
    principal = await verifier.verify(token)
    assert len(verifier.cache) == 1
    exp = float(principal.claims["exp"])
    verifier.cache.clock = lambda: exp
    assert verifier.cache.get(token) is None
