"""The audit trail: who did what, when, from which client address and request, with the values
before and after (issue 15, ADR 0017).

Every module that takes writes from company admins or platform operators keeps its own
append-only table of this shape (``class AuditLog(AuditMixin, Base): __tablename__ =
"audit_log"``) and records each such write with **one** function, ``record_audit``, in the same
transaction as the change: a row exists if and only if the change committed. The services'
database role may only INSERT and SELECT on it (a migration revokes UPDATE and DELETE), so the
trail is append-only by privilege, not by convention.

Personal fields (CPF, WhatsApp, names, passwords, tokens) are never stored in ``before`` /
``after``: a change to one is recorded with the marker ``PERSONAL`` on both sides (the key says
it changed, not what it was), so that an erasure leaves nothing of the person in a table that
cannot be updated.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict
from sqlalchemy import DateTime, String, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from avelar_kit.auth.caller import get_caller, get_operator, guard, is_operator_token
from avelar_kit.auth.permissions import Permissions
from avelar_kit.db.base import utcnow
from avelar_kit.db.session import SessionDep
from avelar_kit.errors import Forbidden, Unprocessable
from avelar_kit.logging import current_client_address, current_request_id

PERSONAL = "[dado pessoal]"
# Keys whose values are personal data or secrets: recorded as PERSONAL, never as values.
PERSONAL_KEYS = frozenset({
    "cpf", "whatsapp", "full_name", "responsible_name", "email", "phone",
    "password", "password_hash", "temporary_password", "new_password", "secret",
    "client_secret", "token", "access_token", "refresh_token",
})


class AuditMixin:
    """Columns of an audit table (one per module, the same shape everywhere)."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now(),
        index=True)
    # "user:<uuid>", "operator:<uuid>", "service:<client_id>", "system:<job>", "anonymous"
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(100), index=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # What was acted on: "user:<uuid>", "plan:<uuid>", "category:<uuid>", ...
    target: Mapped[str | None] = mapped_column(String(150))
    before: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict,
                                                   server_default="{}")
    after: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    request_id: Mapped[str | None] = mapped_column(String(128))
    client_address: Mapped[str | None] = mapped_column(String(64))


