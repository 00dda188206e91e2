"""Codes sent by WhatsApp."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from avadmin.db import Base
from avelar_kit.db.base import TimestampMixin, UUIDPrimaryKey


class CodePurpose(enum.StrEnum):
    user_whatsapp = "user_whatsapp"
    account_whatsapp = "account_whatsapp"
    signup = "signup"
    password_reset = "password_reset"  # noqa: S105 (a purpose, not a secret)


class VerificationCode(UUIDPrimaryKey, TimestampMixin, Base):
    """A six-digit code sent by WhatsApp. Only a keyed hash (HMAC-SHA256) is stored."""

    __tablename__ = "verification_codes"
    __table_args__ = (
        CheckConstraint(
            "purpose IN ('user_whatsapp', 'account_whatsapp', 'signup', 'password_reset')",
            name="purpose_known"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index("ix_verification_codes_subject", "purpose", "subject_id"),
    )

    purpose: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[uuid.UUID] = mapped_column()
    # The number the code went to: confirming verifies that number, not whatever is stored now.
    whatsapp: Mapped[str | None] = mapped_column(String(15))
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
