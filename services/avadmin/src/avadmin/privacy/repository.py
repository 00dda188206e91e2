"""Every query of the privacy domain: the exports, the erasures, and the scrubbing of the
person's fields out of the tables that copy them (events, audit details, messages, signups)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select, text, update

from avadmin.accounts.models import Account
from avadmin.audit.models import AuditLog
from avadmin.auth.models import RefreshToken
from avadmin.billing.models import Subscription
from avadmin.events.models import OutboxEvent
from avadmin.messaging.models import MessageStatus, OutgoingMessage
from avadmin.privacy.models import Erasure, ExportStatus, PrivacyExport
from avadmin.whatsapp.models import VerificationCode
from avelar_kit.db.repository import RepositoryBase


def _json_needle(value: str) -> str:
    """``value`` as it appears inside a JSON string (jsonb's text output escapes the same)."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


class PrivacyRepository(RepositoryBase):
    # -- exports ---------------------------------------------------------------------------

    async def get_export(self, export_id: uuid.UUID, *, for_update: bool = False
                         ) -> PrivacyExport | None:
        return await self.session.get(PrivacyExport, export_id, with_for_update=for_update)

    async def pending_exports(self, now: datetime, limit: int = 50) -> Sequence[uuid.UUID]:
        result = await self.session.execute(
            select(PrivacyExport.id)
            .where(PrivacyExport.status == ExportStatus.pending, PrivacyExport.expires_at > now)
            .order_by(PrivacyExport.created_at).limit(limit))
        return result.scalars().all()

    async def delete_expired_exports(self, now: datetime) -> int:
        result = await self.session.execute(
            delete(PrivacyExport).where(PrivacyExport.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)

    async def delete_exports_of(self, user_id: uuid.UUID) -> None:
        await self.session.execute(delete(PrivacyExport).where(PrivacyExport.user_id == user_id))

    # -- what AvAdmin holds about the person (for the export) ------------------------------

    async def sessions_of(self, user_id: uuid.UUID) -> Sequence[RefreshToken]:
        result = await self.session.execute(
            select(RefreshToken).where(RefreshToken.user_id == user_id)
            .order_by(RefreshToken.created_at))
        return result.scalars().all()

    async def messages_to(self, number: str) -> Sequence[OutgoingMessage]:
        result = await self.session.execute(
            select(OutgoingMessage).where(OutgoingMessage.to_number == number)
            .order_by(OutgoingMessage.created_at))
        return result.scalars().all()

    async def audit_about(self, user_id: uuid.UUID) -> Sequence[AuditLog]:
        uid = str(user_id)
        result = await self.session.execute(
            select(AuditLog).where(or_(AuditLog.actor == f"user:{uid}",
                                       AuditLog.target == f"user:{uid}",
                                       AuditLog.details["user_id"].astext == uid))
            .order_by(AuditLog.created_at))
        return result.scalars().all()

    # -- erasure ---------------------------------------------------------------------------

    async def subscription_active(self, account_id: uuid.UUID, now: datetime) -> bool:
        """A company still paying: a paid period not over, or a card subscription running."""
        sub = await self.session.get(Subscription, account_id)
        if sub is None:
            return False
        return ((sub.paid_until is not None and sub.paid_until > now)
                or sub.preapproval_status == "authorized")

    async def erasure(self, user_id: uuid.UUID) -> Erasure | None:
        return await self.session.get(Erasure, user_id)

    async def unscrubbed_erasures(self, limit: int = 50) -> Sequence[uuid.UUID]:
        result = await self.session.execute(
            select(Erasure.user_id).where(Erasure.streams_scrubbed_at.is_(None))
            .order_by(Erasure.created_at).limit(limit))
        return result.scalars().all()

    async def mark_scrubbed(self, user_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(update(Erasure).where(Erasure.user_id == user_id)
                                   .values(streams_scrubbed_at=at))

    async def scrub_copies(self, user_id: uuid.UUID, account_id: uuid.UUID,
                           values: Sequence[str], pseudonym: str) -> None:
        """Replace the person's name, CPF and number wherever AvAdmin copied them: events not
        yet pruned (their ``user.updated`` rows), WhatsApp messages, pending
        signups, codes; the company's ``responsible_name`` when it is the person. The audit
        trail is not touched: it is append-only and ``record_audit`` never stores personal
        values (``avelar_kit.audit.PERSONAL``)."""
        uid = str(user_id)
        outbox = OutboxEvent.__table__
        await self.session.execute(
            update(OutboxEvent).where(outbox.c.payload["user_id"].astext == uid,
                                      outbox.c.payload.has_key("full_name"))
            .values(payload=outbox.c.payload.op("||")(
                func.jsonb_build_object("full_name", pseudonym, "whatsapp", ""))))
        for value in values:
            if not value:
                continue
            needle = _json_needle(value)
            for table, column in (("outbox_events", "payload"),
                                  ("whatsapp_messages", "components")):
                # The table and column names are this module's constants, never input.
                await self.session.execute(text(
                    f"UPDATE {table} SET {column} = replace({column}::text, :needle, "  # noqa: S608
                    f":pseudonym)::jsonb WHERE strpos({column}::text, :needle) > 0"),
                    {"needle": needle, "pseudonym": _json_needle(pseudonym)})
            await self.session.execute(
                text("DELETE FROM pending_signups WHERE strpos(data::text, :needle) > 0"),
                {"needle": needle})
        await self.session.execute(
            update(Account).where(Account.id == account_id,
                                  Account.responsible_name.in_([v for v in values if v]))
            .values(responsible_name=pseudonym))

    async def scrub_number(self, user_id: uuid.UUID, number: str) -> None:
        """Codes sent to the person; messages to the number lose it and their parameters, and
        a message still pending is never sent."""
        await self.session.execute(delete(VerificationCode).where(
            or_(VerificationCode.subject_id == user_id, VerificationCode.whatsapp == number)))
        if not number:
            return
        await self.session.execute(
            update(OutgoingMessage)
            .where(OutgoingMessage.to_number == number,
                   OutgoingMessage.status == MessageStatus.pending.value)
            .values(status=MessageStatus.expired.value, last_error="erased"))
        await self.session.execute(
            update(OutgoingMessage).where(OutgoingMessage.to_number == number)
            .values(to_number="", components=[]))
