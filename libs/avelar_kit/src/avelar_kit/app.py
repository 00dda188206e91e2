"""The frame every module's ``create_app()`` builds on.

- ``create_service_app``: logging, request ids, problem+json errors, the database, Redis, the
  token verifier, the caller resolver, ``/health`` (live, ready), ``/metrics`` and traces.
  AvAdmin, the authority, builds on it.
- ``create_module_app``: a consuming module (StockTech, Lucrum, a partner's module, the web
  portal to come): the service frame plus everything that talks to AvAdmin.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis
from fastapi import APIRouter, FastAPI
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from avelar_kit import tracing
from avelar_kit.abuse import AbuseLimiter, LimitRule
from avelar_kit.auth.caller import CallerResolver, LocalCheck
from avelar_kit.auth.permissions import Permissions
from avelar_kit.auth.verifier import TokenVerifier, avadmin_verifier
from avelar_kit.avadmin.integration import AvAdminIntegration, InjectedAvAdmin
from avelar_kit.avadmin.protocol import AvAdminReader
from avelar_kit.db.session import Database
from avelar_kit.errors import install_error_handlers
from avelar_kit.events.consumer import HandledEventMixin, Handler
from avelar_kit.events.outbox import OutboxMixin
from avelar_kit.events.relay import OutboxRelay
from avelar_kit.health import Check, health_router, serve_live
from avelar_kit.jobs import JobRunner, ScheduledJob
from avelar_kit.lean import lean_routes
from avelar_kit.logging import configure_logging
from avelar_kit.middleware import KitMiddleware
from avelar_kit.observability import install_observability
from avelar_kit.plain import plain_routes
from avelar_kit.redis_guard import RedisGuard
from avelar_kit.settings import SERVICE_AUDIENCE, ModuleSettings, ServiceSettings

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
    caller_resolver: Callable[[FastAPI], CallerResolver] | None = None,
    permissions: Permissions | None = None,
    abuse_rules: Sequence[LimitRule] = (),
    **fastapi_kwargs: Any,
) -> FastAPI:
    """``caller_resolver`` builds, at startup, what ``get_caller`` asks for the caller's standing
    (a consuming module's AvAdmin integration sets its own in its startup hook)."""
    configure_logging(module, settings.log_format, settings.log_level,
                      access_log=settings.access_log)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = Database(settings.database_url, pool_size=settings.db_pool_size,
                                max_overflow=settings.db_max_overflow,
                                lean_pool_size=settings.db_lean_pool_size,
                                pool_timeout=settings.db_pool_timeout,
                                connect_timeout=settings.db_connect_timeout)
        # No retry: a request's Redis calls are bounded by the guard (deadline, budget,
        # breaker; avelar_kit.redis_guard), never by the socket's timeouts and retries. A
        # blocking pool: a burst waits (briefly) for a connection instead of failing.
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=settings.redis_max_connections,
            timeout=settings.redis_pool_timeout, socket_timeout=1.0,
            socket_connect_timeout=1.0, health_check_interval=30, retry=Retry(NoBackoff(), 0),
        )
        app.state.redis = aioredis.Redis(connection_pool=pool)
        app.state.abuse_limiter = AbuseLimiter(
            module=module, redis_url=settings.redis_url, guard=app.state.redis_guard,
            rules=abuse_rules, public_limit=settings.abuse_limit_public,
            connection_pool=pool) if settings.abuse_limits_enabled else None
        app.state.verifier = verifier_factory(app)
        if caller_resolver is not None:
            app.state.caller_resolver = caller_resolver(app)
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

    # FastAPI's native OpenTelemetry: off (ADR 0017). Spans come from avelar_kit.tracing (the
    # instrumentation when exporting); left on, it asks the global providers on every request.
    fastapi_kwargs.setdefault("telemetry", {"tracing": False, "metrics": False, "logs": False})
    if not settings.docs_enabled:
        fastapi_kwargs.setdefault("docs_url", None)
        fastapi_kwargs.setdefault("redoc_url", None)
    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan,
                  **fastapi_kwargs)
    app.state.settings = settings
    app.state.module = module
    app.state.redis_guard = RedisGuard(
        module, call_timeout=settings.redis_call_timeout,
        request_budget=settings.redis_request_budget,
        threshold=settings.redis_breaker_threshold,
        reset_timeout=settings.redis_breaker_reset_seconds)
    app.state.permissions = permissions or Permissions(module, {})
    install_error_handlers(app)
    # One pure-ASGI layer (ADR 0017): trace context, request id, Redis budget, abuse limits,
    # security headers, access line and metrics. Outside the error handlers (every answer,
    # errors included, gets its headers), inside the exporting instrumentation when there is one
    # (added after it). Built at the first request, when the app's state is complete.
    app.add_middleware(
        KitMiddleware, guard=lambda: app.state.redis_guard,
        limiter=lambda: getattr(app.state, "abuse_limiter", None),
        trace_context=lambda: settings.tracing_enabled and not tracing.exporting(),
        plain_routes=lambda: plain_routes(app), lean_routes=lambda: lean_routes(app))
    extra = health_extra(app) if health_extra else None
    app.include_router(
        health_router(module, lambda: app.state.db.engine,
                      lambda: getattr(app.state, "redis", None), extra)
    )
    serve_live(app)
    install_observability(app, module, settings)
    return app


