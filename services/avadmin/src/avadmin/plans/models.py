from __future__ import annotations

import enum
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Integer, Numeric, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from avadmin.db import Base, pg_enum
from avelar_kit.db.base import TimestampMixin, UUIDPrimaryKey


class BillingCycle(enum.StrEnum):
    monthly = "monthly"
    yearly = "yearly"


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
    billing_cycle: Mapped[BillingCycle] = mapped_column(pg_enum(BillingCycle, "billing_cycle"))
    max_products: Mapped[int] = mapped_column(Integer)
    max_users: Mapped[int] = mapped_column(Integer)
    max_transactions: Mapped[int] = mapped_column(Integer)
    features: Mapped[list[str]] = mapped_column(JSONB, default=list,
                                                server_default=text("'[]'::jsonb"))
    modules: Mapped[list[str]] = mapped_column(JSONB, default=list,
                                               server_default=text("'[]'::jsonb"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
