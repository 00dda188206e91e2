"""The one base of every module's repositories.

A repository is a session-bound class, one per domain package (``XRepository(session)``): every
query of that domain is a method on it, and it never commits (the request, or the worker, owns
the transaction; see ``avelar_kit.db.session``). A service builds the repositories it needs from
the same session, so a request's work is one transaction whatever repositories it crosses.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


class RepositoryBase:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, obj: T) -> T:
        """Add a new row and flush it (its server defaults and constraints are checked now, in
        the caller's transaction)."""
        self.session.add(obj)
        await self.session.flush()
        return obj


def constraint_name(exc: IntegrityError) -> str | None:
    """The name of the constraint an INSERT or UPDATE violated (asyncpg), to tell one expected
    violation (a random code that collided) from any other."""
    cause = getattr(exc.orig, "__cause__", None)
    name = getattr(cause, "constraint_name", None)
    return str(name) if name else None
