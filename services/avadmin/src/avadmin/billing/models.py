from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from avadmin.db import Base, pg_enum
from avadmin.plans.models import BillingCycle, Plan
from avelar_kit.db.base import TimestampMixin, UUIDPrimaryKey, utcnow


class BillingStatus(enum.StrEnum):
    pending = "pending"
    paid = "paid"
    failed = "failed"


class BillingMethod(enum.StrEnum):
    card = "card"  # a MercadoPago subscription (preapproval) charged on a card
    pix = "pix"  # a one-off MercadoPago Pix payment


class BillingTransaction(UUIDPrimaryKey, TimestampMixin, Base):
    """One charge. ``mercadopago_id`` is the MercadoPago payment id (unique: a notification
    applies to one row only); ``external_reference`` is what AvAdmin sent to MercadoPago and
    checks on every payment it reads back. Signup's first row has no method until checkout."""

    __tablename__ = "billing_transactions"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        UniqueConstraint("account_id", "idempotency_key", name="uq_billing_idempotency"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), index=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    mercadopago_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    status: Mapped[BillingStatus] = mapped_column(
        pg_enum(BillingStatus, "billing_status"), default=BillingStatus.pending
    )
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    method: Mapped[BillingMethod | None] = mapped_column(pg_enum(BillingMethod, "billing_method"))
    cycle: Mapped[BillingCycle | None] = mapped_column(pg_enum(BillingCycle, "billing_cycle"))
    currency: Mapped[str] = mapped_column(String(3), default="BRL", server_default="BRL")
    external_reference: Mapped[str | None] = mapped_column(String(100), index=True)
    preapproval_id: Mapped[str | None] = mapped_column(String(100), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # MercadoPago's own status and its date_last_updated: a notification older than what was
    # applied never overwrites it.
    gateway_status: Mapped[str | None] = mapped_column(String(40))
    gateway_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failure_reason: Mapped[str | None] = mapped_column(String(100))
    checkout_url: Mapped[str | None] = mapped_column(Text)
    pix_qr_code: Mapped[str | None] = mapped_column(Text)
    pix_qr_code_base64: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    period_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    period_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, server_default=func.now()
    )

    plan: Mapped[Plan] = relationship(lazy="raise")


class Subscription(TimestampMixin, Base):
    """A company's paid standing: the period paid for, the cycle, the card subscription if any,
    and a downgrade waiting for the end of the paid period."""

    __tablename__ = "billing_subscriptions"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    cycle: Mapped[BillingCycle] = mapped_column(pg_enum(BillingCycle, "billing_cycle"),
                                                default=BillingCycle.monthly)
    method: Mapped[BillingMethod | None] = mapped_column(pg_enum(BillingMethod, "billing_method"))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    paid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    preapproval_id: Mapped[str | None] = mapped_column(String(100))
    preapproval_status: Mapped[str | None] = mapped_column(String(40))
    scheduled_plan_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plans.id"))
    scheduled_cycle: Mapped[BillingCycle | None] = mapped_column(
        pg_enum(BillingCycle, "billing_cycle"))
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when dunning suspended the company: a later payment reactivates it (an operator's
    # suspension is the operator's to lift).
    suspended_for_nonpayment: Mapped[bool] = mapped_column(Boolean, default=False,
                                                           server_default=text("false"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class GatewayPlan(UUIDPrimaryKey, TimestampMixin, Base):
    """MercadoPago's preapproval_plan for one of our plans, cycle and amount."""

    __tablename__ = "mercadopago_plans"
    __table_args__ = (UniqueConstraint("plan_id", "cycle", "amount",
                                       name="uq_mercadopago_plans_plan_cycle_amount"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    cycle: Mapped[BillingCycle] = mapped_column(pg_enum(BillingCycle, "billing_cycle"))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    preapproval_plan_id: Mapped[str] = mapped_column(String(100), unique=True)


class BillingNotification(UUIDPrimaryKey, TimestampMixin, Base):
    """A verified webhook waiting to be worked: answered at once, processed after. One pending
    row per resource (repeated deliveries merge into it)."""

    __tablename__ = "billing_notifications"
    __table_args__ = (
        Index("uq_billing_notifications_pending", "topic", "resource_id", unique=True,
              postgresql_where=text("processed_at IS NULL")),
    )

    topic: Mapped[str] = mapped_column(String(60))
    resource_id: Mapped[str] = mapped_column(String(100))
    request_id: Mapped[str | None] = mapped_column(String(100))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    outcome: Mapped[str | None] = mapped_column(String(200))
