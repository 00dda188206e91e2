"""Every table of Lucrum, gathered for Alembic (each domain package owns its own models)."""

from lucrum.audit.models import AuditLog
from lucrum.bank_accounts.models import AccountType, BankAccount
from lucrum.categories.models import Category, CategoryKind
from lucrum.db import Base
from lucrum.events.models import HandledEvent, PendingPosting
from lucrum.transactions.models import FinancialTransaction, TransactionSource, TransactionType
from lucrum.transfers.models import Transfer

__all__ = [
    "AccountType",
    "AuditLog",
    "BankAccount",
    "Base",
    "Category",
    "CategoryKind",
    "FinancialTransaction",
    "HandledEvent",
    "PendingPosting",
    "TransactionSource",
    "TransactionType",
    "Transfer",
]
