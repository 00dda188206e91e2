"""Standing of the caller's company: who may act, and within which plan limits."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.auth.dependencies import PrincipalCheck
from avelar_kit.auth.principal import Principal
from avelar_kit.avadmin.protocol import AvAdminReader
from avelar_kit.db.base import utcnow
from avelar_kit.db.session import Database
from avelar_kit.errors import Forbidden, ServiceUnavailable, Unauthorized
from stocktech.accounts.models import KnownAccount
from stocktech.accounts.repository import AccountRepository, AccountSnapshot


@dataclass(frozen=True, slots=True)
class Actor:
    """A user of a company acting in StockTech."""

    user_id: uuid.UUID
    account_id: uuid.UUID

    @classmethod
    def from_principal(cls, principal: Principal) -> Actor:
        user_id, account_id = principal.require_user()
        return cls(user_id=user_id, account_id=account_id)


def _suspended() -> Forbidden:
    return Forbidden("A conta da sua empresa está suspensa; regularize-a no AvAdmin",
                     code="account_suspended")


async def authorise_write(
    session: AsyncSession,
    avadmin: AvAdminReader,
    actor: Actor,
    *,
    event_precedence_seconds: int,
) -> KnownAccount:
    """Check with AvAdmin (fresh enough for a write) that the user and the company may act, store
    the plan, and lock the company's row for the rest of the transaction.

    AvAdmin is called before the lock is taken, so that a slow AvAdmin never holds a lock.
    """
    user = await avadmin.get_user(actor.user_id, for_write=True)
    if user is None or not user.is_active or user.account_id != actor.account_id:
        raise Unauthorized("Seu usuário foi desativado ou não existe mais", code="user_deactivated")
    plan = await avadmin.get_account_plan(actor.account_id, for_write=True)
    if plan is None:
        raise Forbidden("Empresa não encontrada no AvAdmin", code="account_not_found")
    repo = AccountRepository(session)
    known = await repo.get(actor.account_id)
    company_name = whatsapp = None
    if known is None or known.company_name is None:
        # Names are shown in the marketplace; a missing one is worth one (cached) read, but not
        # worth refusing the write when AvAdmin cannot answer it.
        try:
            account = await avadmin.get_account(actor.account_id)
        except ServiceUnavailable:
            account = None
        if account is not None:
            company_name, whatsapp = account.company_name, account.whatsapp
    row = await repo.refresh_and_lock(
        actor.account_id,
        AccountSnapshot(status=plan.status, plan_name=plan.name, max_products=plan.max_products,
                        max_transactions=plan.max_transactions, company_name=company_name,
                        whatsapp=whatsapp),
        event_cutoff=utcnow() - timedelta(seconds=event_precedence_seconds),
    )
    if row.status != "active":
        raise _suspended()
    return row


def principal_check(get_db: Callable[[], Database]) -> PrincipalCheck:
    """Refuse, on every request, a user deactivated or a company suspended by an AvAdmin event,
    even while their token is still valid. One local primary-key read, no call to AvAdmin."""

    async def check(principal: Principal) -> None:
        if principal.kind != "user" or principal.user_id is None or principal.account_id is None:
            return
        # A read on an AUTOCOMMIT connection: one round trip, no BEGIN/ROLLBACK around it.
        async with get_db().read_sessionmaker() as session:
            user_active, status = await AccountRepository(session).standing(
                principal.user_id, principal.account_id
            )
        if not user_active:
            raise Unauthorized("Seu usuário foi desativado", code="user_deactivated")
        if status != "active":
            raise _suspended()

    return check
