from __future__ import annotations

from sqlalchemy import Boolean, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from avelar_kit.db.base import TimestampMixin, UUIDPrimaryKey
from stocktech.db import Base


class Category(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "categories"
    __table_args__ = (
        # "Telas" and "telas" are the same category to a person.
        Index("uq_categories_name_lower", text("lower(name)"), unique=True),
    )

    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(Text)
    icon: Mapped[str | None] = mapped_column(String(50))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


class Brand(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "brands"
    __table_args__ = (Index("uq_brands_name_lower", text("lower(name)"), unique=True),)

    name: Mapped[str] = mapped_column(String(50))
    logo_url: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
