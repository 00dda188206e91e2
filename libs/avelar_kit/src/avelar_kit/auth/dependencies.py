"""FastAPI dependencies: routers are authenticated by default through these."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from avelar_kit.auth.principal import Principal
from avelar_kit.auth.verifier import TokenError, TokenVerifier
from avelar_kit.errors import Forbidden, Unauthorized

logger = logging.getLogger("avelar_kit.auth")

_bearer = HTTPBearer(auto_error=False, description="Access token issued by AvAdmin")

# Hooks run after the signature is verified (issue: account suspended, user deactivated).
# A module registers them on app.state.principal_checks.
PrincipalCheck = Callable[[Principal], Awaitable[None]]


async def _principal_from_request(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> Principal | None:
    if credentials is None:
        return None
    if credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("Envie o token no cabeçalho Authorization: Bearer <token>",
                           code="invalid_token")
    verifier: TokenVerifier = request.app.state.verifier
    try:
        principal = await verifier.verify(credentials.credentials)
    except TokenError as exc:
        logger.info("token refused: %s", exc.reason)
        detail = ("Token expirado; renove a sessão" if exc.reason == "expired"
                  else "Token inválido")
        raise Unauthorized(detail, code="token_expired" if exc.reason == "expired"
                           else "invalid_token") from exc
    checks: list[PrincipalCheck] = getattr(request.app.state, "principal_checks", [])
    for check in checks:
        await check(principal)
    request.state.principal = principal
    return principal


async def get_optional_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    return await _principal_from_request(request, credentials)


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    principal = await _principal_from_request(request, credentials)
    if principal is None:
        raise Unauthorized("Autenticação necessária", code="not_authenticated")
    return principal


async def get_user_principal(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if principal.kind != "user":
        raise Forbidden("Esta operação é de um usuário, não de um serviço", code="user_required")
    return principal


async def get_service_principal(
    principal: Annotated[Principal, Depends(get_principal)],
) -> Principal:
    if principal.kind != "service" or "internal" not in principal.scopes:
        raise Forbidden("Somente serviços internos", code="service_required")
    return principal


async def require_admin(principal: Annotated[Principal, Depends(get_user_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("Somente administradores da empresa podem fazer isto",
                        code="admin_required")
    return principal


def require_module(module: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the caller's company must have ``module`` enabled."""

    async def _dep(principal: Annotated[Principal, Depends(get_user_principal)]) -> Principal:
        if module not in principal.enabled_modules:
            raise Forbidden(f"O módulo {module} não está habilitado para sua empresa",
                            code="module_not_enabled")
        return principal

    return _dep


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]
UserPrincipal = Annotated[Principal, Depends(get_user_principal)]
ServicePrincipal = Annotated[Principal, Depends(get_service_principal)]
