"""Lean reads: a service's lookup by id answered by the kit middleware itself (ADR 0023).

The internal API's reads by id (AvAdmin's ``GET /api/users/{id}`` with a service token: every
module's AvAdmin client asks it on a cache miss) spent more than three quarters of their time
around the one statement they run: FastAPI's router walk and dependency solver, an ORM session
and entity, the response model validated twice. A lean read answers the common case of such a
route with the least the design allows, and leaves every other case to the FastAPI route on the
same path, which stays the route of record (schema, errors, user tokens):

    lean_read(app, "/api/users/{user_id}", answer)

    async def answer(read: LeanRead) -> bytes | None:
        async with read.system_connection() as conn:   # row-level security: the platform
            row = await conn.fetchrow(USER_BY_ID, read.id)
        return None if row is None else InternalUserOut(...).model_dump_json().encode()

- **Matched here**: a GET whose path is the template's fixed prefix and one UUID (the template
  ends in its only parameter), with no query string and one bearer token that the app's
  verifier has already verified and still holds in its verified-token cache
  (``TokenVerifier.cache``), of a service. Anything
  else (another method, a path that is not a UUID, no token, a token not verified yet, a user's
  token) goes down to FastAPI as if no lean read existed: the first request of a new token
  verifies it there, and the error answers stay the ones the route gives.
- **Declined**: ``answer`` returns ``None`` (not found, say) and the FastAPI route answers; so
  does any exception of ``answer`` (the database unreachable: the route's own handling gives the
  503). A lean answer never sends anything before it has its bytes.
- **Inside the kit frame**: the request id, the security headers, the access line and the
  metric (labelled with the route's template) apply as to any route.
- **Row-level security** as for any read of the platform: ``system_connection`` is a
  connection of the module's lean pool (``Database.lean_engine``), opened with
  ``avelar.system = on`` as its session default (ADR 0020, ADR 0023). The statement is one
  round trip, with no BEGIN, setting or COMMIT around it (three round trips before). That pool
  serves lean reads only; the request pool's connections never carry the setting beyond a
  transaction. A connection whose block did not end normally (an error, a cancellation
  mid-statement) is closed, never pooled.

Only for reads of a service, by id, whose answer the FastAPI route would give byte for byte
(its test compares the two): a user's read needs the access checks of the caller resolver,
which stay in the FastAPI route.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.sql.expression import ClauseElement
from sqlalchemy.util import greenlet_spawn
from starlette.types import Receive, Scope, Send

from avelar_kit.auth.principal import Principal
from avelar_kit.plain import JSON

logger = logging.getLogger("avelar_kit.lean")


class LeanRead:
    """One lean read: the caller (a verified service), the id in the path, the app."""

    __slots__ = ("app", "id", "principal")

    def __init__(self, app: Any, principal: Principal, id_: uuid.UUID) -> None:
        self.app = app
        self.principal = principal
        self.id = id_

    @asynccontextmanager
    async def system_connection(self) -> AsyncIterator[Any]:
        """An asyncpg connection acting as the platform (``avelar.system = on``, as the FastAPI
        route's ``get_caller`` sets for a service), from the module's lean pool
        (``Database.lean_engine``: the setting is the connection's own, sent at connect), so
        a statement on it is one round trip and no transaction. Checked out of that pool itself
        (its idle ping and checkin guard apply), without an SQLAlchemy Connection."""
        fairy = await self.app.state.db.lean_engine.raw_connection()
        ok = False
        try:
            yield fairy.driver_connection
            ok = True
        finally:
            # A connection whose block did not end normally (a cancellation mid-statement
            # leaves asyncpg's own state unreliable, a block may have opened a transaction) is
            # never pooled again. Cleanup errors never replace the exception (a cancellation
            # included) that ended the block.
            try:
                await greenlet_spawn(fairy.close if ok else fairy.invalidate)
            except Exception:
                logger.warning("lean read: the connection could not be released cleanly")


def asyncpg_sql(statement: ClauseElement) -> str:
    """``statement`` (built from the models) as the SQL text asyncpg runs (``$1``, ``$2``... in
    the order of its parameters): compiled once, at import, by the module that owns it."""
    dialect = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]
    return str(statement.compile(dialect=dialect))


LeanAnswer = Callable[[LeanRead], Awaitable[bytes | None]]


class LeanRoute:
    """A lean read's matcher: the template's prefix (up to its one parameter) and the answer;
    ``route`` is the FastAPI route of record (its template labels the access line and the
    metric)."""

    def __init__(self, template: str, answer: LeanAnswer) -> None:
        prefix, sep, rest = template.rpartition("/")
        if not sep or not (rest.startswith("{") and rest.endswith("}")) or "{" in prefix:
            raise ValueError(f"{template!r}: a lean read ends in its only parameter")
        self.template = template
        self.prefix = prefix + "/"
        self.answer = answer
        self.route: Any = None
        self.answered = 0  # requests it answered itself (the rest went to the route)

    async def try_answer(self, scope: Scope, receive: Receive, send: Send,
                         authorization: bytes | None) -> bool:
        """Answer ``scope`` and return True; or False (nothing sent) for FastAPI to answer."""
        tail = scope["path"][len(self.prefix):]
        if (len(tail) != 36 or authorization is None or scope.get("query_string")
                or authorization[:7].lower() != b"bearer "):
            return False
        if sum(1 for key, _ in scope["headers"] if key == b"authorization") != 1:
            return False  # which one the route would read is not ours to guess
        try:
            id_ = uuid.UUID(tail)
        except ValueError:
            return False
        if str(id_) != tail.lower():  # the canonical form only; the route parses the rest
            return False
        app = scope["app"]
        verifier = getattr(app.state, "verifier", None)
        principal = (verifier.cache.get(authorization[7:].decode("latin-1"))
                     if verifier is not None else None)
        if principal is None or not principal.is_service:
            return False
        try:
            body = await self.answer(LeanRead(app, principal, id_))
        except Exception as exc:  # a cancellation is not caught: it ends the request
            logger.warning("lean read of %s declined after %s; the route answers",
                           self.template, type(exc).__name__)
            return False
        if body is None:
            return False
        if self.route is not None:
            scope["route"] = self.route
        self.answered += 1
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", JSON),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        return True


def lean_read(app: FastAPI, template: str, answer: LeanAnswer) -> LeanRoute:
    """Answer the service reads of the FastAPI route at ``template`` (GET, declared before or
    after) with ``answer`` where it can (see the module's docstring)."""
    lean = LeanRoute(template, answer)
    _registry(app).append(lean)
    return lean


def _registry(app: FastAPI) -> list[LeanRoute]:
    routes = getattr(app.state, "lean_routes", None)
    if routes is None:
        routes = []
        app.state.lean_routes = routes
    return routes


def lean_routes(app: FastAPI) -> Mapping[str, LeanRoute]:
    """``app``'s lean reads by prefix, each tied to its FastAPI route (for the kit middleware,
    when it builds its table at the first request)."""
    table: dict[str, LeanRoute] = {}
    templates = {ctx.path: ctx for ctx in iter_route_contexts(app.routes)
                 if isinstance(ctx.original_route, APIRoute) and "GET" in (ctx.methods or ())}
    for lean in _registry(app):
        lean.route = templates.get(lean.template)
        if lean.route is None:
            raise RuntimeError(f"lean read {lean.template}: no GET route of record there")
        table[lean.prefix] = lean
    return table
