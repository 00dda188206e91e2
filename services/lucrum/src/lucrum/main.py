"""Lucrum: the AvelarSys finance module."""

from __future__ import annotations

from fastapi import FastAPI

from avelar_kit.app import create_module_app
from avelar_kit.audit import audit_router
from avelar_kit.auth.verifier import TokenVerifier
from avelar_kit.avadmin.protocol import AvAdminReader
from avelar_kit.events import StreamConsumer
from lucrum.audit.models import AuditLog
from lucrum.bank_accounts.router import router as bank_accounts_router
from lucrum.banks.router import router as banks_router
from lucrum.categories.router import router as categories_router
from lucrum.config import Settings
from lucrum.events.consumer import stocktech_consumer
from lucrum.events.handlers import AVADMIN_HANDLERS
from lucrum.events.models import HandledEvent
from lucrum.events.router import router as pending_postings_router
from lucrum.imports.router import router as imports_router
from lucrum.permissions import MODULE, PERMISSIONS
from lucrum.privacy.router import router as privacy_router
from lucrum.reports.router import router as reports_router
from lucrum.transactions.codes import CodeGenerator, random_code
from lucrum.transactions.router import router as transactions_router
from lucrum.transfers.router import router as transfers_router

DESCRIPTION = """
Sistema financeiro do AvelarSys: contas bancárias, lançamentos (receitas e despesas) com saldo
sempre exato, transferências entre contas, relatórios de fluxo de caixa, importação de extratos
OFX e CSV, e as vendas do StockTech lançadas automaticamente.

Valores monetários são strings com ponto decimal (`"1234.56"`), sempre positivos; o `type`
indica o sentido. Autentique-se com o `access_token` de um usuário obtido no AvAdmin
(`POST /api/auth/login`) e clique em **Authorize**. A empresa precisa ter o módulo Lucrum
habilitado.
"""


def create_app(
    settings: Settings | None = None,
    *,
    avadmin: AvAdminReader | None = None,
    verifier: TokenVerifier | None = None,
    code_generator: CodeGenerator | None = None,
) -> FastAPI:
    """The Lucrum app. ``avadmin`` and ``verifier`` replace the real AvAdmin client and JWKS
    verifier (tests); without them both talk to AvAdmin at ``settings.avadmin_url``.
    ``code_generator`` replaces the random transaction codes (tests squeeze the code space to
    force collisions)."""
    settings = settings or Settings()

    async def startup(app: FastAPI) -> None:
        app.state.code_generator = code_generator or random_code
        app.state.stocktech_consumer = None
        if settings.events_enabled:
            consumer = stocktech_consumer(app, settings)
            await consumer.start()
            app.state.stocktech_consumer = consumer

    async def shutdown(app: FastAPI) -> None:
        consumer: StreamConsumer | None = getattr(app.state, "stocktech_consumer", None)
        if consumer is not None:
            await consumer.stop()

    # The AvAdmin consumer invalidates the client's cache, then runs Lucrum's own handlers
    # (account.updated: Lucrum enabled again posts the sales that waited for it).
    return create_module_app(
        module=MODULE, settings=settings, title="Lucrum", description=DESCRIPTION,
        permissions=PERMISSIONS,
        routers=(banks_router, bank_accounts_router, imports_router, transactions_router,
                 transfers_router, categories_router, reports_router,
                 pending_postings_router, privacy_router, audit_router(AuditLog)),
        avadmin=avadmin, verifier=verifier, handled_model=HandledEvent,
        handlers=AVADMIN_HANDLERS,
        on_startup=[startup], on_shutdown=[shutdown],
    )
