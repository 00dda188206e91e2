"""Every route of every app is public on purpose or guarded (issue 8, point 3), and every
permission a route requires is in its module's matrix (point 4)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fastapi import FastAPI

from avelar_kit.auth.signing import SigningKey
from avelar_kit.testing.routes import api_routes, is_public, required_permissions, unguarded_routes

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "partner_module"))


def _avadmin() -> FastAPI:
    from avadmin.config import Settings
    from avadmin.main import create_app
    from avadmin.security.keys import KeyRing

    return create_app(Settings(), keyring=KeyRing(SigningKey.generate()))


def _stocktech() -> FastAPI:
    from stocktech.main import create_app

    return create_app()


def _lucrum() -> FastAPI:
    from lucrum.main import create_app

    return create_app()


def _partner() -> FastAPI:
    from partner_module.main import create_app

    return create_app()


APPS = {"AvAdmin": _avadmin, "StockTech": _stocktech, "Lucrum": _lucrum, "Partner": _partner}

# What is public on purpose, and why (the rest must be guarded).
EXPECTED_PUBLIC = {
    "AvAdmin": {"/health", "/.well-known/jwks.json", "/api/plans", "/api/auth/signup",
                "/api/auth/login", "/api/auth/refresh", "/api/auth/logout",
                "/api/auth/service-token", "/api/operator/login",
                "/api/billing/webhooks/mercadopago",
                # Issue 12: the second step of signup and password recovery by WhatsApp code.
                "/api/auth/signup/confirm", "/api/auth/password/forgot",
                "/api/auth/password/reset", "/api/auth/password/change"},
    "StockTech": {"/health"},
    "Lucrum": {"/health"},
    "Partner": {"/health"},
}


@pytest.mark.parametrize("name", sorted(APPS))
def test_every_route_is_public_on_purpose_or_guarded(name: str) -> None:
    app = APPS[name]()
    assert unguarded_routes(app) == []
    public = {r.path for r in api_routes(app) if is_public(r)}
    assert public <= EXPECTED_PUBLIC[name] | {"/health/live", "/health/ready", "/metrics"}, public


@pytest.mark.parametrize("name", ["AvAdmin", "StockTech", "Lucrum"])
def test_required_permissions_are_declared_and_used(name: str) -> None:
    app = APPS[name]()
    matrix = app.state.permissions.matrix
    used: set[str] = set()
    for route in api_routes(app):
        used |= required_permissions(route)
    assert used <= set(matrix), used - set(matrix)
    checked_in_services = {"AvAdmin": {"users.list", "users.update"}}.get(name, set())
    assert set(matrix) <= used | checked_in_services, (
        f"declared but never required: {set(matrix) - used - checked_in_services}")


def test_the_walk_finds_an_unguarded_route() -> None:
    from fastapi import Depends

    from avelar_kit.auth.caller import PUBLIC, get_caller

    app = FastAPI()

    @app.get("/open")
    async def open_route() -> None: ...

    @app.get("/public", dependencies=[PUBLIC])
    async def public() -> None: ...

    @app.get("/guarded", dependencies=[Depends(get_caller)])
    async def guarded() -> None: ...

    assert unguarded_routes(app) == ["GET /open"]


@pytest.mark.parametrize("name", sorted(APPS))
def test_no_route_runs_a_dependency_in_the_thread_pool(name: str) -> None:
    """Endpoints and dependencies are ``async def`` (ADR 0017): a sync one is run by FastAPI in
    the thread pool, a hop per request."""
    from avelar_kit.testing.routes import threadpool_calls

    assert threadpool_calls(APPS[name]()) == []


def test_the_walk_finds_a_bare_starlette_route() -> None:
    """Only the kit's plain routes (public by construction) may sit beside FastAPI's."""
    from starlette.responses import Response
    from starlette.routing import Route

    from avelar_kit.plain import PlainAnswer, plain_route

    app = FastAPI()

    async def bare(request: object) -> Response:
        return Response(b"")

    app.router.routes.append(Route("/bare", bare))
    plain_route(app, "/plain", PlainAnswer(b"{}"))
    assert unguarded_routes(app) == ["GET /bare", "HEAD /bare"]
