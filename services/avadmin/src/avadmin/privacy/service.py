"""The person's export and erasure (LGPD art. 18; docs/privacy.md, ADR 0017).

Export: AvAdmin's part is read at once; each module answers for its own part (``sources``);
what did not answer in time is ``missing`` and the job asks again. The document holds personal
data: only the person downloads it, until ``expires_at``.

Erasure: the person's name, CPF and WhatsApp become a pseudonym in AvAdmin and in every copy
AvAdmin made (events, audit details, messages, codes, signups); every session ends; the row and
its id stay, the pseudonymous reference the fiscal and financial records keep (art. 16). The
other modules learn it from ``user.erased`` through the outbox."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from avadmin import events
from avadmin.accounts.repository import AccountRepository
from avadmin.audit.models import AuditLog
from avadmin.auth.repository import (
    LoginThrottleRepository,
    RefreshTokenRepository,
    login_throttle_key,
)
from avadmin.privacy.models import Erasure, ExportStatus, PrivacyExport
from avadmin.privacy.repository import PrivacyRepository
from avadmin.privacy.schemas import Actor
from avadmin.users.models import Role, User
from avadmin.users.repository import UserRepository
from avelar_kit.audit import record_audit
from avelar_kit.db.base import utcnow
from avelar_kit.db.tenancy import act_as_system, leave_system
from avelar_kit.errors import Conflict, Forbidden, NotFound

AVADMIN = "AvAdmin"
ERASED_PASSWORD = "!erased"  # not an argon2 hash: no password ever matches  # noqa: S105
DOCUMENT_FORMAT = "avelarsys.privacy-export"


def _user_not_found() -> NotFound:
    return NotFound("Usuário não encontrado", code="user_not_found")


def _export_not_found() -> NotFound:
    return NotFound("Exportação não encontrada", code="export_not_found")


def pseudonym(user_id: uuid.UUID) -> str:
    return f"Titular removido {user_id.hex[:8]}"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


class PrivacyService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = PrivacyRepository(session)
        self.users = UserRepository(session)
        self.accounts = AccountRepository(session)

    # -- who may act on whom ---------------------------------------------------------------

    async def _subject(self, actor: Actor, user_id: uuid.UUID | None, *,
                       admin_may: bool, for_update: bool = False) -> User:
        target = user_id or (None if actor.is_operator else actor.id)
        if target is None:
            raise Conflict("Informe o usuário (user_id) titular dos dados",
                           code="user_id_required", extra={"field": "user_id"})
        user = await self.users.get(target, for_update=for_update)
        if user is None:
            raise _user_not_found()
        if actor.is_operator or user.id == actor.id:
            return user
        if user.account_id != actor.account_id:
            raise _user_not_found()
        if not (admin_may and actor.role == Role.admin.value):
            raise Forbidden("Somente o próprio titular (ou um operador, a pedido dele) pode "
                            "fazer isto", code="permission_denied")
        return user

    # -- export ----------------------------------------------------------------------------

    async def avadmin_part(self, user: User) -> dict[str, Any]:
        account = await self.accounts.get(user.account_id, with_plan=False)
        number = user.whatsapp
        return {
            "profile": {
                "id": str(user.id), "full_name": user.full_name, "cpf": user.cpf,
                "whatsapp": user.whatsapp, "whatsapp_verified": user.whatsapp_verified,
                "role": user.role.value, "is_active": user.is_active,
                "created_at": _iso(user.created_at), "updated_at": _iso(user.updated_at),
            },
            "company": None if account is None else {
                "id": str(account.id), "company_name": account.company_name,
                "cnpj": account.cnpj,
                "responsible_name": (account.responsible_name
                                     if account.responsible_name == user.full_name else None),
                "whatsapp": account.whatsapp if account.whatsapp == number else None,
            },
            "sessions": [
                {"issued_at": _iso(t.created_at), "expires_at": _iso(t.expires_at),
                 "used_at": _iso(t.used_at), "revoked_at": _iso(t.revoked_at)}
                for t in await self.repo.sessions_of(user.id)],
            "whatsapp_messages": [
                {"to": m.to_number, "template": m.template, "status": m.status,
                 "created_at": _iso(m.created_at), "sent_at": _iso(m.sent_at)}
                for m in await self.repo.messages_to(number)] if number else [],
            "audit": [
                {"action": a.action, "actor": a.actor, "created_at": _iso(a.created_at)}
                for a in await self.repo.audit_about(user.id)],
        }

    async def request_export(self, actor: Actor, user_id: uuid.UUID | None,
                             modules: list[str], ttl_seconds: int) -> PrivacyExport:
        user = await self._subject(actor, user_id, admin_may=False)
        if user.erased_at is not None:
            raise Conflict("Os dados deste titular já foram apagados", code="user_erased")
        now = utcnow()
        export = await self.repo.add(PrivacyExport(
            user_id=user.id, requested_by=actor.label, status=ExportStatus.pending,
            parts={AVADMIN: await self.avadmin_part(user)}, missing=list(modules),
            expires_at=now + timedelta(seconds=ttl_seconds)))
        record_audit(self.session, AuditLog, actor=actor.label,
                     action="privacy.export_requested", account_id=user.account_id,
                     target=f"user:{user.id}", before={},
                     after={"export_id": str(export.id), "status": export.status})
        if not modules:
            self._complete(export)
        return export

    def _complete(self, export: PrivacyExport) -> None:
        export.status = ExportStatus.complete
        export.completed_at = utcnow()

    async def fill(self, export: PrivacyExport, answers: dict[str, dict[str, Any] | None]
                   ) -> PrivacyExport:
        """Keep the parts that came in; the export is complete when none is missing."""
        parts = dict(export.parts)
        missing = []
        for name in export.missing:
            answer = answers.get(name)
            if answer is None:
                missing.append(name)
            else:
                parts[name] = answer
        export.parts = parts
        export.missing = missing
        export.attempts += 1
        if not missing:
            self._complete(export)
        await self.session.flush()
        return export

    async def visible_export(self, actor: Actor, export_id: uuid.UUID) -> PrivacyExport:
        """Its status: the person, or an operator (who never sees the data)."""
        export = await self.repo.get_export(export_id)
        if export is None or export.expires_at <= utcnow():
            raise _export_not_found()
        if not (actor.is_operator or (actor.kind == "user" and actor.id == export.user_id)):
            raise _export_not_found()
        return export

    async def document(self, actor: Actor, export_id: uuid.UUID) -> dict[str, Any]:
        """The export itself: the person only, once complete, until it expires."""
        export = await self.repo.get_export(export_id)
        if (export is None or export.expires_at <= utcnow() or actor.kind != "user"
                or actor.id != export.user_id):
            raise _export_not_found()
        if export.status != ExportStatus.complete:
            raise Conflict("A exportação ainda não está pronta: faltam os dados de "
                           f"{', '.join(export.missing)}", code="export_pending",
                           extra={"missing": list(export.missing)})
        return {
            "format": DOCUMENT_FORMAT, "version": 1, "export_id": str(export.id),
            "user_id": str(export.user_id), "requested_by": export.requested_by,
            "requested_at": _iso(export.created_at), "completed_at": _iso(export.completed_at),
            "expires_at": _iso(export.expires_at), "missing": list(export.missing),
            "modules": export.parts,
        }

    # -- erasure ---------------------------------------------------------------------------

    async def _refuse_last_admin(self, user: User) -> None:
        if user.role != Role.admin or not user.is_active:
            return
        if await self.users.count_active_admins(user.account_id) > 1:
            return
        if await self.repo.subscription_active(user.account_id, utcnow()):
            raise Conflict(
                "Não é possível apagar os dados do último administrador de uma empresa com "
                "assinatura ativa: promova outro usuário a administrador ou encerre a "
                "assinatura antes", code="last_admin_active_subscription",
                extra={"field": "user_id"})

    async def erase(self, actor: Actor, user_id: uuid.UUID | None) -> User:
        user = await self._subject(actor, user_id, admin_may=True)
        # The account lock orders this with user changes of the company (last admin checks).
        await self.accounts.get(user.account_id, with_plan=False, for_update=True)
        await self.session.refresh(user, with_for_update=True)
        if user.erased_at is not None:
            return user
        await self._refuse_last_admin(user)
        values = [user.full_name, user.cpf, user.whatsapp]
        number, cpf = user.whatsapp, user.cpf
        now = utcnow()
        name = pseudonym(user.id)
        user.full_name = name
        user.cpf = f"X{user.id.hex[:10]}"
        user.whatsapp = ""
        user.whatsapp_verified = False
        user.password_hash = ERASED_PASSWORD
        user.must_change_password = False
        user.is_active = False
        user.sessions_valid_after = now
        user.erased_at = now
        await self.session.flush()
        await RefreshTokenRepository(self.session).revoke_user(user.id)
        await LoginThrottleRepository(self.session).reset(login_throttle_key(cpf))
        # The copies are the person's wherever they are, some under no company (the code of a
        # signup begun before the company existed goes to the number with no account_id):
        # scrubbing them is the platform's work, for this one step; then a user's erasure is
        # back to its company's rows (an operator's transaction is the platform's already).
        await act_as_system(self.session)
        await self.repo.scrub_copies(user.id, user.account_id, values, name)
        await self.repo.scrub_number(user.id, number)
        if not actor.is_operator:
            await leave_system(self.session)
        await self.repo.delete_exports_of(user.id)
        await self.repo.add(Erasure(user_id=user.id, account_id=user.account_id,
                                    requested_by=actor.label))
        events.user_erased(self.session, user)
        # Before and after say which fields changed, never their values (record_audit masks
        # personal keys).
        record_audit(self.session, AuditLog, actor=actor.label, action="privacy.erased",
                     account_id=user.account_id, target=f"user:{user.id}",
                     before={"full_name": "", "cpf": "", "whatsapp": "", "is_active": True},
                     after={"full_name": "", "cpf": "", "whatsapp": "", "is_active": False})
        return user
