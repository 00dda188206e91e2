"""Lean reads (ADR 0023): a verified service's GET by id answered by the kit layer, anything
else (and anything the answer declines or fails) by the FastAPI route of record."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from avelar_kit.app import create_service_app
from avelar_kit.auth.principal import Principal
from avelar_kit.auth.verifier import TokenVerifier, VerifiedTokenCache
from avelar_kit.lean import LeanRead, LeanRoute, lean_read, lean_routes
from avelar_kit.public import PUBLIC
from avelar_kit.settings import ServiceSettings

SERVICE = Principal(kind="service", subject="stocktech", token_id="t1",
                    scopes=frozenset({"internal"}))
USER = Principal(kind="user", subject="u", token_id="t2", user_id=uuid.uuid4(),
                 account_id=uuid.uuid4(), role="user", enabled_modules=("stocktech",))
KNOWN = uuid.UUID("0005303f-d056-4103-b111-eb62e929f110")


def frame_app(behaviour: dict[str, str]) -> tuple[FastAPI, LeanRoute]:
    # No lifespan: nothing here needs a database; the verifier's cache is what a lean read asks.
    settings = ServiceSettings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
                               abuse_limits_enabled=False)
    app = create_service_app(module="Lean", settings=settings, title="Lean",
                             verifier_factory=lambda app: cast(Any, None))
    verifier = TokenVerifier(cast(Any, None), issuer="avadmin", audience="avelarsys")
    exp = time.time() + 600
    verifier.cache.put("service-token", SERVICE, exp)
    verifier.cache.put("user-token", USER, exp)
    app.state.verifier = verifier

    @app.get("/things/{thing_id}", dependencies=[PUBLIC])
    async def thing(thing_id: uuid.UUID) -> dict[str, Any]:
        return {"id": str(thing_id), "by": "route"}

    async def answer(read: LeanRead) -> bytes | None:
        mode = behaviour.get("mode", "answer")
        if mode == "fail":
            raise ConnectionError("database unreachable")
        if mode == "decline" or read.id != KNOWN:
            return None
        return f'{{"id":"{read.id}","by":"lean","who":"{read.principal.subject}"}}'.encode()

    return app, lean_read(app, "/things/{thing_id}", answer)


@pytest.fixture
async def lean() -> AsyncIterator[tuple[dict[str, str], LeanRoute, httpx.AsyncClient]]:
    behaviour: dict[str, str] = {}
    app, route = frame_app(behaviour)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://lean.test") as c:
        yield behaviour, route, c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_verified_service_is_answered_lean_inside_the_frame(
        lean: tuple[dict[str, str], LeanRoute, httpx.AsyncClient],
        caplog: pytest.LogCaptureFixture) -> None:
    _, route, c = lean
    with caplog.at_level("INFO", logger="avelar.access"):
        resp = await c.get(f"/things/{KNOWN}", headers={**bearer("service-token"),
                                                        "X-Request-ID": "lean-1"})
    assert resp.status_code == 200
    assert resp.json() == {"id": str(KNOWN), "by": "lean", "who": "stocktech"}
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["content-length"] == str(len(resp.content))
    assert resp.headers["x-request-id"] == "lean-1"
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert route.answered == 1
    # The access line (and the metric) carry the route's template, not the id.
    lines = [r for r in caplog.records if r.name == "avelar.access"]
    assert [getattr(r, "route", None) for r in lines] == ["/things/{thing_id}"]
    metrics = (await c.get("/metrics")).text
    assert 'route="/things/{thing_id}"' in metrics
    # Upper-case hex is the same id.
    upper = await c.get(f"/things/{str(KNOWN).upper()}", headers=bearer("service-token"))
    assert upper.content == resp.content and route.answered == 2


@pytest.mark.parametrize("headers", [
    {},  # no token: the route's guard (here public) decides
    bearer("never-verified"),  # not in the verified cache: the route verifies it
    bearer("user-token"),  # a user's read needs the caller checks of the route
    {"Authorization": "Basic c2VydmljZS10b2tlbg=="},
])
async def test_what_is_not_a_verified_service_goes_to_the_route(
        lean: tuple[dict[str, str], LeanRoute, httpx.AsyncClient],
        headers: dict[str, str]) -> None:
    _, route, c = lean
    resp = await c.get(f"/things/{KNOWN}", headers=headers)
    assert resp.json()["by"] == "route"
    assert route.answered == 0


@pytest.mark.parametrize("path", [
    f"/things/{KNOWN.hex}",  # not the canonical form: the route parses it
    "/things/not-a-uuid-but-36-characters-long!!",
    f"/things/{KNOWN}/more",
])
async def test_paths_that_are_not_a_canonical_id_go_to_the_route(
        lean: tuple[dict[str, str], LeanRoute, httpx.AsyncClient], path: str) -> None:
    _, route, c = lean
    resp = await c.get(path, headers=bearer("service-token"))
    assert route.answered == 0
    if resp.status_code == 200:
        assert resp.json()["by"] == "route"
    else:  # the route's own answers: 422 for a malformed id, 404 for an unknown path
        assert resp.status_code in (404, 422)


async def test_a_declined_or_failed_answer_is_the_routes(
        lean: tuple[dict[str, str], LeanRoute, httpx.AsyncClient],
        caplog: pytest.LogCaptureFixture) -> None:
    behaviour, route, c = lean
    other = uuid.uuid4()
    assert (await c.get(f"/things/{other}", headers=bearer("service-token"))).json() == {
        "id": str(other), "by": "route"}
    behaviour["mode"] = "fail"
    with caplog.at_level("WARNING", logger="avelar_kit.lean"):
        resp = await c.get(f"/things/{KNOWN}", headers=bearer("service-token"))
    assert resp.status_code == 200 and resp.json()["by"] == "route"
    assert any("declined after ConnectionError" in r.getMessage() for r in caplog.records)
    assert route.answered == 0
    # Another method is never lean.
    behaviour["mode"] = "answer"
    assert (await c.post(f"/things/{KNOWN}", headers=bearer("service-token"))).status_code == 405


def test_a_template_ends_in_its_only_parameter() -> None:
    async def answer(read: LeanRead) -> bytes | None:
        return None

    for template in ("/things", "/things/{a}/b", "/{a}/things/{b}", "/things/x"):
        with pytest.raises(ValueError, match="ends in its only parameter"):
            LeanRoute(template, answer)
    app = FastAPI()
    lean_read(app, "/nothing/{id}", answer)
    with pytest.raises(RuntimeError, match="no GET route of record"):
        lean_routes(app)


async def test_an_expired_token_a_query_or_two_tokens_go_to_the_route() -> None:
    app, route = frame_app({})
    now = [1_000.0]
    cache = VerifiedTokenCache(clock=lambda: now[0])
    cache.put("service-token", SERVICE, 1_600.0)
    app.state.verifier.cache = cache
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://lean.test") as c:
        assert (await c.get(f"/things/{KNOWN}", headers=bearer("service-token"))).json()[
            "by"] == "lean"
        assert (await c.get(f"/things/{KNOWN}?x=1", headers=bearer("service-token"))).json()[
            "by"] == "route"
        two = [("Authorization", "Bearer service-token"), ("Authorization", "Bearer other")]
        assert (await c.get(f"/things/{KNOWN}", headers=two)).json()["by"] == "route"
        now[0] = 1_600.0  # the token's exp: no longer the cache's, the route verifies it
        assert (await c.get(f"/things/{KNOWN}", headers=bearer("service-token"))).json()[
            "by"] == "route"
    assert route.answered == 1
