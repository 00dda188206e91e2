"""Who is calling, resolved once per request: the one dependency every module's routes use.

``get_caller`` verifies the bearer token, then asks the app's ``CallerResolver`` for the
caller's standing, once per request (FastAPI caches a dependency within a request, and the
result is kept on ``request.state.caller``). Services receive the ``Caller`` as an argument:
nothing below the router asks AvAdmin again for the same request.

- In a consuming module (StockTech, Lucrum, a partner's) the resolver is ``StandingResolver``:
  one call to the AvAdmin reader (``get_standing``: the user and the company, with the plan's
  limits and features, one Redis round trip when cached) at read freshness for reads and write
  freshness for writes (stale data serves reads, never authorises a write beyond the client's
  ``stale_write_bound``).
- In AvAdmin, the authority, the resolver checks its own tables.

Routes are authenticated by default: a route depends on ``get_caller`` (directly or through
``require(...)``), on ``get_operator`` (platform staff), or is declared public with
``PUBLIC``. ``avelar_kit.testing.routes`` walks every app and fails on any other route.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.auth.principal import Principal
from avelar_kit.auth.verifier import TokenError, TokenVerifier
from avelar_kit.avadmin.models import AvAdminAccount, AvAdminUser, PlanSummary
from avelar_kit.avadmin.protocol import AvAdminReader
from avelar_kit.db.session import SessionDep
from avelar_kit.db.tenancy import act_as_system, act_for_company
from avelar_kit.errors import Forbidden, Unauthorized
from avelar_kit.public import PUBLIC, public_route

__all__ = ["PUBLIC", "Caller", "CurrentCaller", "OperatorId", "get_caller", "get_operator",
           "public_route"]

logger = logging.getLogger("avelar_kit.auth")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# AvAdmin's platform operators sign in there and get tokens of this audience and typ.
OPERATOR_AUDIENCE = "avadmin-operator"

_bearer = HTTPBearer(auto_error=False, description="Access token issued by AvAdmin")

F = TypeVar("F", bound=Callable[..., Any])


def guard(fn: F) -> F:
    """Marks a dependency that authenticates its request (the route walk looks for one on every
    route that is not ``PUBLIC``). ``get_caller`` and ``get_operator`` are guards; a module's
    own composite (an operator *or* a service) is marked with this too."""
    fn.__avelar_guard__ = True  # type: ignore[attr-defined]
    return fn


def operator_guard(fn: F) -> F:
    """A guard that admits platform operators (``get_operator``, or a module's composite that
    calls it): the audit test's route walk counts the writes behind it as operator writes."""
    fn.__avelar_operator__ = True  # type: ignore[attr-defined]
    return guard(fn)


@dataclass(frozen=True, slots=True)
class Caller:
    """The verified principal and, for a user of a company, what AvAdmin says of them."""

    principal: Principal
    user: AvAdminUser | None = None
    account: AvAdminAccount | None = None
    for_write: bool = False

    @property
    def is_service(self) -> bool:
        return self.principal.is_service

    @property
    def is_admin(self) -> bool:
        return self.principal.is_admin

    @property
    def role(self) -> str | None:
        return self.principal.role

    @property
    def user_id(self) -> uuid.UUID:
        assert self.principal.user_id is not None, "a user's caller"
        return self.principal.user_id

    @property
    def account_id(self) -> uuid.UUID:
        assert self.principal.account_id is not None, "a user's caller"
        return self.principal.account_id

    @property
    def plan(self) -> PlanSummary | None:
        return self.account.plan if self.account is not None else None

    def has_feature(self, feature: str) -> bool:
        plan = self.plan
        return plan is not None and feature in plan.features


class CallerResolver(Protocol):
    async def __call__(self, principal: Principal, *, for_write: bool,
                       session: AsyncSession) -> Caller: ...


# A module's own check of the caller against what it learnt locally (StockTech: a suspension or
# deactivation received by event applies at once, even where AvAdmin's answer is still cached).
# It runs on the request's session: no extra connection.
LocalCheck = Callable[[Caller, AsyncSession], Awaitable[None]]


class StandingResolver:
    """A consuming module's resolver: refuses a user who was deactivated or whose sessions were
    revoked, a suspended company, a company without ``module`` enabled. Services pass (their
    token carries the ``internal`` scope; routes check it)."""

    def __init__(self, reader: AvAdminReader, module: str,
                 local_check: LocalCheck | None = None) -> None:
        self.reader = reader
        self.module = module
        self.local_check = local_check

    async def __call__(self, principal: Principal, *, for_write: bool,
                       session: AsyncSession) -> Caller:
        if principal.kind != "user":
            return Caller(principal, for_write=for_write)
        user_id, account_id = principal.require_user()
        standing = await self.reader.get_standing(user_id, account_id, for_write=for_write)
        user, account = standing.user, standing.account
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
        caller = Caller(principal, user=user, account=account, for_write=for_write)
        if self.local_check is not None:
            await self.local_check(caller, session)
        return caller


