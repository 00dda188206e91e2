"""Standing of the caller's company: who may act, and within which plan limits."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.auth.caller import Caller
from avelar_kit.db.base import utcnow
from avelar_kit.errors import Forbidden, Unauthorized
from stocktech.accounts.models import KnownAccount
from stocktech.accounts.repository import AccountRepository, AccountSnapshot


def _suspended() -> Forbidden:
    return Forbidden("A conta da sua empresa está suspensa; regularize-a no AvAdmin",
                     code="account_suspended")


class AccountService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = AccountRepository(session)

    async def authorise_write(self, caller: Caller, *,
                              event_precedence_seconds: int) -> KnownAccount:
        """Store the plan AvAdmin gave for this write (the caller was resolved at write
        freshness by the kit: user active, company active, module enabled) and lock the
        company's row for the rest of the transaction. The row also carries the standing learnt
        from AvAdmin's events, which wins over the (possibly cached) answer for
        ``event_precedence_seconds``: a suspension applies at once even where the client's
        cache could still say "active"."""
        account = caller.account
        if account is None:
            raise Forbidden("Empresa não encontrada no AvAdmin", code="account_not_found")
        plan = account.plan
        row = await self.repo.refresh_and_lock(
            caller.account_id,
            AccountSnapshot(status=account.status, plan_name=plan.name,
                            max_products=plan.max_products,
                            max_transactions=plan.max_transactions,
                            company_name=account.company_name, whatsapp=account.whatsapp),
            event_cutoff=utcnow() - timedelta(seconds=event_precedence_seconds),
        )
        if row.status != "active":
            raise _suspended()
        return row

    async def check_standing(self, caller: Caller) -> None:
        """Refuse a user deactivated or a company suspended by an AvAdmin event, even while
        AvAdmin's answer is still cached. One primary-key read."""
        user_active, status = await self.repo.standing(caller.user_id, caller.account_id)
        if not user_active:
            raise Unauthorized("Seu usuário foi desativado", code="user_deactivated")
        if status != "active":
            raise _suspended()


async def local_standing(caller: Caller, session: AsyncSession) -> None:
    """The kit's local check for StockTech (``create_module_app(local_check=...)``), run on
    every request on the request's own session."""
    await AccountService(session).check_standing(caller)
