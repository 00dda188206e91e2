"""One permission vocabulary for every module: ``require("products.delete")``.

Each module declares its matrix once (``<module>/permissions.py``): permission name -> the
company roles that hold it. Two roles exist in AvelarSys companies (AvAdmin's ``Role``): ``admin``
and ``user``. The rule of thumb written in the matrices: a user sells, buys and posts entries;
only admins delete, change bank accounts and categories, manage users and billing.

    PERMISSIONS = Permissions("StockTech", {
        "products.create": EVERYONE,
        "products.delete": ADMINS,
    })
    @router.delete(...)
    async def delete(caller: Annotated[Caller, require("products.delete")]) -> None: ...

The app keeps the matrix on ``app.state.permissions`` (``create_module_app(permissions=...)``);
a test per module walks it with both roles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Depends, Request

from avelar_kit.auth.caller import Caller, get_user_caller
from avelar_kit.auth.principal import Principal
from avelar_kit.errors import Forbidden, PlanFeatureRequired

ADMIN = "admin"
USER = "user"
ADMINS: frozenset[str] = frozenset({ADMIN})
EVERYONE: frozenset[str] = frozenset({ADMIN, USER})

_ROLE_PT = {ADMIN: "administradores", USER: "usuários"}


class Permissions:
    def __init__(self, module: str, matrix: Mapping[str, frozenset[str]]) -> None:
        self.module = module
        self.matrix = dict(matrix)

    def roles(self, permission: str) -> frozenset[str]:
        try:
            return self.matrix[permission]
        except KeyError:
            raise KeyError(f"{self.module} declares no permission {permission!r}") from None

    def allows(self, role: str | None, permission: str) -> bool:
        return role is not None and role in self.roles(permission)

    def check(self, caller: Caller, permission: str) -> None:
        self.check_role(caller.role, permission)

    def check_role(self, role: str | None, permission: str) -> None:
        """For a rule a service checks itself (it depends on the data: "its own")."""
        if not self.allows(role, permission):
            allowed = " e ".join(_ROLE_PT.get(r, r) for r in sorted(self.roles(permission)))
            raise Forbidden(f"Somente {allowed} da empresa podem fazer isto",
                            code="permission_denied", extra={"permission": permission})


def require(permission: str) -> Any:
    """A dependency (use as ``Annotated[Caller, require("x.y")]``): a user of a company whose
    role holds ``permission`` in the module's matrix."""

    async def _dep(request: Request, caller: Caller = Depends(get_user_caller)) -> Caller:
        permissions: Permissions = request.app.state.permissions
        permissions.check(caller, permission)
        return caller

    _dep.permission = permission  # type: ignore[attr-defined]  # read by the route walk
    return Depends(_dep)


def require_principal(permission: str) -> Any:
    """``require`` for code that takes the verified ``Principal`` (AvAdmin's services)."""

    async def _dep(caller: Caller = require(permission)) -> Principal:
        return caller.principal

    return Depends(_dep)


def require_feature(feature: str) -> Any:
    """A dependency (``Annotated[Caller, require_feature("reports")]``): the company's plan
    includes ``feature`` (the plan comes with the caller: no extra AvAdmin read). Refused with
    403 ``plan_feature_required``, the same problem+json family as a plan limit."""

    async def _dep(caller: Caller = Depends(get_user_caller)) -> Caller:
        if not caller.has_feature(feature):
            plan = caller.plan
            raise PlanFeatureRequired(feature, plan.name if plan is not None else None)
        return caller

    _dep.feature = feature  # type: ignore[attr-defined]
    return Depends(_dep)
