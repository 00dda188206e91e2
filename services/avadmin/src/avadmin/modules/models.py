from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from avadmin.db import Base
from avelar_kit.db.base import TimestampMixin

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
