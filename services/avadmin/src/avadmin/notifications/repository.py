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
        return (await self.accounts(account_id)).get(account_id)

    async def accounts(self, *account_ids: uuid.UUID) -> dict[uuid.UUID, Account]:
        """Companies with their plans, in one statement, by id (the plan joined: every company
        has one; issue 10: a sale's two companies had taken four round trips)."""
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
