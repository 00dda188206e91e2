"""Who asks for an export or an erasure: a user (the person, or a company admin) or a
platform operator. One dependency accepts both token kinds, each verified by the kit's own
parser (``get_caller`` for users, ``get_operator`` for operators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from avadmin.privacy.schemas import Actor
from avelar_kit.auth.caller import get_caller, get_operator, guard, is_operator_token
from avelar_kit.db.session import SessionDep
from avelar_kit.errors import Forbidden

_bearer = HTTPBearer(auto_error=False, description="User or operator token issued by AvAdmin")


@guard
async def get_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: SessionDep,
) -> Actor:
    if is_operator_token(credentials):
        return Actor("operator", await get_operator(request, credentials, session))
    caller = await get_caller(request, credentials, session)
    principal = caller.principal
    if principal.kind != "user" or principal.user_id is None:
        raise Forbidden("Somente o titular, um administrador da empresa ou um operador",
                        code="user_required")
    return Actor("user", principal.user_id, principal.account_id, principal.role)


PrivacyActor = Annotated[Actor, Depends(get_actor)]
