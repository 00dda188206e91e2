"""What StockTech knows locally about AvAdmin's accounts and users.

Kept up to date from AvAdmin's events (and refreshed on writes), so that the marketplace can hide
suspended companies with a join and refuse deactivated users without calling AvAdmin per request.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from avelar_kit.db.base import utcnow
from stocktech.db import Base


class KnownAccount(Base):
    __tablename__ = "known_accounts"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended')", name="status_valid"),
        CheckConstraint("max_products IS NULL OR max_products >= 0", name="max_products_nn"),
        CheckConstraint("max_transactions IS NULL OR max_transactions >= 0",
                        name="max_transactions_nn"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    company_name: Mapped[str | None] = mapped_column(String(100))
    whatsapp: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    plan_name: Mapped[str | None] = mapped_column(String(50))
    max_products: Mapped[int | None] = mapped_column(Integer)
    max_transactions: Mapped[int | None] = mapped_column(Integer)
    # When an AvAdmin event last set the status / the plan (the event's occurred_at): older
    # events are ignored, and a recent event wins over a possibly cached API answer.
    status_event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    plan_event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now(), onupdate=utcnow
    )


class KnownUser(Base):
    __tablename__ = "known_users"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
