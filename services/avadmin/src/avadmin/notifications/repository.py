from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from avadmin.accounts.models import Account
from avadmin.users.models import Role, User


class RecipientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def account(self, account_id: uuid.UUID) -> Account | None:
        # The plan in the same statement (every company has one): one round trip per company
        # of an event instead of two (issue 10: each sale reads two companies).
        return await self.session.scalar(
            select(Account).where(Account.id == account_id)
            .options(joinedload(Account.plan, innerjoin=True)))

    async def accounts(self, *account_ids: uuid.UUID) -> dict[uuid.UUID, Account]:
        """Several companies with their plans, in one statement, by id."""
        rows = await self.session.scalars(
            select(Account).where(Account.id.in_(account_ids))
            .options(joinedload(Account.plan, innerjoin=True)))
        return {a.id: a for a in rows.unique()}

    async def verified_admin_numbers(self, account_id: uuid.UUID) -> Sequence[str]:
        stmt = (select(User.whatsapp)
                .where(User.account_id == account_id, User.role == Role.admin,
                       User.is_active.is_(True), User.whatsapp_verified.is_(True))
                .order_by(User.created_at))
        return (await self.session.scalars(stmt)).all()
