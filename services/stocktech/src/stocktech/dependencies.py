"""Typed dependencies shared by StockTech's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from avelar_kit.auth.caller import (
    Caller,
    get_caller,
    get_operator,
    get_service_caller,
    get_user_caller,
    guard,
    is_operator_token,
    operator_guard,
)
from avelar_kit.auth.permissions import require
from avelar_kit.avadmin.protocol import AvAdminReader
from avelar_kit.db.session import SessionDep
from avelar_kit.errors import Forbidden
from stocktech.config import Settings

# Every StockTech route needs a user of a company that has the module enabled (the kit's caller
# resolver checks the module); actions beyond reading also need a permission of the matrix.
StockTechUser = Annotated[Caller, Depends(get_user_caller)]
CanCreateProduct = Annotated[Caller, require("products.create")]
CanUpdateProduct = Annotated[Caller, require("products.update")]
CanDeleteProduct = Annotated[Caller, require("products.delete")]
CanBuy = Annotated[Caller, require("transactions.create")]
CanComplete = Annotated[Caller, require("transactions.complete")]
CanCancel = Annotated[Caller, require("transactions.cancel")]
AnyCaller = Annotated[Caller, Depends(get_caller)]


async def get_avadmin(request: Request) -> AvAdminReader:
    avadmin: AvAdminReader = request.app.state.avadmin
    return avadmin


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AvAdminDep = Annotated[AvAdminReader, Depends(get_avadmin)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

_bearer = HTTPBearer(auto_error=False, description="Operator or service token issued by AvAdmin")


@operator_guard
async def require_taxonomy_manager(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: SessionDep,
) -> str:
    """A platform operator (operator token from AvAdmin) or an internal service (client
    credentials). Returns who, for the logs."""
    if is_operator_token(credentials):
        return f"operator:{await get_operator(request, credentials, session)}"
    caller = await get_caller(request, credentials, session)
    if caller.principal.kind != "service":
        raise Forbidden("Somente operadores da plataforma gerenciam categorias e marcas",
                        code="operator_required")
    await get_service_caller(caller)
    return f"service:{caller.principal.subject}"


TaxonomyManager = Annotated[str, Depends(require_taxonomy_manager)]


@guard
async def catalog_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: SessionDep,
) -> bool:
    """Who reads categories and brands: any caller ``get_caller`` admits and the platform's
    operators, who manage them (their portal page lists them). True for an internal service,
    which may list the inactive ones too."""
    if is_operator_token(credentials):
        await get_operator(request, credentials, session)
        return False
    caller = await get_caller(request, credentials, session)
    return caller.principal.is_service


CatalogReader = Annotated[bool, Depends(catalog_reader)]
