from __future__ import annotations

import uuid
from datetime import datetime

from avelar_kit.db.base import utcnow
from sqlalchemy import DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from lucrum.db import Base


class HandledEvent(Base):
    """Ids of events already applied. Inserted in the same transaction as the postings an event
    causes, so an event counts as handled if and only if its effects were committed."""

    __tablename__ = "handled_events"

    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    handled_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
