from __future__ import annotations

import enum
import uuid

from sqlalchemy import Boolean, CheckConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from avelar_kit.db.base import TimestampMixin, UUIDPrimaryKey
from lucrum.db import Base, pg_enum


class CategoryKind(enum.StrEnum):
    income = "income"
    expense = "expense"


class Category(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "categories"
    __table_args__ = (
        CheckConstraint("char_length(btrim(name)) BETWEEN 1 AND 50", name="name_length"),
        # Names are unique per company and kind regardless of case ("Aluguel" == "aluguel").
        Index("uq_categories_account_kind_name", "account_id", "kind", text("lower(name)"),
              unique=True),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(50), nullable=False)
    kind: Mapped[CategoryKind] = mapped_column(pg_enum(CategoryKind, "category_kind"),
                                               nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True,
                                            server_default="true")
