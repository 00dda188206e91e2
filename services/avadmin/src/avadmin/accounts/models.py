from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from avadmin.db import Base, pg_enum
from avadmin.plans.models import Plan
from avelar_kit.db.base import TimestampMixin, UUIDPrimaryKey, utcnow


class AccountStatus(enum.StrEnum):
    active = "active"
    suspended = "suspended"


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
        pg_enum(AccountStatus, "account_status"), default=AccountStatus.active,
        server_default=AccountStatus.active.value,
    )
    whatsapp_verified: Mapped[bool] = mapped_column(Boolean, default=False,
                                                    server_default=text("false"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, server_default=func.now()
    )

    plan: Mapped[Plan] = relationship(lazy="raise")
