"""Codes by WhatsApp (``OtpService``) and the verification of a user's or a company's number
(``VerificationService``).

Rules: six digits, stored as a keyed hash; valid ``otp_ttl_seconds`` (10 min); at most
``otp_max_attempts`` (5) tries per code, counted in a transaction of their own so that a wrong
try counts even though the request fails; a new code retires the previous one. Requests for a
code are limited per client (IP), per number and by a resend cooldown, in Redis (in memory when
Redis is down). The answer never depends on whether a number or CPF belongs to anyone.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from avadmin import events
from avadmin.accounts.repository import AccountRepository
from avadmin.audit.models import AuditLog
from avadmin.config import Settings
from avadmin.messaging import templates
from avadmin.messaging.repository import OutgoingMessageRepository
from avadmin.users.repository import UserRepository
from avadmin.whatsapp.codes import code_matches, hash_code, new_code
from avadmin.whatsapp.limits import RateLimiter, limit_key
from avadmin.whatsapp.models import CodePurpose, VerificationCode
from avadmin.whatsapp.repository import VerificationCodeRepository
from avelar_kit.audit import record_audit, snapshot
from avelar_kit.auth.principal import Principal
from avelar_kit.br.phone import format_whatsapp_display
from avelar_kit.db.base import utcnow
from avelar_kit.db.session import Database
from avelar_kit.db.tenancy import act_as_system
from avelar_kit.errors import BadRequest, Forbidden, NotFound, TooManyRequests

logger = logging.getLogger("avadmin.whatsapp")

INVALID_CODE = "Código inválido ou expirado. Confira o código ou peça um novo."


def invalid_code() -> BadRequest:
    return BadRequest(INVALID_CODE, code="invalid_code",
                      extra={"errors": [{"field": "code", "message": "código inválido"}]})


def masked(e164: str) -> str:
    """``+5511987654321`` -> ``+55 (11) *****-4321``: enough for the owner to recognise it."""
    try:
        display = format_whatsapp_display(e164)
    except ValueError:
        return "+55 (**) *****-****"
    return display[:9] + "*****" + display[-5:]


@dataclass(frozen=True)
class CodeSent:
    whatsapp: str
    expires_in: int
    resend_in: int


class OtpService:
    def __init__(self, db: Database, settings: Settings, limiter: RateLimiter,
                 key: bytes) -> None:
        self.db = db
        self.settings = settings
        self.limiter = limiter
        self.key = key

    # --- limits -----------------------------------------------------------------------------

    def _too_many(self, retry: int) -> TooManyRequests:
        return TooManyRequests("Muitos pedidos de código. Aguarde e tente novamente.",
                               code="code_rate_limited", retry_after=retry)

    async def guard_request(self, *, client: str, cooldown_on: str) -> None:
        """Limits that depend only on what the caller sent (same for known and unknown
        targets): per client, and the resend cooldown on the number or CPF asked for."""
        s = self.settings
        retry = await self.limiter.hit(limit_key("otp-client", client), s.otp_max_per_client,
                                       s.otp_limit_window_seconds)
        if retry is not None:
            raise self._too_many(retry)
        retry = await self.limiter.cooldown(limit_key("otp-cooldown", cooldown_on),
                                            s.otp_resend_cooldown_seconds)
        if retry is not None:
            raise TooManyRequests("Aguarde antes de pedir um novo código.",
                                  code="code_cooldown", retry_after=retry)

    async def number_allows(self, whatsapp: str) -> int | None:
        """Count one code to this number; the seconds to wait when over the limit."""
        s = self.settings
        return await self.limiter.hit(limit_key("otp-number", whatsapp), s.otp_max_per_number,
                                      s.otp_limit_window_seconds)

    def sent(self, whatsapp: str) -> CodeSent:
        return CodeSent(masked(whatsapp), self.settings.otp_ttl_seconds,
                        self.settings.otp_resend_cooldown_seconds)

    # --- codes ------------------------------------------------------------------------------

    async def issue(self, session: AsyncSession, purpose: CodePurpose, subject_id: uuid.UUID,
                    whatsapp: str | None, *, deliver: bool = True,
                    account_id: uuid.UUID | None = None) -> None:
        """A new code for ``(purpose, subject)`` in the caller's transaction; its message goes
        to the delivery outbox (unless ``deliver`` is False: a decoy nobody receives)."""
        codes = VerificationCodeRepository(session)
        await codes.retire(purpose.value, subject_id)
        code = new_code()
        code_id = uuid.uuid4()
        expires = utcnow() + timedelta(seconds=self.settings.otp_ttl_seconds)
        codes.add(VerificationCode(id=code_id, purpose=purpose.value, subject_id=subject_id,
                                   whatsapp=whatsapp, code_hash=hash_code(self.key, code_id, code),
                                   expires_at=expires, attempts=0))
        if deliver and whatsapp:
            await OutgoingMessageRepository(session).enqueue(
                whatsapp, templates.auth_code(code), expires_at=expires, sensitive=True,
                account_id=account_id)
        await session.flush()

    async def check(self, purpose: CodePurpose, subject_id: uuid.UUID | None,
                    code: str) -> VerificationCode | None:
        """The code row when ``code`` is right (it is consumed), None otherwise. Runs in its own
        transaction: the attempt counts even when the request then fails."""
        if subject_id is None:
            return None
        async with self.db.sessionmaker() as session, session.begin():
            await act_as_system(session)  # the platform's work across companies
            codes = VerificationCodeRepository(session)
            row = await codes.latest_for_update(purpose.value, subject_id)
            now = utcnow()
            if (row is None or row.expires_at <= now
                    or row.attempts >= self.settings.otp_max_attempts):
                return None
            await codes.count_attempt(row.id)
            if not code_matches(self.key, row.id, code, row.code_hash):
                return None
            await codes.consume(row.id, now)
            session.expunge(row)
            return row


class VerificationService:
    def __init__(self, session: AsyncSession, otp: OtpService) -> None:
        self.session = session
        self.otp = otp
        self.users = UserRepository(session)
        self.accounts = AccountRepository(session)

    async def start(self, principal: Principal, target: str, whatsapp: str | None,
                    client: str) -> CodeSent:
        assert principal.user_id is not None and principal.account_id is not None
        if target == "account" and not principal.is_admin:
            raise Forbidden("Somente administradores verificam o WhatsApp da empresa",
                            code="admin_required")
        await self.otp.guard_request(client=client, cooldown_on=f"{target}:{principal.user_id}")
        actor = f"user:{principal.user_id}"
        if target == "account":
            account = await self.accounts.get(principal.account_id, with_plan=False,
                                              for_update=True)
            if account is None:
                raise NotFound("Empresa não encontrada", code="account_not_found")
            if whatsapp is not None and whatsapp != account.whatsapp:
                before = snapshot(account, ["whatsapp", "whatsapp_verified"])
                account.whatsapp = whatsapp
                account.whatsapp_verified = False
                await self.session.flush()
                events.account_updated(self.session, account)
                record_audit(self.session, AuditLog, actor=actor, action="account.updated",
                             account_id=account.id, target=f"account:{account.id}",
                             before=before, after=snapshot(account, before))
            number, purpose, subject = (account.whatsapp, CodePurpose.account_whatsapp,
                                        account.id)
        else:
            user = await self.users.get(principal.user_id, for_update=True)
            if user is None:
                raise NotFound("Usuário não encontrado", code="user_not_found")
            if whatsapp is not None and whatsapp != user.whatsapp:
                before = snapshot(user, ["whatsapp", "whatsapp_verified"])
                user.whatsapp = whatsapp
                user.whatsapp_verified = False
                await self.session.flush()
                events.user_updated(self.session, user)
                record_audit(self.session, AuditLog, actor=actor, action="user.updated",
                             account_id=user.account_id, target=f"user:{user.id}",
                             before=before, after=snapshot(user, before))
            number, purpose, subject = user.whatsapp, CodePurpose.user_whatsapp, user.id
        retry = await self.otp.number_allows(number)
        if retry is not None:
            raise TooManyRequests("Muitos códigos enviados para este número. Tente mais tarde.",
                                  code="code_rate_limited", retry_after=retry)
        await self.otp.issue(self.session, purpose, subject, number,
                             account_id=principal.account_id)
        return self.otp.sent(number)

    async def confirm(self, principal: Principal, target: str, code: str) -> None:
        assert principal.user_id is not None and principal.account_id is not None
        if target == "account" and not principal.is_admin:
            raise Forbidden("Somente administradores verificam o WhatsApp da empresa",
                            code="admin_required")
        if target == "account":
            row = await self.otp.check(CodePurpose.account_whatsapp, principal.account_id, code)
            account = await self.accounts.get(principal.account_id, with_plan=False,
                                              for_update=True)
            # The code proves the number it was sent to, not one changed since.
            if row is None or account is None or row.whatsapp != account.whatsapp:
                raise invalid_code()
            account.whatsapp_verified = True
            record_audit(self.session, AuditLog, actor=f"user:{principal.user_id}",
                         action="account.whatsapp_verified", account_id=account.id,
                         target=f"account:{account.id}", before={"whatsapp_verified": False},
                         after={"whatsapp_verified": True})
        else:
            row = await self.otp.check(CodePurpose.user_whatsapp, principal.user_id, code)
            user = await self.users.get(principal.user_id, for_update=True)
            if row is None or user is None or row.whatsapp != user.whatsapp:
                raise invalid_code()
            user.whatsapp_verified = True
        await self.session.flush()
