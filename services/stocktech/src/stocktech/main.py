"""StockTech: the AvelarSys B2B marketplace."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.app import create_module_app
from avelar_kit.audit import audit_router
from avelar_kit.auth.verifier import TokenVerifier
from avelar_kit.avadmin.protocol import AvAdminReader
from avelar_kit.events.consumer import Handler
from avelar_kit.events.envelope import EventEnvelope
from avelar_kit.jobs import ScheduledJob
from stocktech.accounts.router import router as internal_router
from stocktech.accounts.service import local_standing
from stocktech.audit.models import AuditLog
from stocktech.catalog.router import router as catalog_router
from stocktech.cli import PRUNE_JOB, prune_idempotency
from stocktech.config import Settings
from stocktech.events.handlers import HANDLERS, handle_event
from stocktech.events.models import HandledEvent, OutboxEvent
from stocktech.permissions import MODULE, PERMISSIONS
from stocktech.privacy.router import router as privacy_router
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
    handlers: dict[str, Handler] = dict.fromkeys(HANDLERS, _apply)

    def jobs(app: FastAPI) -> list[ScheduledJob]:
        return [ScheduledJob(PRUNE_JOB, settings.prune_idempotency_interval_seconds,
                             lambda: prune_idempotency(app.state.db, settings))]

    return create_module_app(
        module=MODULE, settings=settings, title="StockTech", description=DESCRIPTION,
        permissions=PERMISSIONS,
        routers=(catalog_router, products_router, transactions_router, internal_router,
                 audit_router(AuditLog), privacy_router),
        avadmin=avadmin, verifier=verifier,
        handlers=handlers, handled_model=HandledEvent, outbox_model=OutboxEvent,
        local_check=local_standing, jobs=jobs,
    )
