"""Exports waiting for (or ready to be downloaded by) the person, and the erasures done."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from avadmin.db import Base
from avelar_kit.db.base import TimestampMixin, UUIDPrimaryKey


class ExportStatus:
    pending = "pending"  # a module's part is still missing: the job asks again
    complete = "complete"  # every part is in: the person can download it until expires_at


class PrivacyExport(UUIDPrimaryKey, TimestampMixin, Base):
    """One person's export: each module's part as it answered (``parts``, keyed by module),
    the modules still to answer (``missing``). It holds personal data, so it lives only until
    ``expires_at`` (the job deletes it) and an erasure deletes the person's exports."""

    __tablename__ = "privacy_exports"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'complete')", name="status_known"),
        CheckConstraint("jsonb_typeof(missing) = 'array'", name="missing_array"),
        Index("ix_privacy_exports_pending", "created_at",
              postgresql_where=text("status = 'pending'")),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                               index=True)
    # "user:<id>" (the person) or "operator:<id>" (on the person's request).
    requested_by: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10), default=ExportStatus.pending,
                                        server_default=ExportStatus.pending)
    parts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict,
                                                  server_default=text("'{}'::jsonb"))
    missing: Mapped[list[str]] = mapped_column(JSONB, default=list,
                                               server_default=text("'[]'::jsonb"))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Erasure(TimestampMixin, Base):
    """An erasure done: who asked and when, never what was erased. ``streams_scrubbed_at``
    is set once the events that carried the person's fields are gone from AvAdmin's streams
    (after the commit; the job retries)."""

    __tablename__ = "privacy_erasures"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                               primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    requested_by: Mapped[str] = mapped_column(String(100))
    streams_scrubbed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
