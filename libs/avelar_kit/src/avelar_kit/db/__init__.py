"""Database kit: declarative Base with a naming convention, mixins, engine and the
request-owned session (commit on success, rollback on error)."""

from avelar_kit.db.base import NAMING_CONVENTION, Base, TimestampMixin, UUIDPrimaryKey, utcnow
from avelar_kit.db.session import Database, SessionDep, get_session

__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "Database",
    "SessionDep",
    "TimestampMixin",
    "UUIDPrimaryKey",
    "get_session",
    "utcnow",
]
