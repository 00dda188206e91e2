from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from avelar_kit.db.base import TimestampMixin, UUIDPrimaryKey, utcnow
from stocktech.db import Base


class TransactionStatus(enum.StrEnum):
    pending = "pending"
    completed = "completed"
    cancelled = "cancelled"


class Transaction(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "transactions"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_non_negative"),
        CheckConstraint("total_amount = unit_price * quantity", name="total_matches"),
        CheckConstraint("buyer_account_id <> seller_account_id", name="not_self_purchase"),
        CheckConstraint(
            "(status = 'completed') = (completed_at IS NOT NULL) "
            "AND (status = 'cancelled') = (cancelled_at IS NOT NULL)",
            name="status_timestamps",
        ),
        Index("ix_transactions_buyer_created", "buyer_account_id", "created_at"),
        Index("ix_transactions_seller_created", "seller_account_id", "created_at"),
    )

    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"), index=True
    )
    # Snapshots: what was bought, as it was named when it was bought.
    product_code: Mapped[str] = mapped_column(String(20))
    product_name: Mapped[str] = mapped_column(String(200))
    buyer_account_id: Mapped[uuid.UUID]
    buyer_user_id: Mapped[uuid.UUID]
    seller_account_id: Mapped[uuid.UUID]
    # The user who listed the product; the seller user who completes is completed_by_user_id.
    seller_user_id: Mapped[uuid.UUID]
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    total_amount: Mapped[Decimal] = mapped_column(Numeric(15, 2))
    whatsapp_chat_id: Mapped[str | None] = mapped_column(String(100))
    whatsapp_link: Mapped[str | None] = mapped_column(Text)
    status: Mapped[TransactionStatus] = mapped_column(
        Enum(TransactionStatus, name="transaction_status",
             values_callable=lambda e: [m.value for m in e], validate_strings=True),
        default=TransactionStatus.pending, server_default="pending",
    )
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by_user_id: Mapped[uuid.UUID | None]
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by_user_id: Mapped[uuid.UUID | None]
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now(), onupdate=utcnow
    )


class IdempotencyKey(Base):
    """The first answer to a request sent with an ``Idempotency-Key``, per company.

    The row is inserted before the work and committed with it: a concurrent request with the same
    key waits on the primary key until the first one commits (then replays its answer) or rolls
    back (then does the work itself)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (PrimaryKeyConstraint("account_id", "key"),)

    account_id: Mapped[uuid.UUID]
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now(), index=True
    )
