"""Queries over the local copy of AvAdmin's accounts and users."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.dialects.postgresql import insert

from avelar_kit.db.base import utcnow
from avelar_kit.db.repository import RepositoryBase
from stocktech.accounts.models import KnownAccount, KnownUser


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """What AvAdmin said about an account, as read for a write."""

    status: str
    plan_name: str | None
    max_products: int | None
    max_transactions: int | None
    company_name: str | None = None
    whatsapp: str | None = None


class AccountRepository(RepositoryBase):
    async def get(self, account_id: uuid.UUID) -> KnownAccount | None:
        return await self.session.get(KnownAccount, account_id)

    async def refresh_and_lock(
        self, account_id: uuid.UUID, answer: AccountSnapshot, *, event_cutoff: datetime
    ) -> KnownAccount:
        """Store AvAdmin's answer and lock the account's row until the transaction ends.

        The row lock serialises the writes of one company that are bounded by its plan (two
        concurrent creates at the limit: the second waits, then counts the first). Status and
        plan learnt from an event newer than ``event_cutoff`` are kept over the answer, which may
        come from the AvAdmin client's cache and predate the event.
        """
        t = KnownAccount.__table__
        status_from_event = t.c.status_event_at > event_cutoff
        plan_from_event = t.c.plan_event_at > event_cutoff
        stmt = insert(KnownAccount).values(
            account_id=account_id,
            status=answer.status,
            plan_name=answer.plan_name,
            max_products=answer.max_products,
            max_transactions=answer.max_transactions,
            company_name=answer.company_name,
            whatsapp=answer.whatsapp,
            updated_at=utcnow(),
        )
        ex = stmt.excluded
        upsert = stmt.on_conflict_do_update(
            index_elements=[t.c.account_id],
            set_={
                "status": case((status_from_event, t.c.status), else_=ex.status),
                "plan_name": case((plan_from_event, t.c.plan_name), else_=ex.plan_name),
                "max_products": case((plan_from_event, t.c.max_products), else_=ex.max_products),
                "max_transactions": case(
                    (plan_from_event, t.c.max_transactions), else_=ex.max_transactions
                ),
                "company_name": func.coalesce(ex.company_name, t.c.company_name),
                "whatsapp": func.coalesce(ex.whatsapp, t.c.whatsapp),
                "updated_at": ex.updated_at,
            },
        ).returning(KnownAccount)
        result = await self.session.execute(
            upsert, execution_options={"populate_existing": True}
        )
        row: KnownAccount = result.scalar_one()
        return row

    async def apply_event(
        self,
        account_id: uuid.UUID,
        occurred_at: datetime,
        *,
        status: str | None = None,
        plan: tuple[str | None, int | None, int | None] | None = None,
        company_name: str | None = None,
        whatsapp: str | None = None,
    ) -> None:
        """Apply what an AvAdmin event says, ignoring parts older than what is already known
        (events may arrive late or twice)."""
        t = KnownAccount.__table__
        values: dict[str, object] = {"account_id": account_id, "updated_at": utcnow()}
        set_: dict[str, object] = {"updated_at": utcnow()}
        if status is not None:
            values.update(status=status, status_event_at=occurred_at)
            newer = or_(t.c.status_event_at.is_(None), t.c.status_event_at <= occurred_at)
            set_["status"] = case((newer, status), else_=t.c.status)
            set_["status_event_at"] = case((newer, occurred_at), else_=t.c.status_event_at)
        if plan is not None:
            name, max_products, max_transactions = plan
            values.update(plan_name=name, max_products=max_products,
                          max_transactions=max_transactions, plan_event_at=occurred_at)
            newer = or_(t.c.plan_event_at.is_(None), t.c.plan_event_at <= occurred_at)
            set_["plan_name"] = case((newer, name), else_=t.c.plan_name)
            set_["max_products"] = case((newer, max_products), else_=t.c.max_products)
            set_["max_transactions"] = case((newer, max_transactions),
                                            else_=t.c.max_transactions)
            set_["plan_event_at"] = case((newer, occurred_at), else_=t.c.plan_event_at)
        if company_name is not None:
            values["company_name"] = company_name
            set_["company_name"] = company_name
        if whatsapp is not None:
            values["whatsapp"] = whatsapp
            set_["whatsapp"] = whatsapp
        stmt = insert(KnownAccount).values(**values).on_conflict_do_update(
            index_elements=[t.c.account_id], set_=set_
        )
        await self.session.execute(stmt)

    async def apply_user_event(
        self, user_id: uuid.UUID, account_id: uuid.UUID, occurred_at: datetime, *, is_active: bool
    ) -> None:
        t = KnownUser.__table__
        newer = or_(t.c.event_at.is_(None), t.c.event_at <= occurred_at)
        stmt = insert(KnownUser).values(
            user_id=user_id, account_id=account_id, is_active=is_active, event_at=occurred_at
        ).on_conflict_do_update(
            index_elements=[t.c.user_id],
            set_={
                "is_active": case((newer, is_active), else_=t.c.is_active),
                "event_at": case((newer, occurred_at), else_=t.c.event_at),
                "account_id": account_id,
            },
        )
        await self.session.execute(stmt)

    async def standing(self, user_id: uuid.UUID, account_id: uuid.UUID) -> tuple[bool, str]:
        """(user still active, account status) as last learnt; unknown means active."""
        user_active = (
            select(KnownUser.is_active).where(KnownUser.user_id == user_id).scalar_subquery()
        )
        account_status = (
            select(KnownAccount.status)
            .where(KnownAccount.account_id == account_id)
            .scalar_subquery()
        )
        row = (
            await self.session.execute(
                select(func.coalesce(user_active, True), func.coalesce(account_status, "active"))
            )
        ).one()
        return bool(row[0]), str(row[1])
