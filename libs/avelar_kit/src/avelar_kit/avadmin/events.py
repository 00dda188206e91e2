"""AvAdmin's event payloads as a consumer reads them (docs/avadmin-contract.md, "Events"), and
the handler that turns them into cache invalidations.

Tolerant readers, like the API models: extra fields are ignored; a missing or retyped field
fails the contract tests before it can fail a consumer in production."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.events.consumer import Handler
from avelar_kit.events.envelope import EventEnvelope

logger = logging.getLogger("avelar_kit.avadmin")

AVADMIN_SOURCE = "AvAdmin"
AVADMIN_STREAM = "avelar:events:avadmin"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class UserUpdated(_Payload):
    user_id: uuid.UUID
    account_id: uuid.UUID
    full_name: str
    whatsapp: str
    role: str
    is_active: bool


class UserDeactivated(_Payload):
    user_id: uuid.UUID
    account_id: uuid.UUID


class UserErased(_Payload):
    """The person's personal data was erased in AvAdmin (LGPD art. 18, docs/privacy.md): every
    module drops its copies (cached profile) and refuses the person's tokens. Carries no
    personal data: the user id is the pseudonymous reference the records keep."""

    user_id: uuid.UUID
    account_id: uuid.UUID
    erased_at: str | None = None


class AccountUpdated(_Payload):
    account_id: uuid.UUID
    company_name: str
    whatsapp: str
    enabled_modules: list[str] = Field(default_factory=list)
    status: str


class AccountSuspended(_Payload):
    account_id: uuid.UUID


class AccountReactivated(_Payload):
    account_id: uuid.UUID


class PlanLimits(_Payload):
    id: uuid.UUID | None = None
    name: str
    max_products: int
    max_users: int
    max_transactions: int
    features: list[str] = Field(default_factory=list)


class AccountPlanChanged(_Payload):
    account_id: uuid.UUID
    plan: PlanLimits


AVADMIN_EVENTS: dict[str, type[_Payload]] = {
    "user.updated": UserUpdated,
    "user.deactivated": UserDeactivated,
    "user.erased": UserErased,
    "account.updated": AccountUpdated,
    "account.suspended": AccountSuspended,
    "account.reactivated": AccountReactivated,
    "account.plan_changed": AccountPlanChanged,
}


def parse_avadmin_event(event: EventEnvelope) -> _Payload | None:
    """The typed payload, or ``None`` for an event type this client does not know (a newer
    AvAdmin may publish more types; ignoring them is forward compatible)."""
    model = AVADMIN_EVENTS.get(event.type)
    return model.model_validate(event.data) if model is not None else None


class _Invalidator(Protocol):
    """What the handler needs from the client (``AvAdminClient`` has both)."""

    async def invalidate_user(self, user_id: uuid.UUID) -> None: ...
    async def invalidate_account(self, account_id: uuid.UUID) -> None: ...


def cache_invalidation_handler(
    client: _Invalidator, then: Mapping[str, Handler] | None = None
) -> Handler:
    """A consumer handler that drops the cached copies an AvAdmin event makes wrong, then runs
    the module's own handler for that event type, if any (in the same transaction)."""
    extra = dict(then or {})

    async def handle(event: EventEnvelope, session: AsyncSession) -> None:
        if event.source != AVADMIN_SOURCE:
            return
        payload = parse_avadmin_event(event)
        if isinstance(payload, UserUpdated | UserDeactivated | UserErased):
            await client.invalidate_user(payload.user_id)
        elif isinstance(payload, AccountUpdated | AccountSuspended | AccountReactivated
                        | AccountPlanChanged):
            await client.invalidate_account(payload.account_id)
        elif payload is None:
            logger.debug("ignoring AvAdmin event type %s", event.type)
        own = extra.get(event.type)
        if own is not None:
            await own(event, session)

    return handle
