from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert

from avadmin.auth.models import (
    LoginThrottle,
    Operator,
    PendingSignup,
    RefreshToken,
    ServiceClient,
)
from avelar_kit.db.base import utcnow
from avelar_kit.db.repository import RepositoryBase


def login_throttle_key(cpf: str) -> str:
    """The login throttle's key for a CPF (a hash: the CPF itself is not stored there)."""
    return hashlib.sha256(f"login:{cpf}".encode()).hexdigest()


class RefreshTokenRepository(RepositoryBase):
    def issue(self, jti: str, family_id: uuid.UUID, user_id: uuid.UUID,
              expires_at: datetime) -> None:
        self.session.add(RefreshToken(jti=jti, family_id=family_id, user_id=user_id,
                                      expires_at=expires_at))

    async def get_for_update(self, jti: str) -> RefreshToken | None:
        stmt = select(RefreshToken).where(RefreshToken.jti == jti).with_for_update()
        return await self.session.scalar(stmt)

    async def revoke_family(self, family_id: uuid.UUID) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )

    async def revoke_user(self, user_id: uuid.UUID) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


class LoginThrottleRepository(RepositoryBase):
    """Counts attempts per key in one atomic statement, before the password is checked, so a
    burst of concurrent guesses cannot all be verified while the first ones are still hashing:
    the row lock of the upsert serialises them and only ``max_attempts`` get through."""

    async def register_attempt(self, key: str, max_attempts: int,
                               lockout: timedelta) -> datetime | None:
        """Count one attempt; return until when the key is locked if this attempt must be
        refused, None if it may be checked. A lock that has expired, or a count older than the
        lockout window, starts again from one."""
        now = utcnow()
        row = LoginThrottle.__table__.c
        locked = row.locked_until.is_not(None) & (row.locked_until > now)
        restart = ((row.locked_until.is_not(None) & (row.locked_until <= now))
                   | (row.updated_at < now - lockout))
        stmt = (
            insert(LoginThrottle).values(key=key, failures=1, updated_at=now)
            .on_conflict_do_update(
                index_elements=[LoginThrottle.key],
                set_={
                    "failures": case((locked, row.failures), (restart, 1),
                                     else_=row.failures + 1),
                    "locked_until": case((locked, row.locked_until), else_=None),
                    "updated_at": case((locked, row.updated_at), else_=now),
                },
            )
            .returning(LoginThrottle.failures, LoginThrottle.locked_until)
        )
        attempts, locked_until = (await self.session.execute(stmt)).one()
        if locked_until is not None and locked_until > now:
            return locked_until  # already locked: refused without counting
        if attempts >= max_attempts:
            # This is the last attempt allowed: it is still checked, the next ones are not.
            await self.session.execute(
                update(LoginThrottle).where(LoginThrottle.key == key)
                .values(locked_until=now + lockout)
            )
        return None

    async def count_attempt(self, key: str, window: timedelta) -> int:
        """Count one attempt (never locks); the attempts in the current window, this one
        included. A count older than ``window`` starts again from one."""
        now = utcnow()
        row = LoginThrottle.__table__.c
        stmt = (
            insert(LoginThrottle).values(key=key, failures=1, updated_at=now)
            .on_conflict_do_update(
                index_elements=[LoginThrottle.key],
                set_={"failures": case((row.updated_at < now - window, 1),
                                       else_=row.failures + 1),
                      "updated_at": now},
            )
            .returning(LoginThrottle.failures)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def locked_until(self, key: str) -> datetime | None:
        row = await self.session.get(LoginThrottle, key)
        if row and row.locked_until and row.locked_until > utcnow():
            return row.locked_until
        return None

    async def reset(self, key: str) -> None:
        await self.session.execute(
            update(LoginThrottle).where(LoginThrottle.key == key)
            .values(failures=0, locked_until=None, updated_at=utcnow())
        )


class PendingSignupRepository(RepositoryBase):
    async def get_for_update(self, signup_id: uuid.UUID) -> PendingSignup | None:
        return await self.session.get(PendingSignup, signup_id, with_for_update=True)

    async def prune_expired(self, now: datetime) -> int:
        result = await self.session.execute(
            delete(PendingSignup).where(PendingSignup.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)


class ServiceClientRepository(RepositoryBase):
    async def get(self, client_id: str) -> ServiceClient | None:
        return await self.session.scalar(
            select(ServiceClient).where(ServiceClient.client_id == client_id))


class OperatorRepository(RepositoryBase):
    async def get_by_email(self, email: str) -> Operator | None:
        return await self.session.scalar(select(Operator).where(Operator.email == email))

    async def get(self, operator_id: uuid.UUID) -> Operator | None:
        return await self.session.get(Operator, operator_id)
