"""Access rules every module applies through avelar_kit (issue 3, point 5).

A valid signature is not enough: the token was issued up to 15 minutes ago and AvAdmin may have
suspended the account, disabled the module or deactivated the user since. ``AccessRules`` is a
principal check (``app.state.principal_checks``) that asks the AvAdmin client, whose cache is
invalidated by AvAdmin's events, so a change is enforced within seconds, not at token expiry.

The answer may come from the last known copy while AvAdmin is down; for a request that writes
(any method but GET/HEAD/OPTIONS, marked by ``WriteIntentMiddleware``) that copy must be younger
than the client's ``stale_write_bound``, else the request gets 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from avelar_kit.auth.principal import Principal
from avelar_kit.avadmin.protocol import AvAdminReader
from avelar_kit.errors import Forbidden, Unauthorized

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_write_intent: ContextVar[bool] = ContextVar("avelar_write_intent", default=True)


def is_write_request() -> bool:
    """True unless the current request is known to be a read. Outside a request (a worker, a
    script) the answer is True: without knowing, assume the stricter rule."""
    return _write_intent.get()


class WriteIntentMiddleware:
    """Marks the request as a read or a write for the access rules (pure ASGI: no buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _write_intent.set(scope.get("method", "GET").upper() not in SAFE_METHODS)
        try:
            await self.app(scope, receive, send)
        finally:
            _write_intent.reset(token)


class AccessRules:
    """Refuses a user whose account is suspended, whose company does not have ``module``
    enabled, or who was deactivated. Service principals pass (they have their own scope)."""

    def __init__(self, reader: AvAdminReader, module: str) -> None:
        self.reader = reader
        self.module = module

    async def __call__(self, principal: Principal) -> None:
        if principal.kind != "user":
            return
        user_id, account_id = principal.require_user()
        write = is_write_request()
        user, account = await asyncio.gather(
            self.reader.get_user(user_id, for_write=write),
            self.reader.get_account(account_id, for_write=write),
        )
        if user is None or not user.is_active:
            raise Unauthorized("Usuário desativado; procure o administrador da sua empresa",
                               code="user_deactivated")
        if user.account_id != account_id:
            raise Unauthorized("Token inválido", code="invalid_token")
        iat = principal.claims.get("iat")
        if (user.sessions_valid_after is not None and isinstance(iat, int)
                and iat < int(user.sessions_valid_after.timestamp())):
            raise Unauthorized("Sessão encerrada após troca de senha; faça login novamente",
                               code="session_revoked")
        if account is None:
            raise Forbidden("Empresa não encontrada", code="account_not_found")
        if not account.is_active:
            raise Forbidden("A conta da sua empresa está suspensa; regularize o plano no AvAdmin",
                            code="account_suspended")
        if self.module not in account.enabled_modules:
            raise Forbidden(f"O módulo {self.module} não está habilitado para sua empresa",
                            code="module_not_enabled")


def access_rules_hook(
    module: str, reader_getter: Callable[[FastAPI], AvAdminReader]
) -> Callable[[FastAPI], Awaitable[None]]:
    """A startup hook for ``create_service_app(on_startup=[...])`` that registers the rules
    (``principal_checks`` is created by the app's lifespan, so registration happens there)."""

    async def hook(app: FastAPI) -> None:
        app.state.principal_checks.append(AccessRules(reader_getter(app), module))

    return hook