def checking_resolver(
    check: Callable[[Principal, AsyncSession], Awaitable[None]],
) -> CallerResolver:
    """A resolver from a check that raises on a refused principal (AvAdmin: its own tables,
    read on the request's session)."""

    async def resolve(principal: Principal, *, for_write: bool,
                      session: AsyncSession) -> Caller:
        await check(principal, session)
        return Caller(principal, for_write=for_write)

    return resolve


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None:
        raise Unauthorized("Autenticação necessária", code="not_authenticated")
    if credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("Envie o token no cabeçalho Authorization: Bearer <token>",
                           code="invalid_token")
    return credentials.credentials


@guard
async def get_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: SessionDep,
) -> Caller:
    """Verify the token and resolve the caller's standing (once per request). ``session`` is
    the request's own (the same one the route gets): a check that reads the database takes no
    extra connection."""
    cached: Caller | None = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    token = _token(credentials)
    verifier: TokenVerifier = request.app.state.verifier
    try:
        principal = await verifier.verify(token)
    except TokenError as exc:
        logger.info("token refused: %s", exc.reason)
        expired = exc.reason == "expired"
        raise Unauthorized("Token expirado; renove a sessão" if expired else "Token inválido",
                           code="token_expired" if expired else "invalid_token") from exc
    # Row-level security (ADR 0020): whose rows this request's transaction sees, set before
    # anything reads. A service (internal scope) is the platform reading across companies.
    if principal.kind == "user" and principal.account_id is not None:
        await act_for_company(session, principal.account_id)
    else:
        await act_as_system(session)
    resolver: CallerResolver = request.app.state.caller_resolver
    caller = await resolver(principal, for_write=request.method not in SAFE_METHODS,
                            session=session)
    request.state.caller = caller
    request.state.principal = principal
    return caller


CurrentCaller = Annotated[Caller, Depends(get_caller)]


async def get_user_caller(caller: CurrentCaller) -> Caller:
    if caller.principal.kind != "user":
        raise Forbidden("Esta operação é de um usuário, não de um serviço", code="user_required")
    return caller


async def get_service_caller(caller: CurrentCaller) -> Caller:
    if caller.principal.kind != "service" or "internal" not in caller.principal.scopes:
        raise Forbidden("Somente serviços internos", code="service_required")
    return caller


UserCaller = Annotated[Caller, Depends(get_user_caller)]
ServiceCaller = Annotated[Caller, Depends(get_service_caller)]


# -- platform operators ------------------------------------------------------------------------

OperatorCheck = Callable[[Request, uuid.UUID], Awaitable[None]]


@operator_guard
async def get_operator(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: SessionDep,
) -> uuid.UUID:
    """A platform operator's id, from an operator token (the one place that parses them).
    A tenant's token, however privileged in its company, never passes. AvAdmin registers an
    ``operator_check`` on ``app.state`` (the operator still exists and is active)."""
    if credentials is None:
        raise Unauthorized("Autenticação de operador necessária", code="not_authenticated")
    verifier: TokenVerifier = request.app.state.verifier
    try:
        claims = await verifier.decode(_token(credentials), audience=OPERATOR_AUDIENCE,
                                       expected_typ="operator")
        operator_id = uuid.UUID(str(claims["sub"]))
    except (TokenError, ValueError) as exc:
        raise Unauthorized("Token de operador inválido", code="invalid_token") from exc
    check: OperatorCheck | None = getattr(request.app.state, "operator_check", None)
    if check is not None:
        await check(request, operator_id)
    # Platform staff work across companies (row-level security, ADR 0020).
    await act_as_system(session)
    return operator_id


OperatorId = Annotated[uuid.UUID, Depends(get_operator)]


def is_operator_token(credentials: HTTPAuthorizationCredentials | None) -> bool:
    """Does this bearer token claim to be an operator's? (Unverified: only to pick which
    dependency verifies it.)"""
    if credentials is None:
        return False
    try:
        return jwt.decode(credentials.credentials,
                          options={"verify_signature": False}).get("typ") == "operator"
    except jwt.InvalidTokenError:
        return False
