"""Lucrum: the AvelarSys finance module."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from avelar_kit.access import AccessRules, WriteIntentMiddleware
from avelar_kit.app import create_service_app
from avelar_kit.auth.verifier import RemoteJWKS, TokenVerifier
from avelar_kit.avadmin.integration import AvAdminIntegration
from avelar_kit.avadmin.protocol import AvAdminReader
from avelar_kit.events import StreamConsumer
from avelar_kit.health import Check
from lucrum.bank_accounts.router import router as bank_accounts_router
from lucrum.banks.router import router as banks_router
from lucrum.categories.router import router as categories_router
from lucrum.codes import CodeGenerator, random_code
from lucrum.config import Settings
from lucrum.events.consumer import CONSUMER_BLOCK_MS, stocktech_consumer
from lucrum.events.models import HandledEvent
from lucrum.imports.router import router as imports_router
from lucrum.reports.router import router as reports_router
from lucrum.transactions.router import router as transactions_router
from lucrum.transfers.router import router as transfers_router

MODULE = "Lucrum"

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
    integration: AvAdminIntegration | None = None
    if avadmin is None:
        secret = settings.avadmin_client_secret
        integration = AvAdminIntegration(
            module=MODULE,
            base_url=settings.avadmin_url,
            client_id=settings.avadmin_client_id,
            client_secret=secret.get_secret_value() if secret is not None else "",
            # The AvAdmin consumer only invalidates the client's cache; Lucrum has no handler
            # of its own for AvAdmin events.
            handled_model=HandledEvent if settings.events_enabled else None,
            stream=settings.avadmin_events_stream,
            group=settings.consumer_group,
            consumer_options={"block_ms": CONSUMER_BLOCK_MS},
        )

    def verifier_factory(app: FastAPI) -> TokenVerifier:
        if verifier is not None:
            return verifier
        return TokenVerifier(
            RemoteJWKS(f"{settings.avadmin_url.rstrip('/')}/.well-known/jwks.json"),
            issuer=settings.token_issuer, audience=settings.token_audience,
        )

    async def startup(app: FastAPI) -> None:
        app.state.code_generator = code_generator or random_code
        if integration is not None:
            await integration.startup(app)  # app.state.avadmin, access rules, AvAdmin consumer
        else:
            app.state.avadmin = avadmin
            app.state.principal_checks.append(AccessRules(avadmin, MODULE))  # type: ignore[arg-type]
        app.state.stocktech_consumer = None
        if settings.events_enabled:
            consumer = stocktech_consumer(app, settings)
            await consumer.start()
            app.state.stocktech_consumer = consumer

    async def shutdown(app: FastAPI) -> None:
        consumer: StreamConsumer | None = getattr(app.state, "stocktech_consumer", None)
        if consumer is not None:
            await consumer.stop()
        if integration is not None:
            await integration.shutdown(app)

    def health_extra(app: FastAPI) -> Check:
        if integration is not None:
            return integration.health_check(app)

        async def injected() -> dict[str, Any]:
            return {"avadmin_api": "not_checked"}

        return injected

    app = create_service_app(
        module=MODULE, settings=settings, verifier_factory=verifier_factory, title="Lucrum",
        description=DESCRIPTION, on_startup=[startup], on_shutdown=[shutdown],
        health_extra=health_extra,
    )
    # Marks reads and writes: the AvAdmin client serves reads from its last known copy while
    # AvAdmin is down, but authorises writes only with fresh enough data.
    app.add_middleware(WriteIntentMiddleware)
    for router in (banks_router, bank_accounts_router, imports_router, transactions_router,
                   transfers_router, categories_router, reports_router):
        app.include_router(router)
    return app
