from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from avelar_kit.events.consumer import HandledEventMixin
from lucrum.db import Base


class HandledEvent(HandledEventMixin, Base):
    """Ids of events already applied (StockTech's and AvAdmin's). Inserted in the same
    transaction as the postings an event causes, so an event counts as handled if and only if
    its effects were committed."""

    __tablename__ = "handled_events"


class PendingPosting(Base):
    """A StockTech sale side that could not be posted yet (the company has no default bank
    account, or Lucrum is not enabled): kept, shown to the company, and posted once as soon as
    a default account exists (``posted_at`` and ``transaction_id`` then say where)."""

    __tablename__ = "pending_postings"
    __table_args__ = (UniqueConstraint("account_id", "source_ref",
                                       name="uq_pending_postings_source_ref"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    source_ref: Mapped[str] = mapped_column(String(120))
    side: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(40))
    sale: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    transaction_id: Mapped[uuid.UUID | None] = mapped_column()
