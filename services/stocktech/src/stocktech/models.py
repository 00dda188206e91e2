"""Every StockTech table, imported in one place for Alembic and the tests."""

from stocktech.accounts.models import KnownAccount, KnownUser
from stocktech.audit.models import AuditLog
from stocktech.catalog.models import Brand, Category
from stocktech.db import Base
from stocktech.events.models import HandledEvent, OutboxEvent
from stocktech.products.models import Product
from stocktech.transactions.models import IdempotencyKey, Transaction, TransactionStatus

__all__ = [
    "AuditLog",
    "Base",
    "Brand",
    "Category",
    "HandledEvent",
    "IdempotencyKey",
    "KnownAccount",
    "KnownUser",
    "OutboxEvent",
    "Product",
    "Transaction",
    "TransactionStatus",
]
