"""Typed dependencies shared by StockTech's routers."""

from __future__ import annotations

from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from avelar_kit.auth.dependencies import get_principal, require_module
from avelar_kit.auth.principal import Principal
from avelar_kit.auth.verifier import TokenError, TokenVerifier
from avelar_kit.avadmin.protocol import AvAdminReader
from avelar_kit.errors import Forbidden, Unauthorized
from stocktech.accounts.service import Actor
from stocktech.config import Settings

MODULE = "StockTech"

StockTechUser = Annotated[Principal, Depends(require_module(MODULE))]


def get_avadmin(request: Request) -> AvAdminReader:
    avadmin: AvAdminReader = request.app.state.avadmin
    return avadmin


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_actor(principal: StockTechUser) -> Actor:
    return Actor.from_principal(principal)


AvAdminDep = Annotated[AvAdminReader, Depends(get_avadmin)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ActorDep = Annotated[Actor, Depends(get_actor)]


# AvAdmin's platform operators sign in there and get tokens with this audience and typ.
OPERATOR_AUDIENCE = "avadmin-operator"
_bearer = HTTPBearer(auto_error=False, description="Operator or service token issued by AvAdmin")


async def require_taxonomy_manager(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """A platform operator (operator token from AvAdmin) or an internal service (client
    credentials). Returns who, for the logs."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Autenticação necessária", code="not_authenticated")
    token = credentials.credentials
    try:
        typ = jwt.decode(token, options={"verify_signature": False}).get("typ")
    except jwt.InvalidTokenError:
        raise Unauthorized("Token inválido", code="invalid_token") from None
    verifier: TokenVerifier = request.app.state.verifier
    if typ == "operator":
        try:
            claims = await verifier.decode(token, audience=OPERATOR_AUDIENCE,
                                           expected_typ="operator")
        except TokenError as exc:
            raise Unauthorized("Token inválido", code="invalid_token") from exc
        return f"operator:{claims['sub']}"
    principal = await get_principal(request, credentials)
    if principal.kind != "service" or "internal" not in principal.scopes:
        raise Forbidden("Somente operadores da plataforma gerenciam categorias e marcas",
                        code="operator_required")
    return f"service:{principal.subject}"


TaxonomyManager = Annotated[str, Depends(require_taxonomy_manager)]
