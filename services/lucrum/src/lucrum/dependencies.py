"""Typed dependencies shared by Lucrum's routers."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from avelar_kit.auth import Principal, require_module
from avelar_kit.avadmin import AvAdminReader
from avelar_kit.errors import require_feature
from lucrum.codes import CodeGenerator

# Every Lucrum route needs a user of a company that has the module enabled.
LucrumUser = Annotated[Principal, Depends(require_module("Lucrum"))]


def company_of(principal: Principal) -> uuid.UUID:
    assert principal.account_id is not None  # guaranteed for user principals
    return principal.account_id


def _avadmin(request: Request) -> AvAdminReader:
    reader: AvAdminReader = request.app.state.avadmin
    return reader


def _code_generator(request: Request) -> CodeGenerator:
    gen: CodeGenerator = request.app.state.code_generator
    return gen


AvAdminDep = Annotated[AvAdminReader, Depends(_avadmin)]
CodeGeneratorDep = Annotated[CodeGenerator, Depends(_code_generator)]


def requires_feature(feature: str) -> Callable[..., Awaitable[None]]:
    """Dependency factory: the company's plan must include ``feature`` (403
    ``plan_feature_required`` otherwise, the same problem+json family as a plan limit)."""

    async def _dep(principal: LucrumUser, avadmin: AvAdminDep) -> None:
        plan = await avadmin.get_account_plan(company_of(principal))
        require_feature(plan.features if plan else None, feature,
                        plan.name if plan else None)

    return _dep
