"""The WhatsApp delivery outbox."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, Index, Integer, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from avadmin.db import Base
from avelar_kit.db.base import TimestampMixin, UUIDPrimaryKey, utcnow


class MessageStatus(enum.StrEnum):
    pending = "pending"  # waiting for (another) attempt
    sent = "sent"  # the provider accepted it
    dead = "dead"  # dead letter: a permanent error, or every attempt failed
    expired = "expired"  # a code that expired before it could be delivered


class OutgoingMessage(UUIDPrimaryKey, TimestampMixin, Base):
    """The WhatsApp delivery outbox: written in the transaction that decides to send, sent by
    the dispatcher after the commit, retried with backoff; ``dead`` rows are the dead letters.
    A row that carries a code (``sensitive``) has its parameters erased once it leaves
    ``pending``."""

    __tablename__ = "whatsapp_messages"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'dead', 'expired')", name="status_known"),
        CheckConstraint("jsonb_typeof(components) = 'array'", name="components_array"),
        Index("ix_whatsapp_messages_due", "next_attempt_at",
              postgresql_where=text("status = 'pending'")),
    )

    to_number: Mapped[str] = mapped_column(String(15))
    template: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(10))
    components: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    status: Mapped[str] = mapped_column(String(10), default=MessageStatus.pending.value,
                                        server_default=MessageStatus.pending.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                      server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(300))
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dead_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Exactly once per cause: e.g. "<event id>:<number>". NULL for messages without one.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # The StockTech transaction's whatsapp_chat_id these messages belong to.
    conversation_id: Mapped[str | None] = mapped_column(String(100))
