from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from avadmin.accounts.models import Account, AccountStatus
from avelar_kit.db.repository import RepositoryBase


class AccountRepository(RepositoryBase):
    async def get(self, account_id: uuid.UUID, *, with_plan: bool = True,
                  for_update: bool = False) -> Account | None:
        stmt = select(Account).where(Account.id == account_id)
        if with_plan:
            stmt = stmt.options(selectinload(Account.plan))
        if for_update:
            stmt = stmt.with_for_update(of=Account)
        return await self.session.scalar(stmt)

    async def on_plan_for_update(self, plan_id: uuid.UUID) -> Sequence[Account]:
        """Every company on the plan, locked (a plan change reaches each of them)."""
        return (await self.session.scalars(
            select(Account).where(Account.plan_id == plan_id).with_for_update())).all()

    async def cnpj_taken(self, cnpj: str, *, exclude: uuid.UUID | None = None) -> bool:
        stmt = select(Account.id).where(Account.cnpj == cnpj)
        if exclude is not None:
            stmt = stmt.where(Account.id != exclude)
        return await self.session.scalar(stmt) is not None

    async def get_by_cnpj(self, cnpj: str) -> Account | None:
        return await self.session.scalar(select(Account).where(Account.cnpj == cnpj))

    async def list(self, *, status: AccountStatus | None, search: str | None, limit: int,
                   offset: int) -> tuple[Sequence[Account], int]:
        stmt = select(Account).options(selectinload(Account.plan))
        count = select(func.count()).select_from(Account)
        if status is not None:
            stmt = stmt.where(Account.status == status)
            count = count.where(Account.status == status)
        if search:
            like = f"%{search.replace('%', '').replace('_', '')}%"
            cond = Account.company_name.ilike(like) | Account.cnpj.ilike(like)
            stmt = stmt.where(cond)
            count = count.where(cond)
        rows = (await self.session.scalars(
            stmt.order_by(Account.created_at.desc(), Account.id).limit(limit).offset(offset)
        )).all()
        total = int(await self.session.scalar(count) or 0)
        return rows, total

    async def refresh_plan(self, account: Account) -> None:
        await self.session.refresh(account, attribute_names=["plan"])
