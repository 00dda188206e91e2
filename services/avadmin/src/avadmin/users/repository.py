from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.orm import joinedload, selectinload

from avadmin.accounts.models import Account, AccountStatus
from avadmin.users.models import Role, User
from avelar_kit.db.repository import RepositoryBase
from avelar_kit.lean import asyncpg_sql

# The internal API's user, for its lean read (avelar_kit.lean, ADR 0023): the columns of
# InternalUserOut, compiled once from the model to the SQL asyncpg runs (``$1`` the id).
_INTERNAL_USER_SQL = asyncpg_sql(
    select(User.id, User.full_name, User.cpf, User.whatsapp, User.account_id, User.role,
           User.is_active, User.sessions_valid_after)
    .where(User.id == bindparam("id")))


async def internal_user_row(conn: Any, user_id: uuid.UUID) -> Any:
    """The internal API's fields of a user (or None), on a lean read's raw asyncpg connection
    (``LeanRead.system_connection``)."""
    return await conn.fetchrow(_INTERNAL_USER_SQL, user_id)


class UserRepository(RepositoryBase):
    async def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
        stmt = select(User).where(User.id == user_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def get_by_cpf_with_account(self, cpf: str) -> User | None:
        # One round trip whether the CPF exists or not: follow-up loads only for known CPFs
        # would make them answer measurably slower than unknown ones.
        stmt = select(User).where(User.cpf == cpf).options(joinedload(User.account))
        return await self.session.scalar(stmt)

    async def set_password_hash(self, user_id: uuid.UUID, password_hash: str) -> None:
        await self.session.execute(
            update(User).where(User.id == user_id).values(password_hash=password_hash)
            .execution_options(synchronize_session=False))

    async def get_with_account(self, user_id: uuid.UUID) -> User | None:
        stmt = (select(User).where(User.id == user_id)
                .options(selectinload(User.account).selectinload(Account.plan)))
        return await self.session.scalar(stmt)

    async def auth_state(
        self, user_id: uuid.UUID
    ) -> Row[bool, Role, uuid.UUID, AccountStatus, datetime | None] | None:
        """What a token's claims are checked against on every request: is_active, role,
        account_id, the account's status and when the user's sessions were last revoked."""
        stmt = (select(User.is_active, User.role, User.account_id, Account.status,
                       User.sessions_valid_after)
                .join(Account, Account.id == User.account_id).where(User.id == user_id))
        return (await self.session.execute(stmt)).one_or_none()

    async def cpf_taken(self, cpf: str) -> bool:
        return await self.session.scalar(select(User.id).where(User.cpf == cpf)) is not None

    async def list_by_account(self, account_id: uuid.UUID) -> Sequence[User]:
        stmt = select(User).where(User.account_id == account_id).order_by(User.created_at, User.id)
        return (await self.session.scalars(stmt)).all()

    async def count_active(self, account_id: uuid.UUID) -> int:
        stmt = select(func.count()).select_from(User).where(
            User.account_id == account_id, User.is_active.is_(True))
        return int(await self.session.scalar(stmt) or 0)

    async def count_active_admins(self, account_id: uuid.UUID) -> int:
        stmt = select(func.count()).select_from(User).where(
            User.account_id == account_id, User.is_active.is_(True), User.role == Role.admin)
        return int(await self.session.scalar(stmt) or 0)
