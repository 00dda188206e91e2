"""Fixtures of avelar_kit's own tests: a stub AvAdmin served over a real socket (so timeouts,
connection errors and the pool behave as in production), and a Redis client per test."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class StubAvAdmin:
    """Answers AvAdmin's internal API from dicts; ``mode`` and ``delay`` inject failures."""

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}
        self.plans: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.headers: list[dict[str, str]] = []  # of each request, lower-case names
        self.mode: str = "ok"  # ok | error500 | unauthorized_once
        self.delay: float = 0.0
        self.token_ttl = 900
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.app = Starlette(routes=[
            Route("/api/auth/service-token", self._token, methods=["POST"]),
            Route("/api/users/{id}", self._user),
            Route("/api/accounts/{id}", self._account),
            Route("/api/accounts/{id}/plan", self._plan),
            Route("/health", self._health),
        ])
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None
        self.port = 0

    def data_requests(self) -> list[str]:
        return [r for r in self.requests if r.startswith("/api/users") or
                r.startswith("/api/accounts")]

    async def _gate(self, request: Request) -> Response | None:
        self.requests.append(request.url.path)
        self.headers.append(dict(request.headers))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.mode == "error500":
            return JSONResponse({"code": "boom"}, status_code=500)
        return None

    async def _token(self, request: Request) -> Response:
        failed = await self._gate(request)
        if failed:
            return failed
        body = await request.json()
        if body.get("client_secret") != "s3cret-s3cret-s3cret-s3cret":
            return JSONResponse({"code": "invalid_client"}, status_code=401)
        self.tokens_issued += 1
        token = f"tok-{self.tokens_issued}"
        self.valid_tokens.add(token)
        return JSONResponse({"access_token": token, "token_type": "bearer",
                             "expires_in": self.token_ttl})

    async def _authorised(self, request: Request) -> Response | None:
        failed = await self._gate(request)
        if failed:
            return failed
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.valid_tokens:
            return JSONResponse({"code": "invalid_token"}, status_code=401)
        return None

    async def _lookup(self, request: Request, table: dict[str, dict[str, Any]]) -> Response:
        # What AvAdmin knew when the request arrived, even if the answer is slow to leave.
        item = table.get(request.path_params["id"])
        item = dict(item) if item is not None else None
        denied = await self._authorised(request)
        if denied:
            return denied
        if item is None:
            return JSONResponse({"code": "not_found"}, status_code=404)
        return JSONResponse(item)

    async def _user(self, request: Request) -> Response:
        return await self._lookup(request, self.users)

    async def _account(self, request: Request) -> Response:
        return await self._lookup(request, self.accounts)

    async def _plan(self, request: Request) -> Response:
        return await self._lookup(request, self.plans)

    async def _health(self, request: Request) -> Response:
        failed = await self._gate(request)
        return failed or JSONResponse({"status": "healthy"})

    def add_company(self, *, status: str = "active",
                    modules: tuple[str, ...] = ("StockTech", "Lucrum"),
                    is_active: bool = True) -> tuple[uuid.UUID, uuid.UUID]:
        aid, uid, pid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        plan = {"id": str(pid), "name": "Empresa", "max_products": 500, "max_users": 5,
                "max_transactions": 2000}
        self.accounts[str(aid)] = {"id": str(aid), "company_name": "Empresa Teste LTDA",
                                   "cnpj": "11222333000181", "whatsapp": "+5511987654321",
                                   "enabled_modules": list(modules), "status": status,
                                   "plan": plan}
        self.plans[str(aid)] = {**plan, "features": ["whatsapp"], "status": status}
        self.users[str(uid)] = {"id": str(uid), "full_name": "João Silva",
                                "cpf": "52998224725", "whatsapp": "+5511987654321",
                                "account_id": str(aid), "role": "admin", "is_active": is_active}
        return aid, uid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="critical", lifespan="off",
                                timeout_graceful_shutdown=0)
        self.server = uvicorn.Server(config)
        self.task = asyncio.create_task(self.server.serve(sockets=[sock]))
        while not self.server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, no event)
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """AvAdmin down: the port refuses connections."""
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            self.server.force_exit = True
            await self.task
            self.server = None
            self.task = None


@pytest.fixture
async def stub() -> AsyncIterator[StubAvAdmin]:
    s = StubAvAdmin()
    await s.start()
    try:
        yield s
    finally:
        s.delay = 0
        await s.stop()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def module_name() -> str:
    """A unique module namespace per test: parallel runs on one Redis never collide."""
    return f"Test{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def make_client(
    stub: StubAvAdmin, redis: aioredis.Redis, module_name: str
) -> AsyncIterator[Any]:
    from avelar_kit.avadmin.client import AvAdminClient

    made: list[AvAdminClient] = []

    def _make(**kw: Any) -> AvAdminClient:
        from avelar_kit.redis_guard import RedisGuard

        # Redis deadlines generous enough for a loaded test machine: these tests are about
        # AvAdmin's answers; Redis' own deadlines and budget are test_resilience.py's.
        opts: dict[str, Any] = {"module": module_name, "breaker_threshold": 3,
                                "breaker_reset_timeout": 0.5,
                                "redis_guard": RedisGuard(module_name, call_timeout=2.0,
                                                          request_budget=5.0)}
        opts.update(kw)
        base_url = opts.pop("base_url", stub.url)
        secret = opts.pop("client_secret", "s3cret-s3cret-s3cret-s3cret")
        client = AvAdminClient(base_url, "stocktech", secret, redis, **opts)
        made.append(client)
        return client

    yield _make
    for c in made:
        await c.aclose()
