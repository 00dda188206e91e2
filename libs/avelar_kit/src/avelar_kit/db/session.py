"""One module's database: the engine, and the session each request gets.

Round trips are the cost of a read (ADR 0007). A request that only reads (GET, HEAD, OPTIONS)
gets a session on an AUTOCOMMIT connection: no BEGIN, no COMMIT, one round trip per statement.
A request that writes gets the transaction it owns: BEGIN at the first statement, COMMIT when
the endpoint returns, ROLLBACK on error.

Row-level security (ADR 0020): whose rows a request sees is set per transaction by
``avelar_kit.db.tenancy`` (``get_caller`` sets the caller's company). A read session's
transaction is opened by that setting (``BEGIN`` and the setting in one round trip)
and ended here; a connection never returns to the pool inside a transaction.

The pool does not ping a connection at every checkout (one more round trip per request); it
pings one that has been idle for ``idle_ping_after`` seconds, which is when a restarted server
or a dropped TCP connection could have left it dead. A connection that fails the ping is
replaced before the request sees it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_only

from avelar_kit.db.tenancy import READ_SESSION, SYSTEM_SETTING, act_as_system, finish_read

logger = logging.getLogger("avelar_kit.db")

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_IDLE_SINCE = "avelar_idle_since"


class DatabaseUnreachable(ConnectionError):
    """A new connection to the database could not be opened (refused, no such socket, name
    not resolved, timed out): an outage, answered 503 with Retry-After like a refused TCP
    connection, never a 500."""


def _install_connect_errors(engine: AsyncEngine) -> None:
    """asyncpg lets the socket's own errors through SQLAlchemy unwrapped. A refused TCP
    connection is a ConnectionError, but a Unix socket that is gone while PostgreSQL restarts
    is a FileNotFoundError and a name that does not resolve a socket.gaierror: the kit's error
    handlers answered those 500 (found by the PostgreSQL restart drill on the embedded
    server's socket). Every OSError of a connect becomes ``DatabaseUnreachable``."""

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Any, conn_rec: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except DatabaseUnreachable:
            raise
        except OSError as exc:  # TimeoutError and ConnectionError included
            raise DatabaseUnreachable(f"database unreachable: {type(exc).__name__}") from exc


def _install_idle_ping(engine: AsyncEngine, idle_ping_after: float) -> None:
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _checkin(dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()
        _never_pooled_in_a_transaction(dbapi_connection)

    @event.listens_for(pool, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < idle_ping_after:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError("idle connection failed its ping") from exc


LEAN_POOL_TIMEOUT = 0.25


def _install_platform_check(engine: AsyncEngine) -> None:
    """Every new connection of the lean pool must act as the platform: a server or pooler
    that drops the startup parameter would otherwise make every row invisible (row-level
    security), and every lean read would decline as "not found" without a word."""

    @event.listens_for(engine.sync_engine, "connect")
    def _check(dbapi_connection: Any, record: Any) -> None:
        raw = dbapi_connection.driver_connection
        value = await_only(raw.fetchval(f"SELECT current_setting('{SYSTEM_SETTING}', true)"))
        if value != "on":
            logger.error("lean pool: a new connection does not carry %s (a pooler that drops "
                         "startup parameters?); lean reads decline to their routes",
                         SYSTEM_SETTING)
            raise RuntimeError(f"{SYSTEM_SETTING} not set on a lean connection")


def _never_pooled_in_a_transaction(dbapi_connection: Any) -> None:
    """A read transaction opened by a company setting and not ended (a read that committed its
    session midway) is rolled back here, so no setting outlives its request on a pooled
    connection."""
    if dbapi_connection is None:
        return
    raw = getattr(dbapi_connection, "driver_connection", None)
    # SQLAlchemy has reset its own transaction before checkin: one still open is ours.
    if raw is not None and raw.is_in_transaction():
        await_only(raw.execute("ROLLBACK"))


def _engine(*, url: str, pool_size: int, max_overflow: int, pool_timeout: float,
            connect_args: dict[str, Any], idle_ping_after: float, **kw: Any) -> AsyncEngine:
    """One pool of the module's database, with the kit's connect errors and idle ping (no
    pre-ping at every checkout)."""
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow,
                                 pool_pre_ping=False, pool_timeout=pool_timeout,
                                 connect_args=connect_args, **kw)
    _install_connect_errors(engine)
    _install_idle_ping(engine, idle_ping_after)
    return engine


class Database:
    """Engine and session factories of one module's database.

    ``sessionmaker``: sessions in a transaction (writes, workers, scripts).
    ``read_sessionmaker``: sessions on AUTOCOMMIT connections of the same pool, for reads that
    need no transaction: each statement sees the data committed when it starts."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 10,
                 pool_timeout: float = 5.0, idle_ping_after: float = 10.0,
                 connect_timeout: float = 5.0, lean_pool_size: int = 6,
                 **kw: Any) -> None:
        # connect_timeout: asyncpg's own default is 60 s, which a request would wait for a
        # server whose packets are dropped.
        connect_args = {"timeout": connect_timeout, **kw.pop("connect_args", {})}
        self.engine: AsyncEngine = _engine(
            url=url, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout,
            connect_args=connect_args, idle_ping_after=idle_ping_after, **kw)
        self._lean_engine: AsyncEngine | None = None
        self._lean_options = {
            # No overflow: a connection opened and closed per burst costs PostgreSQL a backend
            # each time (the users lookup's PostgreSQL CPU went from 0.15 to 0.72 ms with
            # overflow); a lean read holds its connection for one round trip, so a burst
            # waits briefly for one of these instead.
            # A short wait: a lean read that gets no connection declines to the route, which
            # answers from the request pool (the route's own timeout and 503 apply there).
            "url": url, "pool_size": lean_pool_size, "max_overflow": 0,
            "pool_timeout": LEAN_POOL_TIMEOUT, "idle_ping_after": idle_ping_after,
            "connect_args": {**connect_args, "server_settings": {
                **connect_args.get("server_settings", {}), SYSTEM_SETTING: "on"}},
            **kw}
        self._disposed = False
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_engine: AsyncEngine = self.engine.execution_options(
            isolation_level="AUTOCOMMIT")
        self.read_sessionmaker = async_sessionmaker(self.read_engine, expire_on_commit=False,
                                                    info={READ_SESSION: True})

    @property
    def lean_engine(self) -> AsyncEngine:
        """The lean reads' pool (``avelar_kit.lean``, ADR 0023), and nothing else's: its
        connections act as the platform for their whole life (``avelar.system = on`` sent at
        connect, a session default that ``RESET ALL`` keeps), so a read on it needs no
        transaction for the setting: one round trip for one statement. Nothing that works for
        one company may ever run on it (``tests/architecture/test_lean_pool.py`` allows the
        name in the kit's ``lean`` and ``db.session`` only). Opened at its first use; a
        connection that comes up without the setting (a pooler that drops startup parameters)
        is refused loudly."""
        if self._lean_engine is None:
            if self._disposed:
                raise RuntimeError("the database was disposed")
            engine = _engine(**self._lean_options)
            _install_platform_check(engine)
            self._lean_engine = engine
        return self._lean_engine

    async def dispose(self) -> None:
        self._disposed = True
        await self.engine.dispose()
        if self._lean_engine is not None:
            await self._lean_engine.dispose()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request owns the transaction: commit when the endpoint returns, roll back on error.

    Used with ``scope="function"`` so that the commit happens before the response is sent: a
    failed commit becomes an error response, never a 200 for data that was not saved.

    A read request (GET, HEAD, OPTIONS) gets an AUTOCOMMIT session instead: no BEGIN and no
    COMMIT round trips. Reads must not write; if one does, each statement commits on its own.
    """
    db: Database = request.app.state.db
    if request.method in READ_METHODS:
        async with db.read_sessionmaker() as session:
            try:
                yield session
            except BaseException:
                await finish_read(session, ok=False)
                raise
            await finish_read(session, ok=True)
        return
    async with db.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_system_session(session: SessionDep) -> AsyncSession:
    """The request's own session acting as the platform (``act_as_system``): for a public route
    that must find a company before anyone is authenticated (AvAdmin's login by CPF, signup,
    password recovery, MercadoPago's webhooks). The route says so in its signature."""
    await act_as_system(session)
    return session


SystemSessionDep = Annotated[AsyncSession, Depends(get_system_session)]
