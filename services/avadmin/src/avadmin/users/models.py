from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from avadmin.accounts.models import Account
from avadmin.db import Base, pg_enum
from avelar_kit.db.base import TimestampMixin, UUIDPrimaryKey, utcnow


class Role(enum.StrEnum):
    admin = "admin"
    user = "user"


class User(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        # An erased person (docs/privacy.md) keeps the row, the pseudonymous reference of the
        # records the law requires, with a CPF and number that are no one's.
        CheckConstraint("erased_at IS NOT NULL OR avelar_cpf_is_valid(cpf)", name="cpf_valid"),
        CheckConstraint(r"erased_at IS NOT NULL OR whatsapp ~ '^\+55[1-9][0-9]9[0-9]{8}$'",
                        name="whatsapp_e164_br_mobile"),
        CheckConstraint("length(btrim(full_name)) > 0", name="full_name_not_blank"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    full_name: Mapped[str] = mapped_column(String(100))
    cpf: Mapped[str] = mapped_column(String(11), unique=True)
    whatsapp: Mapped[str] = mapped_column(String(15))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(pg_enum(Role, "user_role"), default=Role.user)
    whatsapp_verified: Mapped[bool] = mapped_column(Boolean, default=False,
                                                    server_default=text("false"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, server_default=func.now()
    )
    # Tokens issued before this instant are refused by AvAdmin (set on a password change).
    sessions_valid_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when a company admin resets the password: login refuses until the user picks a new one.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False,
                                                       server_default=text("false"))

    # When the person's personal data was erased (LGPD art. 18, VI): name, CPF and WhatsApp
    # are then a pseudonym, the account can never log in again.
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    account: Mapped[Account] = relationship(lazy="raise")
