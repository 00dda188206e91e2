"""The caller's standing and /health of a consuming module, through create_module_app, the
real AvAdminClient (stub AvAdmin on a socket) and real Redis."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from avelar_kit.app import create_module_app
from avelar_kit.auth import UserPrincipal
from avelar_kit.auth.verifier import TokenVerifier
from avelar_kit.settings import ModuleSettings
from avelar_kit.testing.tokens import TokenFactory

tokens = TokenFactory()


@pytest.fixture
async def module_app(
    stub: Any, pg_url: str, redis_url: str, module_name: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = ModuleSettings(database_url=pg_url, redis_url=redis_url, avadmin_url=stub.url,
                              avadmin_client_id="stocktech",
                              avadmin_client_secret="s3cret-s3cret-s3cret-s3cret")
    verifier: TokenVerifier = tokens.verifier()
    app = create_module_app(module="StockTech", settings=settings, title="t", verifier=verifier,
                            client_options={"breaker_threshold": 2, "breaker_reset_timeout": 30,
                                            "cache_ttl": 300})

    @app.get("/api/things")
    async def read_things(principal: UserPrincipal) -> dict[str, str]:
        return {"account_id": str(principal.account_id)}

    @app.post("/api/things")
    async def write_things(principal: UserPrincipal) -> dict[str, str]:
        return {"ok": "yes"}

    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        # Separate cache namespace per test (the module name is also the namespace).
        app.state.avadmin.cache.module = module_name
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://st.test") as client:
            yield app, client


def _auth(aid: uuid.UUID, uid: uuid.UUID) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.user_token(user_id=uid, account_id=aid)}"}


async def test_active_account_with_the_module_passes(stub: Any, module_app: Any) -> None:
    _, client = module_app
    aid, uid = stub.add_company()
    resp = await client.get("/api/things", headers=_auth(aid, uid))
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize(
    ("company", "status", "code"),
    [
        ({"status": "suspended"}, 403, "account_suspended"),
        ({"modules": ("Lucrum",)}, 403, "module_not_enabled"),
        ({"is_active": False}, 401, "user_deactivated"),
    ],
)
async def test_refusals_have_stable_codes(
    stub: Any, module_app: Any, company: dict[str, Any], status: int, code: str
) -> None:
    _, client = module_app
    aid, uid = stub.add_company(**company)
    resp = await client.get("/api/things", headers=_auth(aid, uid))
    assert resp.status_code == status
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == code


async def test_token_for_a_user_of_another_account_is_refused(
    stub: Any, module_app: Any
) -> None:
    _, client = module_app
    aid, _ = stub.add_company()
    _, other_uid = stub.add_company()
    resp = await client.get("/api/things", headers=_auth(aid, other_uid))
    assert resp.status_code == 401


async def test_change_is_enforced_after_invalidation(stub: Any, module_app: Any) -> None:
    app, client = module_app
    aid, uid = stub.add_company()
    assert (await client.get("/api/things", headers=_auth(aid, uid))).status_code == 200
    stub.accounts[str(aid)]["status"] = "suspended"
    # Cached: still allowed until the event's invalidation arrives.
    assert (await client.get("/api/things", headers=_auth(aid, uid))).status_code == 200
    await app.state.avadmin.invalidate_account(aid)
    resp = await client.get("/api/things", headers=_auth(aid, uid))
    assert resp.json()["code"] == "account_suspended"


async def test_avadmin_down_unknown_user_503_known_user_served_stale_write_refused(
    stub: Any, module_app: Any, redis: Any
) -> None:
    app, client = module_app
    aid, uid = stub.add_company()
    assert (await client.get("/api/things", headers=_auth(aid, uid))).status_code == 200
    cache = app.state.avadmin.cache
    for kind, ident in (("user", uid), ("account", aid)):
        key = cache.key(kind, ident)
        entry = json.loads(await redis.get(key + ":last"))
        entry["fetched_at"] = time.time() - 20 * 60  # 20 minutes old, over the 15 min bound
        await redis.set(key + ":last", json.dumps(entry))
        await redis.delete(key)
    await stub.stop()
    read = await client.get("/api/things", headers=_auth(aid, uid))
    assert read.status_code == 200  # a read may use the last known copy
    write = await client.post("/api/things", headers=_auth(aid, uid))
    assert write.status_code == 503 and write.json()["code"] == "avadmin_unavailable"
    assert int(write.headers["retry-after"]) >= 1
    new_aid, new_uid = uuid.uuid4(), uuid.uuid4()
    unknown = await client.get("/api/things", headers=_auth(new_aid, new_uid))
    assert unknown.status_code == 503 and unknown.headers["retry-after"]


async def test_health_reports_avadmin_and_breaker(stub: Any, module_app: Any) -> None:
    _, client = module_app
    body = (await client.get("/health")).json()
    assert body["avadmin_api"] == "reachable" and body["avadmin_breaker"] == "closed"
    assert body["status"] == "healthy"
    await stub.stop()
    for _ in range(2):  # open the breaker (threshold 2)
        await client.get("/api/things", headers=_auth(uuid.uuid4(), uuid.uuid4()))
    resp = await client.get("/health")
    body = resp.json()
    assert resp.status_code == 200
    assert body["status"] == "degraded"
    assert body["avadmin_api"] == "unreachable" and body["avadmin_breaker"] == "open"
    assert "_degraded" not in body
