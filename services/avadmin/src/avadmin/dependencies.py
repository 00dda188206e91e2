"""AvAdmin's typed dependencies."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from avadmin.auth.repository import OperatorRepository
from avadmin.config import Settings
from avelar_kit.auth.dependencies import get_principal
from avelar_kit.auth.principal import Principal
from avelar_kit.errors import NotFound, Unauthorized


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def operator_check(request: Request, operator_id: uuid.UUID) -> None:
    """The kit's ``get_operator`` verified the operator token; an operator removed or disabled
    loses access now, not when the token expires."""
    async with request.app.state.db.sessionmaker() as session:
        operator = await OperatorRepository(session).get(operator_id)
    if operator is None or not operator.is_active:
        raise Unauthorized("Token de operador inválido", code="invalid_token")


def visible_account(principal: Principal, account_id: uuid.UUID) -> None:
    """A service reads any account; a user only its own. Others look like they don't exist."""
    if principal.is_service:
        return
    if principal.account_id != account_id:
        raise NotFound("Empresa não encontrada", code="account_not_found")


ReaderPrincipal = Annotated[Principal, Depends(get_principal)]
