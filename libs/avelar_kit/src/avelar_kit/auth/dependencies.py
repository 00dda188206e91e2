"""Principal-typed views of the caller (``avelar_kit.auth.caller``), for code that needs only
the verified identity (AvAdmin's services take a ``Principal``). Every one of them goes through
``get_caller``: the token is verified and the standing checked once per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from avelar_kit.auth.caller import Caller as _Caller
from avelar_kit.auth.caller import ServiceCaller, UserCaller, get_caller
from avelar_kit.auth.principal import Principal
from avelar_kit.errors import Forbidden


async def get_principal(caller: Annotated[_Caller, Depends(get_caller)]) -> Principal:
    return caller.principal


async def get_user_principal(caller: UserCaller) -> Principal:
    return caller.principal


async def get_service_principal(caller: ServiceCaller) -> Principal:
    return caller.principal


async def require_admin(caller: UserCaller) -> Principal:
    if not caller.is_admin:
        raise Forbidden("Somente administradores da empresa podem fazer isto",
                        code="admin_required")
    return caller.principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
UserPrincipal = Annotated[Principal, Depends(get_user_principal)]
ServicePrincipal = Annotated[Principal, Depends(get_service_principal)]
AdminPrincipal = Annotated[Principal, Depends(require_admin)]
