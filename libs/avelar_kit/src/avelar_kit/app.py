"""The frame every module's ``create_app()`` builds on: logging, request ids, problem+json
errors, the database, Redis, the token verifier, ``/health`` (live, ready), ``/metrics`` and
traces."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from fastapi import FastAPI
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from avelar_kit.auth.verifier import TokenVerifier
from avelar_kit.db.session import Database
from avelar_kit.errors import install_error_handlers
from avelar_kit.health import Check, health_router
from avelar_kit.logging import RequestIdMiddleware, configure_logging
from avelar_kit.observability import install_observability
from avelar_kit.settings import ServiceSettings

logger = logging.getLogger("avelar_kit.app")

Hook = Callable[[FastAPI], Awaitable[None]]


def create_service_app(
    *,
    module: str,
    settings: ServiceSettings,
    verifier_factory: Callable[[FastAPI], TokenVerifier],
    title: str,
    description: str = "",
    version: str = "0.1.0",
    on_startup: list[Hook] | None = None,
    on_shutdown: list[Hook] | None = None,
    health_extra: Callable[[FastAPI], Check] | None = None,
    **fastapi_kwargs: Any,
) -> FastAPI:
    configure_logging(module, settings.log_format, settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = Database(settings.database_url, pool_size=settings.db_pool_size,
                                max_overflow=settings.db_max_overflow,
                                pool_timeout=settings.db_pool_timeout)
        # One quick retry, no backoff: with Redis down a cache call must fail fast so that the
        # fallback answers, instead of stalling the request through redis-py's default backoff.
        app.state.redis = aioredis.Redis.from_url(
            settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0,
            health_check_interval=30, retry=Retry(NoBackoff(), 1),
        )
        app.state.verifier = verifier_factory(app)
        app.state.principal_checks = []
        for hook in on_startup or []:
            await hook(app)
        logger.info("%s started", module)
        try:
            yield
        finally:
            for hook in reversed(on_shutdown or []):
                with contextlib.suppress(Exception):
                    await hook(app)
            await app.state.redis.aclose()
            await app.state.db.dispose()
            logger.info("%s stopped", module)

    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan,
                  **fastapi_kwargs)
    app.state.settings = settings
    app.state.module = module
    install_error_handlers(app)
    app.add_middleware(RequestIdMiddleware)
    extra = health_extra(app) if health_extra else None
    app.include_router(
        health_router(module, lambda: app.state.db.engine,
                      lambda: getattr(app.state, "redis", None), extra)
    )
    install_observability(app, module, settings)
    return app