def jsonable(value: Any) -> Any:
    """A JSON value for ``value`` (UUIDs, Decimals, enums and datetimes as text)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return str(value)


def _masked(values: Mapping[str, Any] | None) -> dict[str, Any]:
    if not values:
        return {}
    return {k: (PERSONAL if k in PERSONAL_KEYS and v is not None else jsonable(v))
            for k, v in values.items()}


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """``{field: value}`` of ``obj`` for the fields given (before or after a change)."""
    return {f: jsonable(getattr(obj, f)) for f in fields}


def record_audit(
    session: AsyncSession, model: type[AuditMixin], *, actor: str, action: str,
    account_id: uuid.UUID | None = None, target: str | None = None,
    before: Mapping[str, Any] | None = None, after: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditMixin:
    """Record one audited act in the caller's transaction (it commits with the change).

    ``before`` is ``{}`` for a creation, ``after`` ``{}`` for a deletion; an update gives the
    changed fields on both sides. The request id and the client address come from the request
    being served (``avelar_kit.logging``); outside a request they are NULL."""
    row = model()
    row.id = uuid.uuid4()
    row.created_at = utcnow()
    row.actor = actor
    row.action = action
    row.account_id = account_id
    row.target = target
    row.before = _masked(before)
    row.after = _masked(after)
    row.details = _masked(details)
    row.request_id = current_request_id()
    row.client_address = current_client_address()
    session.add(row)
    return row


@dataclass(frozen=True, slots=True)
class AuditQuery:
    account_id: uuid.UUID | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    offset: int = 0


async def audit_page(session: AsyncSession, model: type[AuditMixin],
                     query: AuditQuery) -> tuple[list[AuditMixin], int]:
    """Rows matching ``query``, newest first, and how many match in all."""
    m: Any = model
    conds = []
    if query.account_id is not None:
        conds.append(m.account_id == query.account_id)
    if query.actor:
        conds.append(m.actor == query.actor)
    if query.action:
        # "user." selects every user action; "user.updated" one.
        conds.append(m.action.startswith(query.action) if query.action.endswith(".")
                     else m.action == query.action)
    if query.since is not None:
        conds.append(m.created_at >= query.since)
    if query.until is not None:
        conds.append(m.created_at < query.until)
    rows = (await session.scalars(
        select(m).where(*conds).order_by(m.created_at.desc(), m.id)
        .limit(query.limit).offset(query.offset))).all()
    total = int(await session.scalar(select(func.count()).select_from(m).where(*conds)) or 0)
    return list(rows), total


async def audited_route() -> None:
    """Marker dependency (``dependencies=[AUDITED]``): a write route whose admin rule the
    service checks itself (it depends on the data), so the route walk of the audit test
    counts it among the admin and operator writes."""


AUDITED = Depends(audited_route)


# -- reading: GET /api/audit --------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="Operator token, or a company admin's")


async def get_audit_scope(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: SessionDep,
) -> uuid.UUID | None:
    """Who reads the trail: a platform operator (``None``: every company) or a company admin
    (their company's id: only its rows)."""
    if is_operator_token(credentials):
        await get_operator(request, credentials, session)
        return None
    caller = await get_caller(request, credentials, session)
    if caller.principal.kind != "user":
        raise Forbidden("Somente operadores e administradores da empresa leem a auditoria",
                        code="permission_denied", extra={"permission": "audit.read"})
    permissions: Permissions = request.app.state.permissions
    permissions.check(caller, "audit.read")
    return caller.account_id


# A guard (operators or admins), and the permission it asks, for the route walks.
get_audit_scope = guard(get_audit_scope)
get_audit_scope.permission = "audit.read"  # type: ignore[attr-defined]


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    actor: str
    action: str
    account_id: uuid.UUID | None
    target: str | None
    before: dict[str, Any]
    after: dict[str, Any]
    details: dict[str, Any]
    request_id: str | None
    client_address: str | None


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    total: int
    limit: int
    offset: int


_TEXT = r"^[^\x00]*$"


def audit_router(model: type[AuditMixin]) -> APIRouter:
    """``GET /api/audit`` over the module's audit table (the same endpoint in every module)."""
    router = APIRouter(tags=["audit"])

    @router.get("/api/audit", response_model=AuditPage)
    async def list_audit(
        scope: Annotated[uuid.UUID | None, Depends(get_audit_scope)],
        session: SessionDep,
        account_id: Annotated[uuid.UUID | None, Query(
            description="Empresa (operadores; um administrador vê só a sua)")] = None,
        actor: Annotated[str | None, Query(max_length=100, pattern=_TEXT,
                                           description="ex.: operator:<id>, user:<id>")] = None,
        action: Annotated[str | None, Query(max_length=100, pattern=_TEXT, description=(
            "ex.: user.updated; terminada em ponto (user.) seleciona o grupo"))] = None,
        since: Annotated[datetime | None, Query(description="a partir de (ISO 8601)")] = None,
        until: Annotated[datetime | None, Query(description="antes de (ISO 8601)")] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> AuditPage:
        """The audit trail, newest first: who did what, when, from which address and request,
        with the values before and after. Operators read every company (filter with
        `account_id`); a company admin reads only the company's own rows."""
        if since is not None and until is not None and until < since:
            raise Unprocessable("O fim do período deve ser depois do início", code="invalid_period",
                                extra={"errors": [{"field": "until",
                                                   "message": "antes de since"}]})
        query = AuditQuery(account_id=scope if scope is not None else account_id, actor=actor,
                           action=action, since=since, until=until, limit=limit, offset=offset)
        rows, total = await audit_page(session, model, query)
        return AuditPage(items=[AuditEntryOut.model_validate(r) for r in rows], total=total,
                         limit=limit, offset=offset)

    return router


# -- append-only by privilege -------------------------------------------------------------------

# The app role's name on the migration connection (set by ``<module> migrate``: the app-role
# separation, avelar_kit.db.roles); unset, the SQL below does nothing.
APP_ROLE_SETTING = "avelar.app_role"


def _for_app_role(statements: list[str]) -> str:
    run = " ".join(f"EXECUTE format('{sql} %I', current_setting('{APP_ROLE_SETTING}'));"
                   for sql in statements)
    return (f"DO $$ BEGIN IF coalesce(current_setting('{APP_ROLE_SETTING}', true), '') <> '' "
            f"THEN {run} END IF; END $$")


def append_only_sql(table: str = "audit_log") -> str:
    """SQL for a migration (``op.execute(...)``): the services' app role may only INSERT and
    SELECT on ``table``; UPDATE, DELETE and TRUNCATE are revoked, so the database itself refuses
    to rewrite the trail. It acts when the migration runs with an app role (``<module> migrate``
    sets ``avelar.app_role``); the role separation never widens a table that has privileges."""
    if not table.isidentifier():
        raise ValueError("table: a plain name")
    return _for_app_role([f'REVOKE UPDATE, DELETE, TRUNCATE ON "{table}" FROM',
                          f'GRANT SELECT, INSERT ON "{table}" TO'])


def undo_append_only_sql(table: str = "audit_log") -> str:
    """The downgrade of ``append_only_sql``: the app role's ordinary table privileges."""
    if not table.isidentifier():
        raise ValueError("table: a plain name")
    return _for_app_role([f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{table}" TO'])
