"""Database kit: declarative Base with a naming convention, mixins, engine and the
request-owned session (commit on success, rollback on error), the repositories' base.

The names are imported on first use (PEP 562): a tool that needs only ``avelar_kit.db.roles``
or ``avelar_kit.db.migrations`` (the dev stack, before any server starts) does not pay for
FastAPI, which ``avelar_kit.db.session`` imports (issue 10: the warm start)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from avelar_kit.db.base import (
        NAMING_CONVENTION,
        Base,
        TimestampMixin,
        UUIDPrimaryKey,
        utcnow,
    )
    from avelar_kit.db.repository import RepositoryBase, constraint_name
    from avelar_kit.db.session import Database, SessionDep, get_session

_WHERE = {
    "NAMING_CONVENTION": "base", "Base": "base", "TimestampMixin": "base",
    "UUIDPrimaryKey": "base", "utcnow": "base",
    "RepositoryBase": "repository", "constraint_name": "repository",
    "Database": "session", "SessionDep": "session", "get_session": "session",
}

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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