def avadmin_integration(
    module: str, settings: ModuleSettings, *, avadmin: AvAdminReader | None,
    handlers: Mapping[str, Handler] | None, handled_model: type[HandledEventMixin] | None,
    client_options: Mapping[str, Any] | None, consumer_options: Mapping[str, Any] | None,
    local_check: LocalCheck | None,
) -> AvAdminIntegration | InjectedAvAdmin:
    """The real AvAdmin client and event consumer, or the injected reader of a unit test."""
    if avadmin is not None:
        return InjectedAvAdmin(avadmin, module, local_check)
    secret = settings.avadmin_client_secret
    return AvAdminIntegration(
        module=module, base_url=settings.avadmin_url,
        client_id=settings.avadmin_client_id,
        client_secret=secret.get_secret_value() if secret is not None else "",
        handled_model=handled_model if settings.events_enabled else None,
        handlers=handlers, stream=settings.avadmin_events_stream,
        group=settings.consumer_group or None,
        client_options=client_options, consumer_options=consumer_options,
        local_check=local_check,
    )


async def _start_relay(app: FastAPI, module: str, settings: ModuleSettings,
                       outbox_model: type[OutboxMixin] | None) -> OutboxRelay | None:
    if outbox_model is None or not settings.events_enabled or not settings.events_stream:
        return None
    relay = OutboxRelay(app.state.db.sessionmaker, app.state.redis, model=outbox_model,
                        source=module, stream=settings.events_stream)
    await relay.start()
    return relay


async def _start_jobs(app: FastAPI, jobs: Callable[[FastAPI], Sequence[ScheduledJob]] | None
                      ) -> JobRunner | None:
    if jobs is None:
        return None
    runner = JobRunner(app.state.db.engine, list(jobs(app)))
    await runner.start()
    return runner


def create_module_app(
    *,
    module: str,
    settings: ModuleSettings,
    title: str,
    description: str = "",
    routers: Sequence[APIRouter] = (),
    permissions: Permissions | None = None,
    avadmin: AvAdminReader | None = None,
    verifier: TokenVerifier | None = None,
    handlers: Mapping[str, Handler] | None = None,
    handled_model: type[HandledEventMixin] | None = None,
    outbox_model: type[OutboxMixin] | None = None,
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    client_options: Mapping[str, Any] | None = None,
    consumer_options: Mapping[str, Any] | None = None,
    local_check: LocalCheck | None = None,
    jobs: Callable[[FastAPI], Sequence[ScheduledJob]] | None = None,
) -> FastAPI:
    """A consuming module's app (StockTech, Lucrum, a partner's module): the service frame plus
    the AvAdmin client (cache, breaker, fallback), the caller dependency's resolver, the AvAdmin
    event consumer (cache invalidation, then ``handlers`` by event type, in one transaction with
    ``handled_model``), the outbox relay (``outbox_model``), the role matrix, ``/health`` with
    AvAdmin's state, and the routers. A module's ``main.py`` is its routers and its hooks.

    ``avadmin`` and ``verifier`` replace the real AvAdmin client and JWKS verifier (a module's
    unit tests pass a fake AvAdmin): the same wiring, no client, no consumer. ``jobs`` are the
    module's scheduled jobs (``avelar_kit.jobs``: one replica runs each, under an advisory
    lock)."""
    integration = avadmin_integration(
        module, settings, avadmin=avadmin, handlers=handlers, handled_model=handled_model,
        client_options=client_options, consumer_options=consumer_options,
        local_check=local_check)

    def verifier_factory(app: FastAPI) -> TokenVerifier:
        if verifier is not None:
            return verifier
        return avadmin_verifier(settings.avadmin_url, issuer=settings.token_issuer,
                                audience=settings.token_audience,
                                service_audience=SERVICE_AUDIENCE)

    async def startup(app: FastAPI) -> None:
        await integration.startup(app)  # app.state.avadmin, the caller resolver, the consumer
        app.state.relay = await _start_relay(app, module, settings, outbox_model)
        app.state.jobs = await _start_jobs(app, jobs)
        for hook in on_startup:
            await hook(app)

    async def shutdown(app: FastAPI) -> None:
        for hook in reversed(on_shutdown):
            await hook(app)
        for worker in (getattr(app.state, "jobs", None), getattr(app.state, "relay", None)):
            if worker is not None:
                await worker.stop()
        await integration.shutdown(app)

    app = create_service_app(
        module=module, settings=settings, verifier_factory=verifier_factory, title=title,
        description=description, on_startup=[startup], on_shutdown=[shutdown],
        health_extra=integration.health_check, permissions=permissions,
    )
    app.state.avadmin_integration = integration
    for router in routers:
        app.include_router(router)
    return app
