"""Users of a company: only its admins manage them; the plan's max_users is enforced."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from avadmin import events
from avadmin.accounts.models import Account
from avadmin.accounts.repository import AccountRepository
from avadmin.auth.repository import RefreshTokenRepository
from avadmin.permissions import PERMISSIONS
from avadmin.security.passwords import hash_password, verify_password
from avadmin.users.models import Role, User
from avadmin.users.repository import UserRepository
from avadmin.users.schemas import UserCreate, UserUpdate
from avelar_kit.auth.principal import Principal
from avelar_kit.db.base import utcnow
from avelar_kit.errors import Conflict, NotFound, PlanLimitReached, Unauthorized

logger = logging.getLogger("avadmin.users")


def _user_not_found() -> NotFound:
    return NotFound("Usuário não encontrado", code="user_not_found")


def _account_not_found() -> NotFound:
    return NotFound("Empresa não encontrada", code="account_not_found")


class UserService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.users = UserRepository(session)
        self.accounts = AccountRepository(session)

    async def _visible_user(self, principal: Principal, user_id: uuid.UUID,
                            *, for_update: bool = False) -> User:
        user = await self.users.get(user_id, for_update=for_update)
        if user is None:
            raise _user_not_found()
        if not principal.is_service and user.account_id != principal.account_id:
            raise _user_not_found()
        return user

    async def _relock(self, user: User) -> None:
        # The user was read before the account lock was taken; read it again under a row lock
        # so that the decisions (already inactive? last admin?) and the event describe the row
        # as it is now, not as it was before a concurrent change committed.
        await self.session.refresh(user, with_for_update=True)

    async def get_visible(self, principal: Principal, user_id: uuid.UUID) -> User:
        return await self._visible_user(principal, user_id)

    async def list_for_account(self, principal: Principal, account_id: uuid.UUID) -> Sequence[User]:
        if not principal.is_service and principal.account_id != account_id:
            raise _account_not_found()
        # The list carries every coworker's CPF: only the company's admins (and the modules)
        # need it.
        if not principal.is_service:
            PERMISSIONS.check_role(principal.role, "users.list")
        return await self.users.list_by_account(account_id)

    async def _lock_account_with_room(self, account_id: uuid.UUID) -> Account:
        # The account row lock serialises every user creation/activation of one company, so two
        # concurrent requests at the limit cannot both see room for one more.
        account = await self.accounts.get(account_id, for_update=True)
        if account is None:
            raise _account_not_found()
        active = await self.users.count_active(account_id)
        PlanLimitReached.check(limit="max_users", plan=account.plan.name,
                               allowed=account.plan.max_users, used=active,
                               hint="Desative um usuário ou mude de plano.")
        return account

    async def create(self, admin: Principal, account_id: uuid.UUID, data: UserCreate) -> User:
        if admin.account_id != account_id:
            raise _account_not_found()
        password_hash = await hash_password(data.password)
        await self._lock_account_with_room(account_id)
        if await self.users.cpf_taken(data.cpf):
            raise Conflict("Já existe um usuário com este CPF", code="cpf_taken")
        user = await self.users.add(User(
            account_id=account_id, full_name=data.full_name, cpf=data.cpf,
            whatsapp=data.whatsapp, password_hash=password_hash, role=data.role,
        ))
        self.accounts.audit(f"user:{admin.user_id}", "user.created", account_id,
                            {"user_id": str(user.id), "role": user.role.value})
        events.user_updated(self.session, user)
        return user

    async def _ensure_not_last_admin(self, user: User) -> None:
        if user.role == Role.admin and user.is_active:
            if await self.users.count_active_admins(user.account_id) <= 1:
                raise Conflict("A empresa precisa de pelo menos um administrador ativo",
                               code="last_admin")

    async def update(self, principal: Principal, user_id: uuid.UUID, data: UserUpdate) -> User:
        # Lock the account first (same order as creation) so that two admins demoting each other
        # at once cannot leave the company without an admin.
        user = await self._visible_user(principal, user_id)
        await self.accounts.get(user.account_id, with_plan=False, for_update=True)
        await self._relock(user)
        is_self = principal.user_id == user.id
        if not (is_self and data.role is None):
            # Anyone edits its own name and WhatsApp; the rest is the matrix's.
            PERMISSIONS.check_role(principal.role, "users.update")
        changes = data.model_dump(exclude_unset=True, exclude_none=True)
        if "role" in changes and changes["role"] != user.role and user.role == Role.admin:
            await self._ensure_not_last_admin(user)
        for field, value in changes.items():
            setattr(user, field, value)
        await self.session.flush()
        if changes:
            events.user_updated(self.session, user)
            self.accounts.audit(f"user:{principal.user_id}", "user.updated", user.account_id,
                                {"user_id": str(user.id), "fields": sorted(changes)})
        return user

    async def deactivate(self, admin: Principal, user_id: uuid.UUID) -> User:
        user = await self._visible_user(admin, user_id)
        await self.accounts.get(user.account_id, with_plan=False, for_update=True)
        await self._relock(user)
        if user.id == admin.user_id:
            raise Conflict("Você não pode desativar o próprio usuário",
                           code="cannot_deactivate_self")
        if not user.is_active:
            return user
        await self._ensure_not_last_admin(user)
        user.is_active = False
        await RefreshTokenRepository(self.session).revoke_user(user.id)
        await self.session.flush()
        events.user_deactivated(self.session, user)
        self.accounts.audit(f"user:{admin.user_id}", "user.deactivated", user.account_id,
                            {"user_id": str(user.id)})
        return user

    async def activate(self, admin: Principal, user_id: uuid.UUID) -> User:
        user = await self._visible_user(admin, user_id)
        await self.accounts.get(user.account_id, with_plan=False, for_update=True)
        await self._relock(user)
        if user.is_active:
            return user
        await self._lock_account_with_room(user.account_id)
        user.is_active = True
        await self.session.flush()
        events.user_updated(self.session, user)
        self.accounts.audit(f"user:{admin.user_id}", "user.activated", user.account_id,
                            {"user_id": str(user.id)})
        return user

    async def change_password(self, principal: Principal, current: str, new: str) -> None:
        assert principal.user_id is not None
        user = await self.users.get(principal.user_id, for_update=True)
        if user is None or not user.is_active:
            raise _user_not_found()
        if not await verify_password(user.password_hash, current):
            raise Unauthorized("Senha atual incorreta", code="invalid_credentials")
        if current == new:
            raise Conflict("A nova senha deve ser diferente da atual", code="password_reused")
        user.password_hash = await hash_password(new)
        # Access tokens issued before now stop working at AvAdmin at once (checked per request).
        user.sessions_valid_after = utcnow()
        await self.session.flush()
        # The other modules drop their cached copy and refuse the old tokens too.
        events.user_updated(self.session, user)
        # Every other session ends: whoever knew the old password loses access.
        await RefreshTokenRepository(self.session).revoke_user(user.id)
        logger.info("password changed for user %s", user.id)
