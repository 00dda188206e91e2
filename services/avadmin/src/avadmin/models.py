"""AvAdmin's tables. The database enforces the rules that must never be broken: document
shapes and check digits, uniqueness, non-negative money and limits."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
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
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from avelar_kit.db.base import TimestampMixin, UUIDPrimaryKey, make_metadata, utcnow
from avelar_kit.events.outbox import OutboxMixin


class Base(DeclarativeBase):
    metadata = make_metadata()


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e],
                validate_strings=True)


class BillingCycle(enum.StrEnum):
    monthly = "monthly"
    yearly = "yearly"


class AccountStatus(enum.StrEnum):
    active = "active"
    suspended = "suspended"


class Role(enum.StrEnum):
    admin = "admin"
    user = "user"


class BillingStatus(enum.StrEnum):
    pending = "pending"
    paid = "paid"
    failed = "failed"


class BillingMethod(enum.StrEnum):
    card = "card"  # a MercadoPago subscription (preapproval) charged on a card
    pix = "pix"  # a one-off MercadoPago Pix payment


# The first-party modules; the registry (table ``modules``) starts with them and platform
# operators add partner modules to it.
MODULES = ("StockTech", "Lucrum")


class Module(TimestampMixin, Base):
    """A module that companies can enable: first-party or a partner's (the seed's "Parceria")."""

    __tablename__ = "modules"
    __table_args__ = (
        CheckConstraint("name ~ '^[A-Za-z][A-Za-z0-9_-]{1,49}$'", name="name_format"),
    )

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class Plan(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_non_negative"),
        CheckConstraint("max_products >= 0", name="max_products_non_negative"),
        CheckConstraint("max_users >= 1", name="max_users_positive"),
        CheckConstraint("max_transactions >= 0", name="max_transactions_non_negative"),
        CheckConstraint("jsonb_typeof(features) = 'array'", name="features_array"),
        CheckConstraint("jsonb_typeof(modules) = 'array'", name="modules_array"),
    )

    name: Mapped[str] = mapped_column(String(50), unique=True)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    billing_cycle: Mapped[BillingCycle] = mapped_column(_enum(BillingCycle, "billing_cycle"))
    max_products: Mapped[int] = mapped_column(Integer)
    max_users: Mapped[int] = mapped_column(Integer)
    max_transactions: Mapped[int] = mapped_column(Integer)
    features: Mapped[list[str]] = mapped_column(JSONB, default=list,
                                                server_default=text("'[]'::jsonb"))
    modules: Mapped[list[str]] = mapped_column(JSONB, default=list,
                                               server_default=text("'[]'::jsonb"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class Account(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("avelar_cnpj_is_valid(cnpj)", name="cnpj_valid"),
        CheckConstraint(r"whatsapp ~ '^\+55[1-9][0-9]9[0-9]{8}$'", name="whatsapp_e164_br_mobile"),
        CheckConstraint("jsonb_typeof(enabled_modules) = 'array'", name="enabled_modules_array"),
        CheckConstraint("length(btrim(company_name)) > 0", name="company_name_not_blank"),
    )

    company_name: Mapped[str] = mapped_column(String(100))
    cnpj: Mapped[str] = mapped_column(String(14), unique=True)
    whatsapp: Mapped[str] = mapped_column(String(15))
    responsible_name: Mapped[str] = mapped_column(String(100))
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"), index=True)
    enabled_modules: Mapped[list[str]] = mapped_column(JSONB, default=list,
                                                       server_default=text("'[]'::jsonb"))
    status: Mapped[AccountStatus] = mapped_column(
        _enum(AccountStatus, "account_status"), default=AccountStatus.active,
        server_default=AccountStatus.active.value,
    )
    whatsapp_verified: Mapped[bool] = mapped_column(Boolean, default=False,
                                                    server_default=text("false"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, server_default=func.now()
    )

    plan: Mapped[Plan] = relationship(lazy="raise")


class User(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("avelar_cpf_is_valid(cpf)", name="cpf_valid"),
        CheckConstraint(r"whatsapp ~ '^\+55[1-9][0-9]9[0-9]{8}$'", name="whatsapp_e164_br_mobile"),
        CheckConstraint("length(btrim(full_name)) > 0", name="full_name_not_blank"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    full_name: Mapped[str] = mapped_column(String(100))
    cpf: Mapped[str] = mapped_column(String(11), unique=True)
    whatsapp: Mapped[str] = mapped_column(String(15))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"), default=Role.user)
    whatsapp_verified: Mapped[bool] = mapped_column(Boolean, default=False,
                                                    server_default=text("false"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, server_default=func.now()
    )
    # Tokens issued before this instant are refused by AvAdmin (set on a password change).
    sessions_valid_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    account: Mapped[Account] = relationship(lazy="raise")


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
        _enum(BillingStatus, "billing_status"), default=BillingStatus.pending
    )
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    method: Mapped[BillingMethod | None] = mapped_column(_enum(BillingMethod, "billing_method"))
    cycle: Mapped[BillingCycle | None] = mapped_column(_enum(BillingCycle, "billing_cycle"))
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
    cycle: Mapped[BillingCycle] = mapped_column(_enum(BillingCycle, "billing_cycle"),
                                                default=BillingCycle.monthly)
    method: Mapped[BillingMethod | None] = mapped_column(_enum(BillingMethod, "billing_method"))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    paid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    preapproval_id: Mapped[str | None] = mapped_column(String(100))
    preapproval_status: Mapped[str | None] = mapped_column(String(40))
    scheduled_plan_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plans.id"))
    scheduled_cycle: Mapped[BillingCycle | None] = mapped_column(
        _enum(BillingCycle, "billing_cycle"))
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
    cycle: Mapped[BillingCycle] = mapped_column(_enum(BillingCycle, "billing_cycle"))
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


class RefreshToken(TimestampMixin, Base):
    """One row per refresh token issued. A token works once; presenting a used one means it
    was stolen or replayed, and the whole family (the login it descends from) is revoked."""

    __tablename__ = "refresh_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                               index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginThrottle(Base):
    """Failed logins per CPF (stored as a keyed hash, not the CPF itself)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ServiceClient(UUIDPrimaryKey, TimestampMixin, Base):
    """Another module allowed to call the internal API (client credentials)."""

    __tablename__ = "service_clients"

    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class Operator(UUIDPrimaryKey, TimestampMixin, Base):
    """SaaS staff: manage accounts and plans across tenants. Not a tenant role."""

    __tablename__ = "operators"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class OutboxEvent(OutboxMixin, Base):
    __tablename__ = "outbox_events"


class AuditLog(UUIDPrimaryKey, TimestampMixin, Base):
    """Who did what to which account: operators' and admins' changes."""

    __tablename__ = "audit_log"

    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict,
                                                    server_default=text("'{}'::jsonb"))
    note: Mapped[str | None] = mapped_column(Text)
