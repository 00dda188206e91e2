"""The seed's health check: status, module, database, redis (and avadmin_api), timestamp."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger("avelar_kit.health")

Check = Callable[[], Awaitable[dict[str, Any]]]


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
    router = APIRouter(tags=["health"])

    @router.get("/health", summary="Health check")
    async def health() -> JSONResponse:
        db_ok, redis_ok = await asyncio.gather(
            check_database(engine_getter()), check_redis(redis_getter())
        )
        body: dict[str, Any] = {
            "status": "healthy",
            "module": module,
            "database": "connected" if db_ok else "disconnected",
            "redis": "connected" if redis_ok else "disconnected",
        }
        degraded = not redis_ok
        if extra_check is not None:
            extra = await extra_check()
            degraded = degraded or bool(extra.pop("_degraded", False))
            body.update(extra)
        body["timestamp"] = datetime.now(UTC).isoformat()
        if not db_ok:
            body["status"] = "unhealthy"
            return JSONResponse(body, status_code=503)
        if degraded:
            body["status"] = "degraded"
        return JSONResponse(body, status_code=200)

    return router
