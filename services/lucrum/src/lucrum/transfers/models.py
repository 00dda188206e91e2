from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from avelar_kit.db.base import TimestampMixin, UUIDPrimaryKey
from lucrum.db import MONEY, Base


class Transfer(UUIDPrimaryKey, TimestampMixin, Base):
    """Money moved between two accounts of the same company: one row here plus two ledger legs
    (``transfer_out`` on the origin, ``transfer_in`` on the destination) written together."""

    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("from_bank_account_id <> to_bank_account_id", name="distinct_accounts"),
        CheckConstraint("char_length(btrim(description)) BETWEEN 1 AND 500",
                        name="description_length"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(nullable=False, index=True)
    from_bank_account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("bank_accounts.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    to_bank_account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("bank_accounts.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    transfer_date: Mapped[date] = mapped_column(Date, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column()
