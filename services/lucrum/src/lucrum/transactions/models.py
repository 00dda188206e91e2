from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from avelar_kit.br.codes import ENTRY_CODES
from avelar_kit.db.base import TimestampMixin, UUIDPrimaryKey, utcnow
from lucrum.db import MONEY, Base, pg_enum


class TransactionType(enum.StrEnum):
    """Direction of a ledger entry. Only ``income`` and ``expense`` are revenue and cost; the
    two transfer legs move money between the company's own accounts and no report counts them
    as either."""

    income = "income"
    expense = "expense"
    transfer_in = "transfer_in"
    transfer_out = "transfer_out"

    @property
    def sign(self) -> int:
        return 1 if self in (TransactionType.income, TransactionType.transfer_in) else -1

    @property
    def is_transfer(self) -> bool:
        return self in (TransactionType.transfer_in, TransactionType.transfer_out)


class TransactionSource(enum.StrEnum):
    manual = "manual"
    import_ = "import"
    stocktech = "stocktech"
    transfer = "transfer"


class FinancialTransaction(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "financial_transactions"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        # The kit's check-letter rule in SQL: no path can store a code with a wrong letter.
        CheckConstraint(ENTRY_CODES.sql_check(), name="code_valid"),
        CheckConstraint("char_length(btrim(description)) BETWEEN 1 AND 500",
                        name="description_length"),
        # Transfer legs, and only they, belong to a transfer.
        CheckConstraint(
            "(type IN ('transfer_in', 'transfer_out')) = (transfer_id IS NOT NULL)",
            name="transfer_legs",
        ),
        # Import dedupe: the bank's id (OFX FITID, CSV id or derived hash) once per bank account.
        UniqueConstraint("bank_account_id", "external_id",
                         name="uq_financial_transactions_bank_external"),
        # Event dedupe: one posting per company per origin (e.g. StockTech sale and purchase).
        UniqueConstraint("account_id", "source_ref", name="uq_financial_transactions_source_ref"),
        Index("ix_financial_transactions_account_date", "account_id", "transaction_date"),
        Index("ix_financial_transactions_bank_date", "bank_account_id", "transaction_date"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    bank_account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("bank_accounts.id", ondelete="RESTRICT"), nullable=False
    )
    code: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    type: Mapped[TransactionType] = mapped_column(
        pg_enum(TransactionType, "financial_transaction_type"), nullable=False
    )
    category_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    transaction_date: Mapped[date] = mapped_column(Date, nullable=False)
    source: Mapped[TransactionSource] = mapped_column(
        pg_enum(TransactionSource, "financial_transaction_source"), nullable=False,
        server_default="manual",
    )
    source_ref: Mapped[str | None] = mapped_column(String(120))
    external_id: Mapped[str | None] = mapped_column(String(255))
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("transfers.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow,
        server_default=func.now(),
    )
