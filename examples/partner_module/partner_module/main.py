"""The partner module's app: avelar_kit's module frame, one router, one event handler.

Run: ``uvicorn --factory partner_module.main:create_app`` with PARTNER_* variables."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from avelar_kit.app import create_module_app
from partner_module.config import Settings
from partner_module.events import on_plan_changed
from partner_module.models import HandledEvent
from partner_module.notes.router import router as notes_router


def create_app(settings: Settings | None = None, **overrides: Any) -> FastAPI:
    """``overrides`` tune the AvAdmin integration (tests shorten timeouts and intervals)."""
    settings = settings or Settings()
    return create_module_app(
        module=settings.module_name, settings=settings, title="Partner example",
        description="Um módulo de parceiro mínimo sobre o avelar_kit.",
        routers=(notes_router,),
        handlers={"account.plan_changed": on_plan_changed}, handled_model=HandledEvent,
        client_options={"cache_ttl": settings.avadmin_cache_ttl,
                        **overrides.get("client_options", {})},
        consumer_options=overrides.get("consumer_options", {}),
    )
