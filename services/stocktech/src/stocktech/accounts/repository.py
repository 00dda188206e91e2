"""Queries over the local copy of AvAdmin's accounts and users."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, literal, or_, select, true
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


@dataclass(frozen=True, slots=True)
class KnownStanding:
    """A company's row of ``known_accounts`` as a write reads it (``refresh_and_lock``)."""

    account_id: uuid.UUID
    status: str
    plan_name: str | None
    max_products: int | None
    max_transactions: int | None
    company_name: str | None
    whatsapp: str | None

    def unchanged_by(self, answer: AccountSnapshot) -> bool:
        """Would storing ``answer`` change nothing (``refresh_and_lock``'s rules: a name or a
        number AvAdmin leaves out keeps the one known)?"""
        return (answer.status == self.status and answer.plan_name == self.plan_name
                and answer.max_products == self.max_products
                and answer.max_transactions == self.max_transactions
                and answer.company_name in (None, self.company_name)
                and answer.whatsapp in (None, self.whatsapp))

    @property
    def has_limits(self) -> bool:
        return self.max_products is not None or self.max_transactions is not None


_k = KnownAccount.__table__
_u = KnownUser.__table__
_STANDING_COLUMNS = (_k.c.account_id, _k.c.status, _k.c.plan_name, _k.c.max_products,
                     _k.c.max_transactions, _k.c.company_name, _k.c.whatsapp)


def _standing(row: Any) -> KnownStanding:
    return KnownStanding(account_id=row.account_id, status=row.status, plan_name=row.plan_name,
                         max_products=row.max_products, max_transactions=row.max_transactions,
                         company_name=row.company_name, whatsapp=row.whatsapp)


class AccountRepository(RepositoryBase):
    async def get(self, account_id: uuid.UUID) -> KnownAccount | None:
        return await self.session.get(KnownAccount, account_id)

    async def refresh_and_lock(
        self, account_id: uuid.UUID, answer: AccountSnapshot, *, event_cutoff: datetime
    ) -> KnownStanding:
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
        ).returning(*_STANDING_COLUMNS)
        conn = await self.session.connection()
        return _standing((await conn.execute(upsert)).one())

    async def lock(self, account_id: uuid.UUID) -> KnownStanding | None:
        """Lock the account's row until the transaction ends, as it is now."""
        conn = await self.session.connection()
        row = (await conn.execute(
            select(*_STANDING_COLUMNS).where(_k.c.account_id == account_id).with_for_update()
        )).one_or_none()
        return _standing(row) if row is not None else None

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

    async def standing(
        self, user_id: uuid.UUID, account_id: uuid.UUID
    ) -> tuple[bool, KnownStanding | None]:
        """(user still active, the account's row) as last learnt; an unknown user is active,
        an unknown account has no row (and counts as active). One statement."""
        user_active = (
            select(_u.c.is_active).where(_u.c.user_id == user_id).scalar_subquery()
        )
        known = select(*_STANDING_COLUMNS).where(_k.c.account_id == account_id).subquery("k")
        stmt = (select(func.coalesce(user_active, True).label("user_active"), known)
                .select_from(select(literal(1).label("one")).subquery("one")
                             .outerjoin(known, true())))
        conn = await self.session.connection()
        row = (await conn.execute(stmt)).one()
        return bool(row.user_active), _standing(row) if row.account_id is not None else None
