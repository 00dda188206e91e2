from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from avelar_kit.db.base import TimestampMixin, UUIDPrimaryKey, utcnow
from lucrum.db import MONEY, ZERO, Base, pg_enum


class AccountType(enum.StrEnum):
    checking = "checking"
    savings = "savings"


class BankAccount(UUIDPrimaryKey, TimestampMixin, Base):
    """A company's account at a bank.

    ``balance`` is a running total kept by the ledger (every posting updates it atomically in the
    same database transaction); ``opening_balance`` is where the ledger starts, so that
    ``opening_balance + sum(ledger) == balance`` is the invariant the drift check verifies.
    A checking account may go negative (cheque especial is ordinary in Brazil), so no sign
    constraint on ``balance``.
    """

    __tablename__ = "bank_accounts"
    __table_args__ = (
        CheckConstraint("bank_code ~ '^[0-9]{3}$'", name="bank_code_shape"),
        CheckConstraint("agency ~ '^[0-9]{4}(-[0-9X])?$'", name="agency_shape"),
        CheckConstraint("account_number ~ '^[0-9]{1,12}-[0-9X]$'", name="account_number_shape"),
        CheckConstraint("char_length(btrim(name)) BETWEEN 1 AND 100", name="name_length"),
        # A deactivated account cannot be where sales land.
        CheckConstraint("NOT is_default OR is_active", name="default_is_active"),
        UniqueConstraint("account_id", "bank_code", "agency", "account_number",
                         name="uq_bank_accounts_identity"),
        # At most one default account per company: StockTech sales are posted there.
        Index("uq_bank_accounts_default", "account_id", unique=True,
              postgresql_where=text("is_default")),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    bank_code: Mapped[str] = mapped_column(String(3), nullable=False)
    agency: Mapped[str] = mapped_column(String(10), nullable=False)
    account_number: Mapped[str] = mapped_column(String(20), nullable=False)
    account_type: Mapped[AccountType] = mapped_column(
        pg_enum(AccountType, "bank_account_type"), nullable=False
    )
    opening_balance: Mapped[Decimal] = mapped_column(
        MONEY, nullable=False, default=ZERO, server_default="0"
    )
    balance: Mapped[Decimal] = mapped_column(MONEY, nullable=False, default=ZERO,
                                             server_default="0")
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                             server_default="false")
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True,
                                            server_default="true")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow,
        server_default=func.now(),
    )
