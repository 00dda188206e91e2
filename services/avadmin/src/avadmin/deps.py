"""AvAdmin's typed dependencies."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from avadmin.auth.repository import OperatorRepository
from avadmin.config import Settings
from avadmin.security.tokens import OPERATOR_AUDIENCE, TokenIssuer
from avelar_kit.auth.dependencies import get_principal
from avelar_kit.auth.principal import Principal
from avelar_kit.auth.verifier import TokenError, TokenVerifier
from avelar_kit.errors import NotFound, Unauthorized

_bearer = HTTPBearer(auto_error=False)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_issuer(request: Request) -> TokenIssuer:
    issuer: TokenIssuer = request.app.state.issuer
    return issuer


SettingsDep = Annotated[Settings, Depends(get_settings)]
IssuerDep = Annotated[TokenIssuer, Depends(get_issuer)]


async def get_operator_id(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> uuid.UUID:
    """Platform operators carry tokens of their own audience and type: a tenant's token, however
    privileged in its company, never opens the operator endpoints."""
    if credentials is None:
        raise Unauthorized("Autenticação de operador necessária", code="not_authenticated")
    verifier: TokenVerifier = request.app.state.verifier
    try:
        claims = await verifier.decode(credentials.credentials, audience=OPERATOR_AUDIENCE,
                                       expected_typ="operator")
        operator_id = uuid.UUID(str(claims["sub"]))
    except (TokenError, ValueError) as exc:
        raise Unauthorized("Token de operador inválido", code="invalid_token") from exc
    # An operator removed or disabled loses access now, not when the token expires.
    async with request.app.state.db.sessionmaker() as session:
        operator = await OperatorRepository(session).get(operator_id)
    if operator is None or not operator.is_active:
        raise Unauthorized("Token de operador inválido", code="invalid_token")
    return operator_id


OperatorId = Annotated[uuid.UUID, Depends(get_operator_id)]


def visible_account(principal: Principal, account_id: uuid.UUID) -> None:
    """A service reads any account; a user only its own. Others look like they don't exist."""
    if principal.is_service:
        return
    if principal.account_id != account_id:
        raise NotFound("Empresa não encontrada", code="account_not_found")


ReaderPrincipal = Annotated[Principal, Depends(get_principal)]
