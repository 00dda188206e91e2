from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from avadmin.db import Base
from avelar_kit.db.base import TimestampMixin, UUIDPrimaryKey, utcnow


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
    # The personal fields of the internal API this client reads ("account.whatsapp", ...,
    # avadmin.security.scopes): its service tokens carry them as scopes; the rest is null.
    personal_fields: Mapped[list[str]] = mapped_column(JSONB, default=list,
                                                       server_default=text("'[]'::jsonb"))


class Operator(UUIDPrimaryKey, TimestampMixin, Base):
    """SaaS staff: manage accounts and plans across tenants. Not a tenant role."""

    __tablename__ = "operators"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class PendingSignup(UUIDPrimaryKey, TimestampMixin, Base):
    """A signup waiting for the code sent to the admin's WhatsApp. Nothing is created until it
    is confirmed; it expires. One made with a CPF or CNPJ already registered holds no data and
    can never be confirmed (its code was never sent to anyone)."""

    __tablename__ = "pending_signups"

    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict,
                                                 server_default=text("'{}'::jsonb"))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
