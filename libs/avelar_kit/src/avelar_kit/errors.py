"""One error family carrying its HTTP status, rendered once as RFC 9457 problem+json.

Services raise these (never ``HTTPException``); ``install_error_handlers`` renders them and also
turns validation errors, unknown routes and database constraint violations into problem+json, so
that bad input always gets a clear 4xx and never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from avelar_kit.logging import current_request_id
from avelar_kit.validation_messages import message_pt

logger = logging.getLogger("avelar_kit.errors")

PROBLEM_JSON = "application/problem+json"


class AppError(Exception):
    """Base of every error a service raises on purpose. Subclasses set status and code."""

    status_code: ClassVar[int] = 400
    code: str = "bad_request"
    title: ClassVar[str] = "Requisição inválida"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.title
        if code is not None:
            self.code = code
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        super().__init__(self.detail)


class BadRequest(AppError):
    status_code = 400
    code = "bad_request"
    title = "Requisição inválida"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"
    title = "Autenticação necessária"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault("WWW-Authenticate", "Bearer")
        super().__init__(detail, headers=headers, **kwargs)


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    title = "Acesso negado"


class PlanLimitReached(Forbidden):
    """Every plan limit answers the same: 403 ``plan_limit_reached`` naming the limit, the plan,
    the allowed and the used count. A limit of 0 allows nothing; ``None`` is unlimited (and
    never raises this)."""

    code = "plan_limit_reached"
    title = "Limite do plano atingido"

    LIMIT_PT: ClassVar[dict[str, str]] = {
        "max_users": "usuários ativos",
        "max_products": "produtos ativos",
        "max_transactions": "compras por mês",
        "max_entries": "lançamentos manuais por mês",
    }

    def __init__(self, *, limit: str, plan: str | None, allowed: int, used: int,
                 hint: str = "Mude de plano para continuar.", what: str | None = None) -> None:
        what = what or self.LIMIT_PT.get(limit, limit)
        plan_name = plan or "atual"
        super().__init__(
            f"Seu plano {plan_name} permite até {allowed} {what} e sua empresa já tem {used}. "
            f"{hint}",
            extra={"limit": limit, "plan": plan, "allowed": allowed, "used": used},
        )

    @staticmethod
    def check(*, limit: str, plan: str | None, allowed: int | None, used: int,
              adding: int = 1, hint: str = "Mude de plano para continuar.",
              what: str | None = None) -> None:
        """Raise when ``used + adding`` would exceed ``allowed`` (``None``: unlimited)."""
        if allowed is not None and used + adding > allowed:
            raise PlanLimitReached(limit=limit, plan=plan, allowed=allowed, used=used, hint=hint,
                                   what=what)


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    title = "Recurso não encontrado"


class PlanFeatureRequired(Forbidden):
    """The company's plan does not include a feature (``plans.features``): the same 403
    problem+json family as a plan limit, naming the feature and the plan."""

    code = "plan_feature_required"

    def __init__(self, feature: str, plan: str | None = None, *,
                 detail: str | None = None) -> None:
        plan_txt = f"O plano {plan}" if plan else "O plano da sua empresa"
        super().__init__(
            detail or f"{plan_txt} não inclui o recurso '{feature}'; mude de plano para usá-lo",
            extra={"feature": feature, "plan": plan},
        )


def require_feature(features: Sequence[str] | None, feature: str,
                    plan: str | None = None) -> None:
    """Raise ``PlanFeatureRequired`` unless ``feature`` is among the plan's ``features``."""
    if feature not in (features or ()):
        raise PlanFeatureRequired(feature, plan)


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    title = "Conflito com o estado atual"


class Unprocessable(AppError):
    status_code = 422
    code = "unprocessable"
    title = "Dados inválidos"


