"""StockTech: the AvelarSys B2B marketplace."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.app import create_service_app
from avelar_kit.auth.verifier import TokenVerifier, avadmin_verifier
from avelar_kit.avadmin.integration import AvAdminIntegration, InjectedAvAdmin
from avelar_kit.avadmin.protocol import AvAdminReader
from avelar_kit.events.consumer import Handler
from avelar_kit.events.envelope import EventEnvelope
from avelar_kit.events.relay import OutboxRelay
from avelar_kit.jobs import JobRunner, ScheduledJob
from avelar_kit.settings import SERVICE_AUDIENCE
from stocktech.accounts.router import router as internal_router
from stocktech.accounts.service import principal_check
from stocktech.catalog.router import router as catalog_router
from stocktech.cli import PRUNE_JOB, prune_idempotency
from stocktech.config import Settings
from stocktech.deps import MODULE
from stocktech.events.handlers import HANDLERS, handle_event
from stocktech.events.models import HandledEvent, OutboxEvent
from stocktech.products.router import router as products_router
from stocktech.transactions.router import router as transactions_router

DESCRIPTION = """
Marketplace B2B do AvelarSys: empresas anunciam peças e aparelhos, outras empresas compram, e
as duas conversam pelo WhatsApp.

Autentique-se com o `access_token` de um usuário obtido no AvAdmin (`POST /api/auth/login`) e
clique em **Authorize**. A empresa precisa ter o módulo StockTech habilitado.
"""


async def _apply(event: EventEnvelope, session: AsyncSession) -> None:
    await handle_event(session, event.model_dump(mode="json"))


def create_app(
    settings: Settings | None = None,
    *,
    avadmin: AvAdminReader | None = None,
    verifier: TokenVerifier | None = None,
) -> FastAPI:
    """The StockTech app. ``avadmin`` and ``verifier`` replace the real AvAdmin client and
    JWKS verifier (tests); without them both talk to AvAdmin at ``settings.avadmin_url``."""
    settings = settings or Settings()
    integration: AvAdminIntegration | InjectedAvAdmin
    if avadmin is not None:
        integration = InjectedAvAdmin(avadmin, MODULE)
    else:
        secret = settings.avadmin_client_secret
        handlers: dict[str, Handler] = dict.fromkeys(HANDLERS, _apply)
        integration = AvAdminIntegration(
            module=MODULE,
            base_url=settings.avadmin_url,
            client_id=settings.avadmin_client_id,
            client_secret=secret.get_secret_value() if secret is not None else "",
            handled_model=HandledEvent if settings.events_enabled else None,
            handlers=handlers,
            stream=settings.avadmin_events_stream,
            group=settings.consumer_group,
        )

    def verifier_factory(app: FastAPI) -> TokenVerifier:
        if verifier is not None:
            return verifier
        return avadmin_verifier(settings.avadmin_url, issuer=settings.token_issuer,
                                audience=settings.token_audience,
                                service_audience=SERVICE_AUDIENCE)

    async def startup(app: FastAPI) -> None:
        await integration.startup(app)  # app.state.avadmin, access rules, consumer
        # Local, event-fed standing (no AvAdmin call): a suspension or deactivation applies at
        # once even where the AvAdmin client's cache could still answer "active".
        app.state.principal_checks.append(principal_check(lambda: app.state.db))
        app.state.relay = None
        if settings.events_enabled:
            relay = OutboxRelay(app.state.db.sessionmaker, app.state.redis, model=OutboxEvent,
                                source=MODULE, stream=settings.events_stream)
            await relay.start()
            app.state.relay = relay
        app.state.jobs = JobRunner(app.state.db.engine, [ScheduledJob(
            PRUNE_JOB, settings.prune_idempotency_interval_seconds,
            lambda: prune_idempotency(app.state.db, settings))])
        await app.state.jobs.start()

    async def shutdown(app: FastAPI) -> None:
        jobs: JobRunner | None = getattr(app.state, "jobs", None)
        if jobs is not None:
            await jobs.stop()
        relay: OutboxRelay | None = getattr(app.state, "relay", None)
        if relay is not None:
            await relay.stop()
        await integration.shutdown(app)

    app = create_service_app(
        module=MODULE, settings=settings, verifier_factory=verifier_factory, title="StockTech",
        description=DESCRIPTION, on_startup=[startup], on_shutdown=[shutdown],
        health_extra=integration.health_check,
    )
    # Marks reads and writes: the AvAdmin client serves reads from its last known copy while
    # AvAdmin is down, but authorises writes only with fresh enough data.
    integration.install(app)
    for router in (catalog_router, products_router, transactions_router, internal_router):
        app.include_router(router)
    return app
