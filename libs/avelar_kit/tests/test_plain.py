"""Plain routes (ADR 0021): served ahead of FastAPI's router, inside the kit frame, documented
and answered as a FastAPI route would be."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from avelar_kit.app import create_service_app
from avelar_kit.plain import PlainAnswer, PlainRoute, plain_route
from avelar_kit.settings import ServiceSettings


def frame_app() -> FastAPI:
    # No lifespan: a plain route needs nothing the lifespan makes (no database, no Redis).
    settings = ServiceSettings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
                               abuse_limits_enabled=False)
    app = create_service_app(module="Plain", settings=settings, title="Plain",
                             verifier_factory=lambda app: cast(Any, None))
    bodies = iter([b'{"n":1}', b'{"n":22}'])
    current = [next(bodies)]
    plain_route(app, "/keys", PlainAnswer(lambda: current[0],
                                          headers=[(b"cache-control", b"public, max-age=300")]),
                summary="Keys", tags=["keys"])
    app.state.bump = lambda: current.__setitem__(0, next(bodies))
    return app


@pytest.fixture
async def client() -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = frame_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://plain.test") as c:
        yield app, c


async def test_live_is_a_plain_route_with_the_frame_headers(
        client: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, c = client
    assert any(isinstance(r, PlainRoute) and r.path == "/health/live" for r in app.routes)
    resp = await c.get("/health/live", headers={"X-Request-ID": "probe-1"})
    assert resp.status_code == 200 and resp.json() == {"status": "alive"}
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["x-request-id"] == "probe-1"
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["content-security-policy"].startswith("default-src 'none'")


async def test_a_plain_answer_is_served_as_its_owner_has_it_now(
        client: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, c = client
    first = await c.get("/keys")
    assert first.json() == {"n": 1} and first.headers["content-length"] == "7"
    assert first.headers["cache-control"] == "public, max-age=300"
    app.state.bump()
    second = await c.get("/keys")
    assert second.json() == {"n": 22} and second.headers["content-length"] == "8"
    head = await c.head("/keys")
    assert head.status_code == 200 and head.content == b""


async def test_another_method_is_405_as_for_a_fastapi_route(
        client: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, c = client
    resp = await c.post("/health/live")
    assert resp.status_code == 405
    assert resp.headers["x-content-type-options"] == "nosniff"


async def test_the_schema_documents_plain_routes_as_public_gets(
        client: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, c = client
    schema = json.loads((await c.get("/openapi.json")).content)
    assert schema["paths"]["/keys"]["get"]["summary"] == "Keys"
    assert "/health/live" in schema["paths"]
    twin = app.openapi()["paths"]["/keys"]["get"]
    assert twin["tags"] == ["keys"]


async def test_the_twin_answers_the_same_bytes() -> None:
    answer = PlainAnswer(b'{"a":1}', headers=[(b"cache-control", b"no-cache")])
    response = answer.response()
    assert response.body == b'{"a":1}'
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-type"] == "application/json"


async def test_the_kit_layer_answers_plain_routes_and_logs_their_route(
        client: tuple[FastAPI, httpx.AsyncClient], caplog: pytest.LogCaptureFixture) -> None:
    app, c = client
    with caplog.at_level("INFO", logger="avelar.access"):
        assert (await c.get("/keys")).status_code == 200
    lines = [r for r in caplog.records if r.name == "avelar.access"]
    assert [getattr(r, "route", None) for r in lines] == ["/keys"]
    # A plain route added after the first request is still served (by the router).
    plain_route(app, "/late", PlainAnswer(b'{"late":true}'))
    assert (await c.get("/late")).json() == {"late": True}


async def test_with_the_access_log_off_no_access_line_is_written(
        caplog: pytest.LogCaptureFixture) -> None:
    """``<PREFIX>_ACCESS_LOG=false`` / ``serve --no-access-log`` turns off the kit's access
    line (the only one: uvicorn's is always off), for plain routes and FastAPI's alike."""
    import logging

    settings = ServiceSettings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
                               abuse_limits_enabled=False, access_log=False)
    app = create_service_app(module="Quiet", settings=settings, title="Quiet",
                             verifier_factory=lambda app: cast(Any, None))
    plain_route(app, "/keys", PlainAnswer(b'{"n":1}'))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://quiet.test") as c:
            with caplog.at_level("INFO", logger="avelar.access"):
                assert (await c.get("/keys")).status_code == 200
                assert (await c.get("/nothing-here")).status_code == 404
        assert [r for r in caplog.records if r.name == "avelar.access"] == []
    finally:
        frame_app()  # an app with the default setting: the access line is back
    assert not logging.getLogger("avelar.access").disabled
