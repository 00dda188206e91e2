"""Database kit: declarative Base with a naming convention, mixins, engine and the
request-owned session (commit on success, rollback on error), the repositories' base."""

from avelar_kit.db.base import NAMING_CONVENTION, Base, TimestampMixin, UUIDPrimaryKey, utcnow
from avelar_kit.db.repository import RepositoryBase, constraint_name
from avelar_kit.db.session import Database, SessionDep, get_session

__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "Database",
    "RepositoryBase",
    "SessionDep",
    "TimestampMixin",
    "UUIDPrimaryKey",
    "constraint_name",
    "get_session",
    "utcnow",
]
