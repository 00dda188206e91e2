"""Standing of the caller's company: who may act, and within which plan limits."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.auth.caller import Caller
from avelar_kit.db.base import utcnow
from avelar_kit.errors import Forbidden, Unauthorized
from stocktech.accounts.repository import AccountRepository, AccountSnapshot, KnownStanding

# session.info key: the caller's company's row as the request's standing check read it.
_KNOWN = "stocktech_known_account"


def _suspended() -> Forbidden:
    return Forbidden("A conta da sua empresa está suspensa; regularize-a no AvAdmin",
                     code="account_suspended")


class AccountService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = AccountRepository(session)

    async def authorise_write(self, caller: Caller, *,
                              event_precedence_seconds: int) -> KnownStanding:
        """Store the plan AvAdmin gave for this write (the caller was resolved at write
        freshness by the kit: user active, company active, module enabled) and lock the
        company's row for the rest of the transaction. The row also carries the standing learnt
        from AvAdmin's events, which wins over the (possibly cached) answer for
        ``event_precedence_seconds``: a suspension applies at once even where the client's
        cache could still say "active".

        When the row the request's standing check read already says what AvAdmin says (the
        usual case), nothing is written: a plan with limits only locks the row (and takes it as
        it is then, unless it changed meanwhile), a plan without limits needs no lock."""
        account = caller.account
        if account is None:
            raise Forbidden("Empresa não encontrada no AvAdmin", code="account_not_found")
        plan = account.plan
        answer = AccountSnapshot(status=account.status, plan_name=plan.name,
                                 max_products=plan.max_products,
                                 max_transactions=plan.max_transactions,
                                 company_name=account.company_name, whatsapp=account.whatsapp)
        known: KnownStanding | None = self.session.info.get(_KNOWN)
        row: KnownStanding | None = None
        if (known is not None and known.account_id == caller.account_id
                and known.unchanged_by(answer)):
            if not known.has_limits:
                row = known
            else:
                locked = await self.repo.lock(caller.account_id)
                if locked is not None and locked.unchanged_by(answer):
                    row = locked
        if row is None:
            row = await self.repo.refresh_and_lock(
                caller.account_id, answer,
                event_cutoff=utcnow() - timedelta(seconds=event_precedence_seconds),
            )
        if row.status != "active":
            raise _suspended()
        return row

    async def check_standing(self, caller: Caller) -> None:
        """Refuse a user deactivated or a company suspended by an AvAdmin event, even while
        AvAdmin's answer is still cached. One primary-key read."""
        user_active, known = await self.repo.standing(caller.user_id, caller.account_id)
        if not user_active:
            raise Unauthorized("Seu usuário foi desativado", code="user_deactivated")
        if known is not None and known.status != "active":
            raise _suspended()
        # authorise_write, later in the same request, writes nothing when this is current.
        self.session.info[_KNOWN] = known


async def local_standing(caller: Caller, session: AsyncSession) -> None:
    """The kit's local check for StockTech (``create_module_app(local_check=...)``), run on
    every request on the request's own session."""
    await AccountService(session).check_standing(caller)
