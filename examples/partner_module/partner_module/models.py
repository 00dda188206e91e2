"""The partner's tables: its own data, a local copy of plan limits kept by events, and the
handled-events record that makes event handling idempotent."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Integer, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from avelar_kit.db.base import TimestampMixin, UUIDPrimaryKey, make_metadata
from avelar_kit.events import HandledEventMixin


class Base(DeclarativeBase):
    metadata = make_metadata()


class HandledEvent(HandledEventMixin, Base):
    __tablename__ = "handled_events"


class AccountLimits(Base):
    """Plan limits as last announced by ``account.plan_changed``."""

    __tablename__ = "account_limits"

    account_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    plan_name: Mapped[str] = mapped_column(String(50))
    max_products: Mapped[int] = mapped_column(Integer)
    changes: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class Note(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "notes"

    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    text: Mapped[str] = mapped_column(String(500))
