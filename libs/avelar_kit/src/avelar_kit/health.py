"""Health endpoints every module serves.

- ``GET /health``: the seed's check: status, module, database, redis (and ``avadmin_api`` with
  ``avadmin_breaker`` in the modules that read AvAdmin), timestamp. 200 healthy or degraded,
  503 when the module's own database is down.
- ``GET /health/live``: liveness. The process answers; no I/O at all, so a slow database never
  gets a healthy process restarted.
- ``GET /health/ready``: readiness. What the module needs to serve: its database (503 without
  it). Redis and AvAdmin are reported but do not fail readiness: the module degrades without
  them (cache and events pause, the AvAdmin fallback answers), and taking every replica out of
  the load balancer because Redis blinked would turn a degradation into an outage.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from avelar_kit.plain import PlainAnswer, plain_route
from avelar_kit.public import PUBLIC

logger = logging.getLogger("avelar_kit.health")

# An extra check returns the fields it adds to the body; keys starting with "_" are flags for
# this module (``_degraded``) and never reach the body.
Check = Callable[[], Awaitable[dict[str, Any]]]

HEALTH_PATHS = frozenset({"/health", "/health/live", "/health/ready"})
# Liveness is a plain route (``avelar_kit.plain``, ADR 0021): the frame serves this answer ahead
# of FastAPI's router, so a probe costs next to nothing even while the process is busy.
LIVE_ANSWER = PlainAnswer(b'{"status":"alive"}')


async def check_database(engine: AsyncEngine, timeout: float = 2.0) -> bool:
    try:
        async with asyncio.timeout(timeout):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        return True
    except Exception as exc:  # any failure means "not connected"
        logger.warning("health: database unreachable (%s)", type(exc).__name__)
        return False


async def check_redis(redis: Any, timeout: float = 1.0) -> bool:
    if redis is None:
        return False
    try:
        async with asyncio.timeout(timeout):
            await redis.ping()
        return True
    except Exception as exc:
        logger.warning("health: redis unreachable (%s)", type(exc).__name__)
        return False


async def _probe(
    engine_getter: Callable[[], AsyncEngine],
    redis_getter: Callable[[], Any],
    extra_check: Check | None,
) -> tuple[bool, bool, dict[str, Any]]:
    """Database, Redis and the extra check, concurrently. Returns (db_ok, degraded, fields)."""

    async def no_extra() -> dict[str, Any]:
        return {}

    db_ok, redis_ok, extra = await asyncio.gather(
        check_database(engine_getter()), check_redis(redis_getter()),
        (extra_check or no_extra)(),
    )
    fields: dict[str, Any] = {
        "database": "connected" if db_ok else "disconnected",
        "redis": "connected" if redis_ok else "disconnected",
    }
    degraded = not redis_ok or bool(extra.get("_degraded", False))
    fields.update({k: v for k, v in extra.items() if not k.startswith("_")})
    return db_ok, degraded, fields


def health_router(
    module: str,
    engine_getter: Callable[[], AsyncEngine],
    redis_getter: Callable[[], Any],
    extra_check: Check | None = None,
) -> APIRouter:
    """``GET /health``: 200 healthy or degraded, 503 when the module's own database is down.

    Redis and AvAdmin are dependencies the module survives without (cache and events pause,
    fallbacks answer), so losing them makes the module ``degraded``, not down.
    """
    router = APIRouter(tags=["health"], dependencies=[PUBLIC])

    @router.get("/health", summary="Health check")
    async def health() -> JSONResponse:
        db_ok, degraded, fields = await _probe(engine_getter, redis_getter, extra_check)
        status = "unhealthy" if not db_ok else "degraded" if degraded else "healthy"
        body = {"status": status, "module": module, **fields,
                "timestamp": datetime.now(UTC).isoformat()}
        return JSONResponse(body, status_code=200 if db_ok else 503)

    @router.get("/health/ready", summary="Readiness: the module's database answers")
    async def ready() -> JSONResponse:
        db_ok, degraded, fields = await _probe(engine_getter, redis_getter, extra_check)
        status = "not_ready" if not db_ok else "degraded" if degraded else "ready"
        body = {"status": status, "module": module, **fields}
        return JSONResponse(body, status_code=200 if db_ok else 503)

    return router


def serve_live(app: FastAPI) -> None:
    """``GET /health/live`` on ``app`` as a plain route (no I/O, nothing of FastAPI's)."""
    plain_route(app, "/health/live", LIVE_ANSWER, tags=["health"],
                summary="Liveness: the process answers (no I/O)")
