from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from avelar_kit.db.base import TimestampMixin, UUIDPrimaryKey, utcnow
from stocktech.db import Base

# The kit's check letter rule (avelar_kit.br.codes), repeated in SQL so that no path can store
# a code with a wrong letter. CASE keeps the cast from running on a string that is not 6 digits.
CODE_CHECK_SQL = (
    "CASE WHEN code ~ '^ST[0-9]{6}[A-Z]$' THEN "
    "substr('ABCDEFGHJKLMNPQRSTVWXYZ', (substr(code, 3, 6)::int % 23) + 1, 1) = substr(code, 9, 1) "
    "ELSE false END"
)

# Full-text search over name and description, Portuguese stemming (core PostgreSQL, no
# contrib), stored in a generated column that PostgreSQL keeps on every write (migration 0002).
SEARCH_VECTOR_SQL = (
    "to_tsvector('portuguese'::regconfig, "
    "(name::text || ' '::text) || COALESCE(description, ''::text))"
)


class Product(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint(CODE_CHECK_SQL, name="code_valid"),
        CheckConstraint("stock_quantity >= 0", name="stock_non_negative"),
        CheckConstraint("price >= 0", name="price_non_negative"),
        CheckConstraint("jsonb_typeof(images) = 'array'", name="images_array"),
        CheckConstraint("jsonb_typeof(specifications) = 'object'", name="specifications_object"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        Index("ix_products_account_active", "account_id", "is_active"),
        Index("ix_products_marketplace", "is_active", "created_at"),
        Index("ix_products_search_vector", "search_vector", postgresql_using="gin"),
        # A code prefix (``ST1234``) is an index range scan, whatever the database collation.
        Index("ix_products_code_prefix", "code", postgresql_ops={"code": "text_pattern_ops"}),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("known_accounts.account_id", ondelete="RESTRICT")
    )
    user_id: Mapped[uuid.UUID]
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    category_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    brand_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("brands.id", ondelete="RESTRICT"), index=True
    )
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    stock_quantity: Mapped[int] = mapped_column(Integer)
    images: Mapped[list[str]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    specifications: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now(), onupdate=utcnow
    )
    # Written by PostgreSQL only; deferred so that loading a product never carries it.
    search_vector: Mapped[str | None] = mapped_column(
        TSVECTOR, Computed(SEARCH_VECTOR_SQL, persisted=True), deferred=True
    )
