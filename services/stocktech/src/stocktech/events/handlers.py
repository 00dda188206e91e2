"""AvAdmin's events, applied to StockTech's local copy of accounts and users.

``handle_event(session, envelope)`` is a plain function: the stream consumer of the kit calls it
inside a transaction (and records the event id as handled in the same transaction); tests call it
directly. Every handler is idempotent and ignores what is older than what is already known, so
duplicates and late arrivals are harmless.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.db.base import utcnow
from stocktech.accounts.repository import AccountRepository

logger = logging.getLogger("stocktech.events")

Handler = Callable[[AccountRepository, Mapping[str, Any], datetime], Awaitable[None]]


def _uuid(data: Mapping[str, Any], key: str) -> uuid.UUID:
    return uuid.UUID(str(data[key]))


async def _suspended(repo: AccountRepository, data: Mapping[str, Any], at: datetime) -> None:
    await repo.apply_event(_uuid(data, "account_id"), at, status="suspended")


async def _reactivated(repo: AccountRepository, data: Mapping[str, Any], at: datetime) -> None:
    await repo.apply_event(_uuid(data, "account_id"), at, status="active")


async def _plan_changed(repo: AccountRepository, data: Mapping[str, Any], at: datetime) -> None:
    plan = data["plan"]
    max_tx = plan.get("max_transactions")
    await repo.apply_event(
        _uuid(data, "account_id"), at,
        plan=(str(plan["name"]), int(plan["max_products"]),
              int(max_tx) if max_tx is not None else None),
    )


async def _account_updated(repo: AccountRepository, data: Mapping[str, Any], at: datetime
                           ) -> None:
    status = data.get("status")
    await repo.apply_event(
        _uuid(data, "account_id"), at,
        status=str(status) if status in ("active", "suspended") else None,
        company_name=data.get("company_name"),
        whatsapp=data.get("whatsapp"),
    )


async def _user_deactivated(repo: AccountRepository, data: Mapping[str, Any], at: datetime
                            ) -> None:
    await repo.apply_user_event(_uuid(data, "user_id"), _uuid(data, "account_id"), at,
                                is_active=False)


async def _user_updated(repo: AccountRepository, data: Mapping[str, Any], at: datetime) -> None:
    if "is_active" in data:
        await repo.apply_user_event(_uuid(data, "user_id"), _uuid(data, "account_id"), at,
                                    is_active=bool(data["is_active"]))


HANDLERS: dict[str, Handler] = {
    "account.suspended": _suspended,
    "account.reactivated": _reactivated,
    "account.plan_changed": _plan_changed,
    "account.updated": _account_updated,
    "user.deactivated": _user_deactivated,
    "user.updated": _user_updated,
    # An erased person (docs/privacy.md) is a deactivated user here: the marketplace history
    # keeps the user id, the pseudonymous reference; the kit drops the cached profile.
    "user.erased": _user_deactivated,
}


def _occurred_at(envelope: Mapping[str, Any]) -> datetime:
    raw = envelope.get("occurred_at")
    if isinstance(raw, str):
        raw = datetime.fromisoformat(raw)
    if not isinstance(raw, datetime):
        return utcnow()
    return raw if raw.tzinfo is not None else raw.replace(tzinfo=UTC)


async def handle_event(session: AsyncSession, envelope: Mapping[str, Any]) -> bool:
    """Apply one AvAdmin event; returns False for types StockTech does not need."""
    handler = HANDLERS.get(str(envelope.get("type")))
    if handler is None:
        return False
    data = envelope.get("data") or {}
    await handler(AccountRepository(session), data, _occurred_at(envelope))
    logger.info("applied %s %s", envelope.get("type"), envelope.get("id"))
    return True
