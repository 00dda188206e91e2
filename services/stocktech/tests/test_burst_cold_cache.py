"""Issue 9: 50 buyers at once on one product with a cold AvAdmin cache, through the REAL
AvAdmin client (HTTP pool, Redis cache, breaker) against AvAdmin's internal API served on a
socket: 0 answers 503, 0 oversold, the breaker stays closed."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from avelar_kit.testing.tokens import TokenFactory
from stocktech.config import Settings
from stocktech.main import create_app

from .conftest import Company
from .test_transactions import buy, stock


class _InternalAPI:
    """AvAdmin's internal API answered from the fake's data, on a real socket."""

    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.calls = 0

        async def token(request: Request) -> Response:
            return JSONResponse({"access_token": "t" * 40, "expires_in": 900})

        async def user(request: Request) -> Response:
            self.calls += 1
            found = self.fake.users.get(uuid.UUID(request.path_params["id"]))
            return JSONResponse(found.model_dump(mode="json")) if found else \
                JSONResponse({}, status_code=404)

        async def account(request: Request) -> Response:
            self.calls += 1
            found = self.fake.accounts.get(uuid.UUID(request.path_params["id"]))
            return JSONResponse(found.model_dump(mode="json")) if found else \
                JSONResponse({}, status_code=404)

        async def plan(request: Request) -> Response:
            self.calls += 1
            found = self.fake.plans.get(uuid.UUID(request.path_params["id"]))
            return JSONResponse(found.model_dump(mode="json")) if found else \
                JSONResponse({}, status_code=404)

        async def health(request: Request) -> Response:
            return JSONResponse({"status": "healthy"})

        self.app = Starlette(routes=[
            Route("/api/auth/service-token", token, methods=["POST"]),
            Route("/api/users/{id}", user), Route("/api/accounts/{id}", account),
            Route("/api/accounts/{id}/plan", plan), Route("/health", health)])


@pytest.fixture
async def internal_api(fake_avadmin: Any) -> AsyncIterator[tuple[_InternalAPI, str]]:
    api = _InternalAPI(fake_avadmin)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(api.app, log_level="critical", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, no event)
        await asyncio.sleep(0.01)
    try:
        yield api, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_fifty_buyers_on_a_cold_cache_get_no_503_and_the_breaker_stays_closed(
    client: httpx.AsyncClient, company: Any, create_product: Any, settings: Settings,
    tokens: TokenFactory, internal_api: tuple[_InternalAPI, str],
) -> None:
    api, url = internal_api
    seller: Company = company()
    buyers: list[Company] = [company() for _ in range(50)]  # none of them cached anywhere
    product = await create_product(seller, stock_quantity=10)
    real = create_app(
        settings.model_copy(update={
            "avadmin_url": url, "avadmin_client_id": "stocktech",
            # small pools: the burst must queue on them, never count as AvAdmin failing
            "avadmin_max_connections": 8, "redis_max_connections": 8}),
        verifier=tokens.verifier(service_audience="avadmin-internal"))
    async with LifespanManager(real, startup_timeout=60, shutdown_timeout=60):
        real.state.avadmin.cache.module = f"StockTech-{uuid.uuid4().hex[:6]}"  # cold
        transport = httpx.ASGITransport(app=real)
        async with httpx.AsyncClient(transport=transport, base_url="http://s.test",
                                     timeout=60) as burst:
            results = await asyncio.gather(*[buy(burst, b, product["id"]) for b in buyers])
        statuses = sorted(r.status_code for r in results)
        assert statuses.count(503) == 0, [r.text for r in results if r.status_code == 503][:3]
        assert statuses.count(201) == 10 and statuses.count(409) == 40, statuses
        assert real.state.avadmin.breaker_state == "closed"
        assert real.state.avadmin.breaker.failures == 0
        assert api.calls > 0  # it really went through AvAdmin's API
    assert await stock(client, seller, product["id"]) == 0  # 0 oversold
