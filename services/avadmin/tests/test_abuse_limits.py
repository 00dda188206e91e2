"""Issue 9 point 3: abuse limits per client address and per target; login throttling that a
stranger cannot use to lock the owner out."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from avadmin.config import Settings
from avadmin.main import create_app
from avadmin.security.keys import KeyRing
from avelar_kit.auth.signing import SigningKey
from avelar_kit.metrics import LOGIN_THROTTLED

from .conftest import CNPJS, CPFS, signup_body


def _addr() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250}"


def _from(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://avadmin.test")


def _wrong(cpf: str = CPFS[0]) -> dict[str, str]:
    return {"cpf": cpf, "password": "errada123"}


async def test_a_stranger_cannot_lock_the_owner_out(
    app: FastAPI, client: httpx.AsyncClient, signup: Any
) -> None:
    company = await signup()
    async with _from(app, _addr()) as stranger, _from(app, _addr()) as owner:
        for _ in range(5):
            assert (await stranger.post("/api/auth/login", json=_wrong())).status_code == 401
        locked = await stranger.post("/api/auth/login",
                                     json={"cpf": CPFS[0], "password": company.password})
        assert locked.status_code == 429 and locked.json()["code"] == "login_throttled"
        assert int(locked.headers["Retry-After"]) > 0
        mine = await owner.post("/api/auth/login",
                                json={"cpf": CPFS[0], "password": company.password})
        assert mine.status_code == 200, mine.text


async def test_cpf_wide_failures_slow_down_never_block(
    app: FastAPI, client: httpx.AsyncClient, signup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    company = await signup()
    settings = app.state.settings
    monkeypatch.setattr(settings, "login_cpf_slowdown_after", 3)
    monkeypatch.setattr(settings, "login_cpf_slowdown_seconds", 0.01)
    before = LOGIN_THROTTLED._value.get()
    for _ in range(6):  # a distributed guess: six addresses, one failure each
        async with _from(app, _addr()) as c:
            assert (await c.post("/api/auth/login", json=_wrong())).status_code == 401
    assert LOGIN_THROTTLED._value.get() > before, "past the CPF-wide count: slowed down"
    async with _from(app, _addr()) as owner:
        ok = await owner.post("/api/auth/login",
                              json={"cpf": CPFS[0], "password": company.password})
        assert ok.status_code == 200, ok.text
    # the success reset the CPF-wide count: the next attempts are not slowed
    slowed = LOGIN_THROTTLED._value.get()
    async with _from(app, _addr()) as c:
        await c.post("/api/auth/login", json=_wrong())
    assert LOGIN_THROTTLED._value.get() == slowed


async def test_recovery_resets_the_owner_s_own_lock(
    app: FastAPI, client: httpx.AsyncClient, signup: Any
) -> None:
    company = await signup()
    address = _addr()
    async with _from(app, address) as owner:
        for _ in range(5):
            await owner.post("/api/auth/login", json=_wrong())
        assert (await owner.post("/api/auth/login", json=_wrong())).status_code == 429
        from avadmin.auth.router import get_auth_service

        class _Req:
            def __init__(self, app: FastAPI) -> None:
                self.app = app

        await (await get_auth_service(_Req(app))).reset_login_throttle(  # type: ignore[arg-type]
            CPFS[0], address)
        ok = await owner.post("/api/auth/login",
                              json={"cpf": CPFS[0], "password": company.password})
        assert ok.status_code == 200, ok.text


# -- per-client limits (the limits library over Redis, in-process fallback) ---------------------


@pytest.fixture
async def limited_app(settings: Settings, plans: Any) -> AsyncIterator[FastAPI]:
    limited = settings.model_copy(update={
        "abuse_limits_enabled": True, "abuse_limit_signup": "3/hour",
        "abuse_limit_login": "5/minute", "abuse_limit_public": "1000/minute",
        "events_relay_enabled": False})
    application = create_app(limited, keyring=KeyRing(SigningKey.generate()))
    async with LifespanManager(application, startup_timeout=60, shutdown_timeout=60):
        yield application


async def test_signups_and_logins_from_one_client_get_429_with_retry_after(
    limited_app: FastAPI
) -> None:
    async with _from(limited_app, _addr()) as c, _from(limited_app, _addr()) as other:
        codes = []
        for i in range(4):
            r = await c.post("/api/auth/signup",
                             json=signup_body(CNPJS[i], CPFS[i]))
            codes.append(r.status_code)
        assert codes == [202, 202, 202, 429], codes  # 202: pending the WhatsApp code
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "rate_limited" and r.json()["limit"] == "signup"
        assert 0 < int(r.headers["Retry-After"]) <= 3600
        # logins on many CPFs from one client (password spraying)
        codes = [(await c.post("/api/auth/login", json=_wrong(cpf))).status_code
                 for cpf in CPFS[:6]]
        assert codes == [401] * 5 + [429], codes
        # another client is not affected
        assert (await other.post("/api/auth/login", json=_wrong())).status_code == 401
        assert (await c.get("/health/live")).status_code == 200  # probes are exempt


async def test_limits_hold_with_redis_down(limited_app: FastAPI) -> None:
    guard = limited_app.state.redis_guard
    for _ in range(guard.breaker.threshold):
        guard.breaker.record_failure(False)
    assert guard.state == "open"
    async with _from(limited_app, _addr()) as c:
        codes = [(await c.post("/api/auth/login", json=_wrong(cpf))).status_code
                 for cpf in CPFS[:6]]
    assert codes == [401] * 5 + [429], codes


async def test_refresh_operator_login_and_public_routes_have_their_own_limits(
    settings: Settings, plans: Any
) -> None:
    """Issue 9 point 3: besides login and signup, refresh, the operator login and any request
    without a bearer token are limited per client: 429, Retry-After, problem+json naming the
    rule, and another client is not affected."""
    limited = settings.model_copy(update={
        "abuse_limits_enabled": True, "abuse_limit_refresh": "2/minute",
        "abuse_limit_operator_login": "2/minute", "abuse_limit_public": "1000/minute",
        "events_relay_enabled": False})
    app = create_app(limited, keyring=KeyRing(SigningKey.generate()))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        for rule, path, body in (
                ("refresh", "/api/auth/refresh", {"refresh_token": "nao-e-um-token"}),
                ("operator_login", "/api/operator/login",
                 {"email": "ops@avelarsys.com.br", "password": "errada12345"})):
            async with _from(app, _addr()) as c, _from(app, _addr()) as other:
                codes = [(await c.post(path, json=body)).status_code for _ in range(3)]
                assert 429 not in codes[:2] and codes[2] == 429, (rule, codes)
                last = await c.post(path, json=body)
                assert last.headers["content-type"] == "application/problem+json"
                assert last.json()["limit"] == rule and int(last.headers["Retry-After"]) > 0
                assert (await other.post(path, json=body)).status_code != 429
    public = settings.model_copy(update={
        "abuse_limits_enabled": True, "abuse_limit_public": "3/minute",
        "events_relay_enabled": False})
    app = create_app(public, keyring=KeyRing(SigningKey.generate()))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60), \
            _from(app, _addr()) as c, _from(app, _addr()) as other:
        codes = [(await c.get("/api/plans")).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429], codes
        assert (await c.get("/api/plans")).json()["limit"] == "public"
        assert (await other.get("/api/plans")).status_code == 200
        assert (await c.get("/health/live")).status_code == 200  # probes are exempt
