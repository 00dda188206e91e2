"""Users of a company: only its admins manage them; the plan's max_users is enforced."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from avadmin import events
from avadmin.accounts.models import Account
from avadmin.accounts.repository import AccountRepository
from avadmin.audit.models import AuditLog
from avadmin.auth.repository import (
    LoginThrottleRepository,
    RefreshTokenRepository,
    login_throttle_key,
)
from avadmin.messaging import templates
from avadmin.messaging.repository import OutgoingMessageRepository
from avadmin.permissions import PERMISSIONS
from avadmin.security.passwords import hash_password, verify_password
from avadmin.users.models import Role, User
from avadmin.users.repository import UserRepository
from avadmin.users.schemas import UserCreate, UserUpdate
from avelar_kit.audit import record_audit, snapshot
from avelar_kit.auth.principal import Principal
from avelar_kit.db.base import utcnow
from avelar_kit.db.tenancy import act_as_system, leave_system
from avelar_kit.errors import (
    Conflict,
    NotFound,
    PlanLimitReached,
    Unauthorized,
    Unprocessable,
)

logger = logging.getLogger("avadmin.users")

# Called when an admin tries to add a CPF that is already registered (counts and records it).
RefusalRecorder = Callable[[Principal, uuid.UUID], Awaitable[None]]


def _user_not_found() -> NotFound:
    return NotFound("Usuário não encontrado", code="user_not_found")


def _account_not_found() -> NotFound:
    return NotFound("Empresa não encontrada", code="account_not_found")


# What a user's audit row shows of it (personal fields are masked by record_audit).
AUDITED_FIELDS = ("full_name", "cpf", "whatsapp", "role", "is_active")


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

    async def create(self, admin: Principal, account_id: uuid.UUID, data: UserCreate,
                     refusals: RefusalRecorder | None = None) -> User:
        if admin.account_id != account_id:
            raise _account_not_found()
        password_hash = await hash_password(data.password)
        await self._lock_account_with_room(account_id)
        # A CPF is unique across the platform: whether it is taken is the one question this
        # company's transaction asks about every company, then it is back to its own rows.
        await act_as_system(self.session)
        taken = await self.users.cpf_taken(data.cpf)
        await leave_system(self.session)
        if taken:
            # A CPF is unique across the platform: saying so would tell this admin that the
            # person is someone else's customer. The refusal is generic, counted and recorded.
            if refusals is not None:
                await refusals(admin, account_id)
            raise Unprocessable(
                "Não foi possível cadastrar este usuário com estes dados. Confira o CPF ou fale "
                "com o suporte.", code="user_not_created")
        user = await self.users.add(User(
            account_id=account_id, full_name=data.full_name, cpf=data.cpf,
            whatsapp=data.whatsapp, password_hash=password_hash, role=data.role,
        ))
        record_audit(self.session, AuditLog, actor=f"user:{admin.user_id}",
                     action="user.created", account_id=account_id, target=f"user:{user.id}",
                     before={}, after=snapshot(user, AUDITED_FIELDS))
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
        before = snapshot(user, sorted({*changes, "whatsapp_verified"} if "whatsapp" in changes
                                       else changes))
        if changes.get("whatsapp", user.whatsapp) != user.whatsapp:
            user.whatsapp_verified = False  # a new number is verified again
        for field, value in changes.items():
            setattr(user, field, value)
        await self.session.flush()
        if changes:
            events.user_updated(self.session, user)
            record_audit(self.session, AuditLog, actor=f"user:{principal.user_id}",
                         action="user.updated", account_id=user.account_id,
                         target=f"user:{user.id}", before=before, after=snapshot(user, before))
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
        record_audit(self.session, AuditLog, actor=f"user:{admin.user_id}",
                     action="user.deactivated", account_id=user.account_id,
                     target=f"user:{user.id}", before={"is_active": True},
                     after={"is_active": False})
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
        record_audit(self.session, AuditLog, actor=f"user:{admin.user_id}",
                     action="user.activated", account_id=user.account_id,
                     target=f"user:{user.id}", before={"is_active": False},
                     after={"is_active": True})
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

    async def admin_reset_password(self, admin: Principal, cpf: str, password_hash: str) -> None:
        """An admin sets a temporary password for a user of the company: every session of the
        user ends and the next login must choose a new one. Unknown CPFs, and CPFs of other
        companies, change nothing and get the same answer."""
        user = await self.users.get_by_cpf_with_account(cpf)
        if user is None or user.account_id != admin.account_id or user.id == admin.user_id:
            return
        await self.users.get(user.id, for_update=True)  # row lock
        before_must_change = user.must_change_password
        user.password_hash = password_hash
        user.must_change_password = True
        user.sessions_valid_after = utcnow()
        await self.session.flush()
        await RefreshTokenRepository(self.session).revoke_user(user.id)
        await LoginThrottleRepository(self.session).reset(login_throttle_key(user.cpf))
        events.user_updated(self.session, user)
        record_audit(self.session, AuditLog, actor=f"user:{admin.user_id}",
                     action="user.password_reset_by_admin", account_id=user.account_id,
                     target=f"user:{user.id}",
                     before={"password": "x", "must_change_password": before_must_change},
                     after={"password": "x", "must_change_password": True})
        if user.whatsapp_verified:
            await OutgoingMessageRepository(self.session).enqueue(
                user.whatsapp,
                templates.password_reset_by_admin(first_name=user.full_name.split()[0]),
                account_id=user.account_id)
        logger.info("password of user %s reset by an admin", user.id)