class TooManyRequests(AppError):
    status_code = 429
    code = "too_many_requests"
    title = "Muitas tentativas"

    def __init__(self, detail: str | None = None, *, retry_after: int, **kwargs: Any) -> None:
        headers = dict(kwargs.pop("headers", None) or {})
        headers["Retry-After"] = str(max(1, int(retry_after)))
        super().__init__(detail, headers=headers, **kwargs)


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
    title = "Serviço temporariamente indisponível"

    def __init__(self, detail: str | None = None, *, retry_after: int = 30, **kwargs: Any) -> None:
        headers = dict(kwargs.pop("headers", None) or {})
        headers["Retry-After"] = str(max(1, int(retry_after)))
        super().__init__(detail, headers=headers, **kwargs)


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    request: Request | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
    instance: str | None = None,
) -> JSONResponse:
    """``instance`` is the request's path (taken from ``request`` when given; pure ASGI code,
    which has none, passes it)."""
    body: dict[str, Any] = {
        "type": f"https://avelarsys.com.br/problems/{code.replace('_', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if request is not None:
        body["instance"] = request.url.path
    elif instance is not None:
        body["instance"] = instance
    rid = current_request_id()
    if rid:
        body["request_id"] = rid
    if extra:
        # Extra members never overwrite the RFC 9457 ones (nor code/request_id).
        body.update({k: v for k, v in extra.items() if k not in body})
    return JSONResponse(
        body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON
    )


def _field_path(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


_HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Requisição inválida"),
    401: ("unauthorized", "Autenticação necessária"),
    403: ("forbidden", "Acesso negado"),
    404: ("not_found", "Recurso não encontrado"),
    405: ("method_not_allowed", "Método não permitido"),
    406: ("not_acceptable", "Formato não aceito"),
    413: ("payload_too_large", "Conteúdo grande demais"),
    415: ("unsupported_media_type", "Tipo de conteúdo não suportado"),
}


async def _app_error(request: Request, exc: AppError) -> JSONResponse:
    return problem(
        exc.status_code, exc.code, exc.title, exc.detail,
        request=request, headers=exc.headers, extra=exc.extra,
    )


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for err in exc.errors():
        errors.append({"field": _field_path(err.get("loc", ())), "message": message_pt(err),
                       "type": err.get("type")})
    fields = ", ".join(sorted({e["field"] for e in errors if e["field"]}))
    detail = f"Dados inválidos em: {fields}" if fields else "Dados inválidos"
    return problem(422, "validation_error", "Dados inválidos", detail,
                   request=request, extra={"errors": errors})


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code, title = _HTTP_CODES.get(exc.status_code, ("http_error", "Erro HTTP"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    if exc.status_code == 404 and detail == "Not Found":
        detail = "Recurso não encontrado"
    if exc.status_code == 405 and detail == "Method Not Allowed":
        detail = "Método não permitido para este endereço"
    return problem(exc.status_code, code, title, detail, request=request,
                   headers=getattr(exc, "headers", None))


async def _integrity(request: Request, exc: DBAPIError) -> JSONResponse:
    # A safety net: services check their rules first; a constraint that still fires means
    # a race or a rule nobody checked, which is the client's conflict, not our crash.
    constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
    return _conflict(request, constraint)


async def _integrity_raw(request: Request, exc: asyncpg.PostgresError) -> JSONResponse:
    return _conflict(request, getattr(exc, "constraint_name", None))


def _conflict(request: Request, constraint: str | None) -> JSONResponse:
    logger.warning("integrity error on %s: constraint=%s", request.url.path, constraint)
    return problem(409, "conflict", "Conflito com o estado atual",
                   "A operação viola uma regra de integridade dos dados",
                   request=request, extra={"constraint": constraint} if constraint else None)


async def _data_error(request: Request, exc: DBAPIError) -> JSONResponse:
    logger.warning("data error on %s: %s", request.url.path, type(exc.orig).__name__)
    return _data_problem(request)


def _data_problem(request: Request) -> JSONResponse:
    return problem(422, "invalid_data", "Dados inválidos",
                   "Um valor está fora do formato ou do intervalo aceito", request=request)


def _sort_by_sqlstate(sqlstate: str) -> Any:
    """The handler for a PostgreSQL error by its SQLSTATE class: 22 data exception (overflow,
    bad value) -> 422, 23 integrity -> 409, 40 deadlock/serialization, 08 connection, 53
    resources, 57 operator intervention (a cancelled statement, a statement_timeout) -> 503.
    Anything else is our bug."""
    if sqlstate.startswith("22"):
        return _data_error
    if sqlstate.startswith("23"):
        return _integrity
    # 40: deadlock or serialization failure (the transaction was rolled back whole and may
    # simply be retried); 08/53/57: connection lost, resources, operator intervention.
    if sqlstate.startswith(("08", "40", "53", "57")):
        return _unavailable
    return _unexpected


async def _dbapi_error(request: Request, exc: DBAPIError) -> JSONResponse:
    # asyncpg errors reach SQLAlchemy's async adapter as a generic DBAPIError.
    sqlstate = str(getattr(exc.orig, "sqlstate", "") or
                   getattr(getattr(exc.orig, "__cause__", None), "sqlstate", "") or "")
    handler = _sort_by_sqlstate(sqlstate)
    result: JSONResponse = await handler(request, exc)
    return result


async def _postgres_error(request: Request, exc: asyncpg.PostgresError) -> JSONResponse:
    # The same errors from a raw driver statement (the kit's simple-protocol company setting
    # of a read), which SQLAlchemy never wraps.
    handler = _sort_by_sqlstate(str(getattr(exc, "sqlstate", "") or ""))
    if handler is _integrity:
        return await _integrity_raw(request, exc)
    if handler is _data_error:
        logger.warning("data error on %s: %s", request.url.path, type(exc).__name__)
        return _data_problem(request)
    result: JSONResponse = await handler(request, exc)
    return result


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    # A dependency (database, Redis) that cannot be reached is a temporary outage of this
    # service, not a bug: 503 with Retry-After tells clients to come back.
    logger.error("dependency unavailable on %s %s: %s", request.method, request.url.path,
                 type(exc).__name__)
    return problem(503, "service_unavailable", "Serviço temporariamente indisponível",
                   "Um componente do serviço está fora do ar; tente novamente em instantes",
                   request=request, headers={"Retry-After": "5"})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(500, "internal_error", "Erro interno",
                   "Ocorreu um erro inesperado; tente novamente em instantes", request=request)


# PoolTimeout: every connection of the pool is busy for longer than pool_timeout, i.e. the
# service is overloaded right now; that is a 503 to retry, not a bug.
# asyncpg's own connection errors reach here unwrapped from the raw driver statements of
# avelar_kit.db.tenancy (set_config on a connection PostgreSQL has just closed).
_UNAVAILABLE = (OperationalError, InterfaceError, ConnectionError, TimeoutError, PoolTimeout,
                RedisConnectionError, RedisTimeoutError, asyncpg.InterfaceError,
                asyncpg.PostgresConnectionError)


def install_error_handlers(app: FastAPI) -> None:
    """Every error a module raises, rendered as RFC 9457 problem+json (registered in this
    order; Starlette picks the most specific class of an exception)."""
    handlers: list[tuple[type[Exception], Any]] = [
        (AppError, _app_error),
        (RequestValidationError, _validation),
        (StarletteHTTPException, _http),
        (IntegrityError, _integrity),
        (DataError, _data_error),
        (DBAPIError, _dbapi_error),
        (asyncpg.PostgresError, _postgres_error),
        *((exc_type, _unavailable) for exc_type in _UNAVAILABLE),
        (Exception, _unexpected),
    ]
    for exc_type, handler in handlers:
        app.add_exception_handler(exc_type, handler)
