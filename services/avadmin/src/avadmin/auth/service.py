"""Sign-up, login (with brute-force throttling), refresh rotation, logout, client credentials."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from avadmin import events
from avadmin.accounts.models import Account, AccountStatus
from avadmin.accounts.repository import AccountRepository
from avadmin.audit.models import AuditLog
from avadmin.auth.models import PendingSignup
from avadmin.auth.repository import (
    LoginThrottleRepository,
    OperatorRepository,
    PendingSignupRepository,
    RefreshTokenRepository,
    ServiceClientRepository,
)
from avadmin.auth.schemas import SignupIn, TokenPair
from avadmin.billing.models import BillingStatus, BillingTransaction
from avadmin.billing.repository import BillingRepository
from avadmin.billing.scope import in_billing_scope
from avadmin.config import Settings
from avadmin.messaging import templates
from avadmin.messaging.repository import OutgoingMessageRepository
from avadmin.plans.repository import PlanRepository
from avadmin.security.passwords import (
    hash_password,
    login_slots,
    needs_rehash,
    verify_password,
)
from avadmin.security.tokens import TokenIssuer
from avadmin.users.models import Role, User
from avadmin.users.repository import UserRepository
from avadmin.whatsapp.models import CodePurpose
from avadmin.whatsapp.service import CodeSent, OtpService, invalid_code
from avelar_kit.audit import record_audit
from avelar_kit.auth.principal import Principal
from avelar_kit.auth.verifier import TokenError, TokenVerifier
from avelar_kit.db.base import utcnow
from avelar_kit.db.session import Database
from avelar_kit.db.tenancy import act_as_system, finish_read
from avelar_kit.errors import Conflict, Forbidden, TooManyRequests, Unauthorized, Unprocessable
from avelar_kit.metrics import LOGIN_FAILURES, LOGIN_THROTTLED

logger = logging.getLogger("avadmin.auth")

INVALID_CREDENTIALS = "CPF ou senha incorretos"


def _throttle_key(kind: str, identifier: str, client: str | None = None) -> str:
    # The CPF itself is not stored in the throttle table. With ``client`` the key is the pair
    # (identifier, client address): failures lock out only the client that made them.
    who = identifier if client is None else f"{identifier}|{client}"
    return hashlib.sha256(f"{kind}:{who}".encode()).hexdigest()


@dataclass(frozen=True)
class SignupPending:
    signup_id: uuid.UUID
    whatsapp: str
    expires_in: int
    resend_in: int


@dataclass
class SignupResult:
    account: Account
    user: User
    tokens: TokenPair


class AuthService:
    def __init__(self, db: Database, settings: Settings, issuer: TokenIssuer,
                 verifier: TokenVerifier, otp: OtpService) -> None:
        self.otp = otp
        self.db = db
        self.settings = settings
        self.issuer = issuer
        self.verifier = verifier
        # Logins past this point at once (issue 10). The others wait here, costing nothing,
        # instead of all running their throttle transactions and user read at the start of a
        # burst: 20 logins at once held the event loop for ~50 ms per burst, and /health/live
        # with it (probe p99 45-65 ms; 5-15 ms gated). One slot per hashing thread and one to
        # read the next user while they hash, so the threads never wait for a login either.
        self._login_slots = asyncio.Semaphore(login_slots())

    # --- tokens -------------------------------------------------------------------------------

    def _pair(self, session: AsyncSession, user: User, account: Account,
              family_id: uuid.UUID | None = None) -> TokenPair:
        access, _ = self.issuer.access_token(user, account)
        family = family_id or uuid.uuid4()
        refresh, claims = self.issuer.refresh_token(user, str(family))
        RefreshTokenRepository(session).issue(
            claims["jti"], family, user.id, datetime.fromtimestamp(claims["exp"], UTC))
        return TokenPair(access_token=access, refresh_token=refresh,
                         expires_in=self.settings.access_token_ttl)

    # --- signup -------------------------------------------------------------------------------

    async def signup(self, session: AsyncSession, data: SignupIn, client: str) -> SignupPending:
        """Step 1: nothing is created; a pending signup is recorded and a code goes to the
        admin's WhatsApp. When the CPF or CNPJ is already registered the answer is the same,
        the pending signup can never be confirmed, and the registered owner is told instead."""
        plans = PlanRepository(session)
        plan = (await plans.get(data.plan_id) if data.plan_id
                else await plans.get_by_name(data.plan_name or ""))
        if plan is None or not plan.is_active:
            raise Unprocessable("Plano não encontrado ou indisponível", code="plan_not_found")
        await self.otp.guard_request(client=client, cooldown_on=f"signup:{data.admin.whatsapp}")
        # Hashed whatever happens next, so that both paths take the same time.
        password_hash = await hash_password(data.admin.password)
        owner = await UserRepository(session).get_by_cpf_with_account(data.admin.cpf)
        company = (None if owner is not None
                   else await AccountRepository(session).get_by_cnpj(data.company.cnpj))
        expires = utcnow() + timedelta(seconds=self.settings.signup_pending_ttl_seconds)
        pendings = PendingSignupRepository(session)
        if owner is None and company is None:
            details = data.model_dump(mode="json", exclude={"admin": {"password"}})
            details["plan_id"] = str(plan.id)
            pending = await pendings.add(PendingSignup(data=details, password_hash=password_hash,
                                                       expires_at=expires))
            deliver = await self.otp.number_allows(data.admin.whatsapp) is None
            await self.otp.issue(session, CodePurpose.signup, pending.id, data.admin.whatsapp,
                                 deliver=deliver)
        else:
            pending = await pendings.add(PendingSignup(data={}, password_hash=None,
                                                       expires_at=expires))
            # A code exists (attempts and expiry behave alike) but nobody ever receives it.
            await self.otp.issue(session, CodePurpose.signup, pending.id, None, deliver=False)
            number, document, account_id = (
                (owner.whatsapp, "CPF", owner.account_id) if owner is not None
                else (company.whatsapp, "CNPJ", company.id) if company is not None
                else ("", "", None))
            if number and await self.otp.number_allows(number) is None:
                await OutgoingMessageRepository(session).enqueue(
                    number, templates.signup_attempt(document), account_id=account_id)
            if account_id is not None:
                record_audit(session, AuditLog, actor="anonymous",
                             action="account.signup_attempt_taken", account_id=account_id,
                             details={"document": document})
        logger.info("signup pending %s", pending.id)
        sent = self.otp.sent(data.admin.whatsapp)
        return SignupPending(pending.id, sent.whatsapp, sent.expires_in, sent.resend_in)

    async def confirm_signup(self, session: AsyncSession, signup_id: uuid.UUID,
                             code: str) -> SignupResult:
        """Step 2: the code from the WhatsApp creates the company and its admin (both numbers
        verified by it) and logs the admin in."""
        row = await self.otp.check(CodePurpose.signup, signup_id, code)
        pending = await PendingSignupRepository(session).get_for_update(signup_id)
        now = utcnow()
        if (row is None or pending is None or pending.confirmed_at is not None
                or pending.expires_at <= now or not pending.data or not pending.password_hash):
            raise invalid_code()
        company, admin = pending.data["company"], pending.data["admin"]
        plan = await PlanRepository(session).get(uuid.UUID(pending.data["plan_id"]))
        if plan is None or not plan.is_active:
            raise Unprocessable("Plano não encontrado ou indisponível", code="plan_not_found")
        accounts, users = AccountRepository(session), UserRepository(session)
        if (await accounts.cnpj_taken(company["cnpj"]) or await users.cpf_taken(admin["cpf"])):
            # Someone else confirmed first with the same documents.
            raise Conflict("Não foi possível concluir este cadastro. Fale com o suporte.",
                           code="signup_unavailable")
        account = await accounts.add(Account(
            company_name=company["company_name"], cnpj=company["cnpj"],
            whatsapp=company["whatsapp"], responsible_name=company["responsible_name"],
            plan_id=plan.id, enabled_modules=list(plan.modules), status=AccountStatus.active,
            whatsapp_verified=company["whatsapp"] == row.whatsapp,
        ))
        user = await users.add(User(
            account_id=account.id, full_name=admin["full_name"], cpf=admin["cpf"],
            whatsapp=admin["whatsapp"], password_hash=pending.password_hash, role=Role.admin,
            whatsapp_verified=admin["whatsapp"] == row.whatsapp,
        ))
        # Nothing personal stays behind in the pending row.
        pending.confirmed_at = now
        pending.data = {}
        pending.password_hash = None
        if plan.price > 0:
            session.add(BillingTransaction(account_id=account.id, plan_id=plan.id,
                                           amount=plan.price, status=BillingStatus.pending))
        record_audit(session, AuditLog, actor=f"user:{user.id}", action="account.signup",
                     account_id=account.id, target=f"account:{account.id}", before={},
                     after={"plan": plan.name, "cnpj": account.cnpj,
                            "company_name": account.company_name,
                            "enabled_modules": list(account.enabled_modules)})
        await accounts.refresh_plan(account)
        tokens = self._pair(session, user, account)
        await session.flush()
        logger.info("signup: account %s on plan %s", account.id, plan.name)
        return SignupResult(account=account, user=user, tokens=tokens)

    # --- password recovery --------------------------------------------------------------------

    async def forgot_password(self, session: AsyncSession, cpf: str, client: str) -> CodeSent:
        """A code to the user's verified WhatsApp; the same answer for an unknown CPF."""
        await self.otp.guard_request(client=client, cooldown_on=f"recovery:{cpf}")
        user = await UserRepository(session).get_by_cpf_with_account(cpf)
        if (user is not None and user.is_active and user.whatsapp_verified
                and await self.otp.number_allows(user.whatsapp) is None):
            await self.otp.issue(session, CodePurpose.password_reset, user.id, user.whatsapp,
                                 account_id=user.account_id)
        return self.otp.sent("")

    async def _set_password(self, session: AsyncSession, user: User, password_hash: str, *,
                            must_change: bool, client: str | None = None) -> None:
        """A new password ends every session of the user: refresh tokens revoked, access tokens
        refused by AvAdmin at once and by the other modules through ``user.updated``; the login
        throttle of the CPF starts again."""
        user.password_hash = password_hash
        user.must_change_password = must_change
        user.sessions_valid_after = utcnow()
        await session.flush()
        await RefreshTokenRepository(session).revoke_user(user.id)
        throttle = LoginThrottleRepository(session)
        await throttle.reset(_throttle_key("login", user.cpf))  # the CPF-wide count
        if client is not None:
            await throttle.reset(_throttle_key("login", user.cpf, client))  # this client's
        events.user_updated(session, user)

    async def reset_password(self, session: AsyncSession, cpf: str, code: str,
                             new_password: str, client: str | None = None) -> None:
        user = await UserRepository(session).get_by_cpf_with_account(cpf)
        row = await self.otp.check(CodePurpose.password_reset,
                                   user.id if user is not None else None, code)
        if row is None or user is None or not user.is_active:
            raise invalid_code()
        await UserRepository(session).get(user.id, for_update=True)  # row lock
        await self._set_password(session, user, await hash_password(new_password),
                                 must_change=False, client=client)
        record_audit(session, AuditLog, actor=f"user:{user.id}",
                     action="user.password_recovered", account_id=user.account_id,
                     target=f"user:{user.id}", before={"password": "x"}, after={"password": "x"})
        logger.info("password recovered for user %s", user.id)

    async def change_required_password(self, session: AsyncSession, cpf: str, current: str,
                                       new: str, client: str | None = None) -> TokenPair:
        """Log in with the temporary password an admin set and choose a new one."""
        key = _throttle_key("login", cpf, client)
        await self._attempt(key)
        user = await UserRepository(session).get_by_cpf_with_account(cpf)
        ok = await verify_password(user.password_hash if user else None, current)
        if not ok or user is None or not user.is_active:
            raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials")
        if current == new:
            raise Conflict("A nova senha deve ser diferente da atual", code="password_reused")
        if user.account.status != AccountStatus.active:
            raise Forbidden("A conta da empresa está suspensa. Fale com o suporte.",
                            code="account_suspended")
        await UserRepository(session).get(user.id, for_update=True)  # row lock
        # _set_password resets the throttle in this transaction (a separate _succeeded() would
        # wait on the row this transaction holds).
        await self._set_password(session, user, await hash_password(new), must_change=False,
                                 client=client)
        return self._pair(session, user, user.account)

    # --- login --------------------------------------------------------------------------------

    async def _attempt(self, key: str, *, check_only: bool = False) -> None:
        """Count the attempt before any password is checked, in its own transaction: the
        request may roll back, the count must not. 429 once the key is locked.

        ``check_only`` only looks at the lock: for service clients, whose secrets are random
        and cannot be guessed, only failures are counted (``_failed``), so that a module
        asking for several tokens at once is never locked out by its own successes."""
        async with self.db.sessionmaker() as s, s.begin():
            throttle = LoginThrottleRepository(s)
            until = (await throttle.locked_until(key) if check_only
                     else await throttle.register_attempt(
                         key, self.settings.login_max_failures,
                         timedelta(seconds=self.settings.login_lockout_seconds)))
        if until is not None:
            LOGIN_THROTTLED.inc()
            retry = math.ceil((until - utcnow()).total_seconds())
            raise TooManyRequests(
                "Muitas tentativas de login. Aguarde alguns minutos e tente novamente.",
                code="login_throttled", retry_after=retry)

    async def _failed(self, key: str) -> None:
        async with self.db.sessionmaker() as s, s.begin():
            await LoginThrottleRepository(s).register_attempt(
                key, self.settings.login_max_failures,
                timedelta(seconds=self.settings.login_lockout_seconds))

    async def _succeeded(self, *keys: str) -> None:
        # Its own transaction too: a right password clears the count even when the request
        # then fails (suspended company), or the owner would lock themselves out.
        async with self.db.sessionmaker() as s, s.begin():
            for key in keys:
                await LoginThrottleRepository(s).reset(key)

    async def _cpf_attempts(self, wide_key: str) -> int:
        """Count this attempt on the CPF-wide key (every client together); the attempts in the
        window. Past ``login_cpf_slowdown_after`` the login waits ``login_cpf_slowdown_seconds``
        (no connection nor login slot held), and is still checked: a distributed guess is
        slowed, the owner is never refused."""
        async with self.db.sessionmaker() as s, s.begin():
            return await LoginThrottleRepository(s).count_attempt(
                wide_key, timedelta(seconds=self.settings.login_lockout_seconds))

    async def reset_login_throttle(self, cpf: str, client: str | None = None) -> None:
        """After a successful account recovery: the CPF-wide count and this client's count go
        (a stranger's own lock on the pair stays until it expires)."""
        keys = [_throttle_key("login", cpf)]
        if client is not None:
            keys.append(_throttle_key("login", cpf, client))
        await self._succeeded(*keys)

    async def login(self, session: AsyncSession, cpf: str, password: str,
                    *, client: str = "unknown") -> TokenPair:
        key = _throttle_key("login", cpf, client)
        wide_key = _throttle_key("login", cpf)
        async with self._login_slots:
            await self._attempt(key)
            attempts = await self._cpf_attempts(wide_key)
        if attempts > self.settings.login_cpf_slowdown_after:
            LOGIN_THROTTLED.inc()
            await asyncio.sleep(self.settings.login_cpf_slowdown_seconds)
        async with self._login_slots:
            return await self._check_login(session, cpf, password, key, wide_key)

    async def _check_login(self, session: AsyncSession, cpf: str, password: str,
                           key: str, wide_key: str) -> TokenPair:
        # Read without holding a connection through the hash: a burst of logins waiting for the
        # hashing threads must not empty the pool that /health and every other request need.
        async with self.db.read_sessionmaker() as reader:
            await act_as_system(reader)  # a login finds its company by the CPF
            user = await UserRepository(reader).get_by_cpf_with_account(cpf)
            await finish_read(reader, ok=True)
        ok = await verify_password(user.password_hash if user else None, password)
        if not ok or user is None or not user.is_active:
            logger.info("login failed")
            LOGIN_FAILURES.labels(reason="invalid_credentials").inc()
            raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials")
        await self._succeeded(key, wide_key)
        if needs_rehash(user.password_hash):
            # Made with older parameters: stored again with today's, now that we have it.
            await UserRepository(session).set_password_hash(user.id,
                                                            await hash_password(password))
        # Suspended for non-payment: the login works so that the admin can pay; the token opens
        # only AvAdmin's billing endpoints (and nothing in the modules) until the payment.
        if user.account.status != AccountStatus.active and not await self._unpaid(
                session, user.account_id):
            raise Forbidden("A conta da empresa está suspensa. Fale com o suporte.",
                            code="account_suspended")
        if user.must_change_password:
            raise Forbidden("Sua senha foi redefinida pelo administrador: defina uma nova em "
                            "POST /api/auth/password/change", code="password_change_required")
        logger.info("login ok: user %s", user.id)
        return self._pair(session, user, user.account)

    # --- refresh / logout ---------------------------------------------------------------------

    async def _refresh_claims(self, token: str) -> dict[str, object]:
        try:
            return await self.verifier.decode(token, expected_typ="refresh")
        except TokenError as exc:
            raise Unauthorized("Sessão inválida ou expirada; faça login novamente",
                               code="invalid_refresh_token") from exc

    async def refresh(self, token: str) -> TokenPair:
        """Rotation: a refresh token works once. Presenting a used one revokes its family.

        Runs in its own transaction because the replay case must commit the revocation and
        still answer 401."""
        claims = await self._refresh_claims(token)
        replayed = False
        pair: TokenPair | None = None
        async with self.db.sessionmaker() as session, session.begin():
            await act_as_system(session)  # the refresh token names the user, not yet the company
            tokens = RefreshTokenRepository(session)
            row = await tokens.get_for_update(str(claims["jti"]))
            if row is None or row.revoked_at is not None:
                pass
            elif row.used_at is not None:
                replayed = True
                await tokens.revoke_family(row.family_id)
            else:
                user = await UserRepository(session).get_with_account(row.user_id)
                if (user is not None and user.is_active
                        and user.account.status == AccountStatus.active):
                    row.used_at = utcnow()
                    pair = self._pair(session, user, user.account, row.family_id)
        if replayed:
            logger.warning("refresh token replay: family revoked")
        if pair is None:
            raise Unauthorized("Sessão inválida ou expirada; faça login novamente",
                               code="invalid_refresh_token")
        return pair

    async def logout(self, session: AsyncSession, token: str) -> None:
        try:
            claims = await self.verifier.decode(token, expected_typ="refresh")
        except TokenError:
            return  # an unusable token is already as logged-out as it gets
        tokens = RefreshTokenRepository(session)
        row = await tokens.get_for_update(str(claims["jti"]))
        if row is not None:
            await tokens.revoke_family(row.family_id)

    # --- every authenticated request ------------------------------------------------------------

    async def _unpaid(self, session: AsyncSession, account_id: uuid.UUID) -> bool:
        sub = await BillingRepository(session).subscription(account_id)
        return bool(sub and sub.suspended_for_nonpayment)

    async def check_principal(self, principal: Principal, session: AsyncSession) -> None:
        """AvAdmin is the authority on who may act, so it does not trust a still-valid token
        over its own tables: a deactivated user, a suspended company or an admin who was
        demoted loses AvAdmin's endpoints at once, not when the token expires (a demoted admin
        could otherwise promote itself back)."""
        if principal.is_service or principal.user_id is None:
            return
        state = await UserRepository(session).auth_state(principal.user_id)
        if state is None or not state.is_active or state.account_id != principal.account_id:
            raise Unauthorized("Sessão encerrada; faça login novamente", code="invalid_token")
        if state.status != AccountStatus.active and not (
                in_billing_scope() and await self._unpaid(session, state.account_id)):
            raise Forbidden("A conta da empresa está suspensa. Fale com o suporte.",
                            code="account_suspended")
        if state.role.value != principal.role:
            raise Unauthorized("Suas permissões mudaram; renove a sessão",
                               code="token_stale")
        iat = principal.claims.get("iat")
        if (state.sessions_valid_after is not None and isinstance(iat, int)
                and iat < int(state.sessions_valid_after.timestamp())):
            raise Unauthorized("Sessão encerrada após troca de senha; faça login novamente",
                               code="session_revoked")

    # --- client credentials and operators ----------------------------------------------------

    async def service_token(self, session: AsyncSession, client_id: str,
                            secret: str) -> tuple[str, int]:
        key = _throttle_key("client", client_id)
        await self._attempt(key, check_only=True)
        client = await ServiceClientRepository(session).get(client_id)
        ok = await verify_password(client.secret_hash if client else None, secret)
        if not ok or client is None or not client.is_active:
            await self._failed(key)
            LOGIN_FAILURES.labels(reason="invalid_client").inc()
            raise Unauthorized("Credenciais de serviço inválidas", code="invalid_client")
        token, _ = self.issuer.service_token(client.client_id, list(client.personal_fields))
        return token, self.settings.service_token_ttl

    async def operator_login(self, session: AsyncSession, email: str,
                             password: str, *, client: str = "unknown") -> tuple[str, int]:
        email = email.strip().lower()
        key = _throttle_key("operator", email, client)
        await self._attempt(key)
        operator = await OperatorRepository(session).get_by_email(email)
        ok = await verify_password(operator.password_hash if operator else None, password)
        if not ok or operator is None or not operator.is_active:
            LOGIN_FAILURES.labels(reason="invalid_operator_credentials").inc()
            raise Unauthorized("E-mail ou senha incorretos", code="invalid_credentials")
        await self._succeeded(key)
        token, _ = self.issuer.operator_token(str(operator.id))
        return token, self.settings.access_token_ttl

