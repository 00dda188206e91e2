"""AvAdmin: the SaaS core and user authority of AvelarSys."""

from __future__ import annotations

from fastapi import FastAPI

from avadmin.accounts.router import router as accounts_router
from avadmin.audit.models import AuditLog
from avadmin.auth.router import router as auth_router
from avadmin.auth.service import AuthService
from avadmin.billing.gateway import MercadoPagoGateway
from avadmin.billing.router import router as billing_router
from avadmin.billing.usage import StockTechUsage
from avadmin.billing.worker import NotificationWorker
from avadmin.config import Settings
from avadmin.dependencies import operator_check
from avadmin.events.models import OutboxEvent
from avadmin.jobs import scheduled
from avadmin.operators.router import router as operators_router
from avadmin.permissions import PERMISSIONS
from avadmin.plans.router import router as plans_router
from avadmin.privacy.router import router as privacy_router
from avadmin.privacy.sources import ModuleSource, ModuleSources
from avadmin.privacy.worker import PrivacyWork
from avadmin.security.keys import KeyRing, load_keyring
from avadmin.security.tokens import TokenIssuer
from avadmin.users.router import get_user_lean
from avadmin.users.router import router as users_router
from avadmin.whatsapp.codes import derive_key
from avadmin.whatsapp.limits import RateLimiter
from avadmin.whatsapp.router import router as whatsapp_router
from avadmin.whatsapp.runtime import start_whatsapp, stop_whatsapp
from avadmin.whatsapp.service import OtpService
from avelar_kit.abuse import LimitRule
from avelar_kit.app import create_service_app
from avelar_kit.audit import audit_router
from avelar_kit.auth.caller import checking_resolver
from avelar_kit.auth.verifier import LocalJWKS, TokenVerifier
from avelar_kit.events.relay import OutboxRelay
from avelar_kit.jobs import JobRunner
from avelar_kit.lean import lean_read
from avelar_kit.plain import PlainAnswer, plain_route
from avelar_kit.settings import SERVICE_AUDIENCE

DESCRIPTION = """
Núcleo SaaS do AvelarSys: empresas (CNPJ), usuários (login por CPF e senha), planos e limites,
módulos habilitados por empresa. Emite os tokens (EdDSA, chaves públicas em
`/.well-known/jwks.json`) e serve a API interna aos outros módulos.

Para experimentar: `POST /api/auth/login` com o CPF e a senha de demonstração que `make run`
mostrou, copie o `access_token` e clique em **Authorize**.
"""


async def start_billing(app: FastAPI, settings: Settings) -> None:
    """The payment gateway (MercadoPago, when configured), StockTech's usage endpoint, the
    webhook worker and the scheduled jobs (dunning, outbox pruning)."""
    token = settings.mercadopago_access_token
    app.state.gateway = (MercadoPagoGateway(settings.mercadopago_api_url,
                                            token.get_secret_value(),
                                            timeout=settings.mercadopago_timeout_seconds)
                         if token is not None else None)
    app.state.usage = (StockTechUsage(settings.stocktech_url, app.state.issuer)
                       if settings.stocktech_url else None)
    app.state.billing_worker = None
    if app.state.gateway is not None and settings.billing_worker_enabled:
        app.state.billing_worker = NotificationWorker(
            app.state.db.sessionmaker, app.state.gateway,
            sweep_seconds=settings.billing_sweep_seconds)
        await app.state.billing_worker.start()
    app.state.jobs = JobRunner(app.state.db.engine,
                               scheduled(app.state.db, settings, app.state.privacy))
    await app.state.jobs.start()


