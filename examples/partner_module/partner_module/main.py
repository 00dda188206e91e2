"""The partner module's app: avelar_kit's frame plus the AvAdmin integration.

Run: ``uvicorn --factory partner_module.main:create_app`` with PARTNER_* variables."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from avelar_kit.app import create_service_app
from avelar_kit.auth.verifier import TokenVerifier, avadmin_verifier
from avelar_kit.avadmin.integration import AvAdminIntegration
from partner_module.config import Settings
from partner_module.events import on_plan_changed
from partner_module.models import HandledEvent
from partner_module.notes.router import router as notes_router


def create_app(settings: Settings | None = None, **overrides: Any) -> FastAPI:
    """``overrides`` tune the AvAdmin integration (tests shorten timeouts and intervals)."""
    settings = settings or Settings()
    avadmin = AvAdminIntegration(
        module=settings.module_name,
        base_url=settings.avadmin_url,
        client_id=settings.avadmin_client_id,
        client_secret=settings.avadmin_client_secret,
        handled_model=HandledEvent,
        handlers={"account.plan_changed": on_plan_changed},
        stream=settings.events_stream,
        group=settings.events_group,
        client_options={"cache_ttl": settings.avadmin_cache_ttl,
                        **overrides.get("client_options", {})},
        consumer_options=overrides.get("consumer_options", {}),
    )

    def verifier(app: FastAPI) -> TokenVerifier:
        return avadmin_verifier(settings.avadmin_url, issuer=settings.token_issuer,
                                audience=settings.token_audience)

    app = create_service_app(
        module=settings.module_name, settings=settings, verifier_factory=verifier,
        title="Partner example", description="Um módulo de parceiro mínimo sobre o avelar_kit.",
        on_startup=[avadmin.startup], on_shutdown=[avadmin.shutdown],
        health_extra=avadmin.health_check,
    )
    avadmin.install(app)
    app.state.avadmin_integration = avadmin
    app.include_router(notes_router)
    return app