def start_privacy(app: FastAPI, settings: Settings) -> None:
    """The modules that answer for their part of an export, and the privacy job's work."""
    sources = [ModuleSource(name, url) for name, url in
               (("StockTech", settings.stocktech_url), ("Lucrum", settings.lucrum_url)) if url]
    app.state.privacy_sources = ModuleSources(sources, app.state.issuer,
                                              timeout=settings.privacy_export_wait_seconds)
    app.state.privacy = PrivacyWork(app.state.db, app.state.redis, app.state.privacy_sources,
                                    [settings.events_stream, f"{settings.events_stream}:dead"])


async def stop_billing(app: FastAPI) -> None:
    await app.state.jobs.stop()
    if app.state.billing_worker is not None:
        await app.state.billing_worker.stop()
    if app.state.gateway is not None:
        await app.state.gateway.aclose()


def create_app(settings: Settings | None = None, *, keyring: KeyRing | None = None) -> FastAPI:
    settings = settings or Settings()
    ring = keyring or load_keyring(settings)

    def verifier_factory(app: FastAPI) -> TokenVerifier:
        return TokenVerifier(LocalJWKS(ring.jwks()), issuer=settings.token_issuer,
                             audience=settings.token_audience, service_audience=SERVICE_AUDIENCE)

    async def startup(app: FastAPI) -> None:
        app.state.limiter = RateLimiter(app.state.redis, settings.rate_limit_prefix)
        secret = (settings.otp_secret.get_secret_value() if settings.otp_secret
                  else ring.current.pem())
        app.state.otp = OtpService(app.state.db, settings, app.state.limiter, derive_key(secret))
        app.state.auth_service = AuthService(app.state.db, settings, app.state.issuer,
                                             app.state.verifier, app.state.otp)
        # AvAdmin is the authority: the caller is checked against its own tables.
        app.state.caller_resolver = checking_resolver(app.state.auth_service.check_principal)
        app.state.operator_check = operator_check
        app.state.relay = None
        if settings.events_relay_enabled:
            app.state.relay = OutboxRelay(app.state.db.sessionmaker, app.state.redis,
                                          model=OutboxEvent, source="AvAdmin",
                                          stream=settings.events_stream)
            await app.state.relay.start()
        start_privacy(app, settings)
        await start_billing(app, settings)
        await start_whatsapp(app, settings)

    async def shutdown(app: FastAPI) -> None:
        await stop_whatsapp(app)
        await stop_billing(app)
        if app.state.relay is not None:
            await app.state.relay.stop()

    app = create_service_app(
        module="AvAdmin", settings=settings, verifier_factory=verifier_factory,
        title="AvAdmin", description=DESCRIPTION, on_startup=[startup],
        on_shutdown=[shutdown], permissions=PERMISSIONS,
        abuse_rules=[
            LimitRule("login", "POST", "/api/auth/login", settings.abuse_limit_login),
            LimitRule("signup", "POST", "/api/auth/signup", settings.abuse_limit_signup),
            LimitRule("refresh", "POST", "/api/auth/refresh", settings.abuse_limit_refresh),
            LimitRule("operator_login", "POST", "/api/operator/login",
                      settings.abuse_limit_operator_login),
            LimitRule("service_token", "POST", "/api/auth/service-token",
                      settings.abuse_limit_service_token),
        ],
    )
    app.state.keyring = ring
    # A plain route (ADR 0021): the same bytes for everyone, served ahead of FastAPI's router.
    plain_route(app, "/.well-known/jwks.json",
                PlainAnswer(ring.jwks_json, headers=[(b"cache-control", b"public, max-age=300")]),
                summary="Public signing keys", tags=["auth"],
                description="Public keys (by `kid`) with which the other modules verify "
                            "AvAdmin's tokens.")
    app.state.issuer = TokenIssuer(ring, settings)
    # The internal user lookup of the other modules, answered lean where it can (ADR 0023).
    lean_read(app, "/api/users/{user_id}", get_user_lean)
    for router in (auth_router, plans_router, accounts_router, users_router, operators_router,
                   billing_router, whatsapp_router, audit_router(AuditLog), privacy_router):
        app.include_router(router)
    return app
