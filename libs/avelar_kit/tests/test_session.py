# ruff: noqa: S608 (a table name of the test's own)
"""Round trips of a request: reads without BEGIN/COMMIT, writes in the request's transaction,
no ping at checkout unless the connection sat idle."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg.transaction
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text

from avelar_kit.db.session import Database, SessionDep


class RoundTrips:
    """SQL statements (SQLAlchemy's cursor events) and the real BEGIN/COMMIT/ROLLBACK that
    asyncpg sends (its Transaction object, which SQLAlchemy's events do not see)."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.tx: list[str] = []

    def clear(self) -> None:
        self.statements.clear()
        self.tx.clear()


@pytest.fixture
async def app(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[FastAPI, Any]]:
    table = f"t_{uuid.uuid4().hex[:10]}"
    # No idle ping during these tests (a slow machine could otherwise make one: its own
    # BEGIN/ROLLBACK would be counted); the last test moves the clock instead.
    db = Database(pg_url, pool_size=2, max_overflow=0, idle_ping_after=3600)
    trips = RoundTrips()
    event.listen(db.engine.sync_engine, "before_cursor_execute",
                 lambda conn, cur, stmt, *a: trips.statements.append(stmt))
    for name in ("start", "commit", "rollback"):
        original = getattr(asyncpg.transaction.Transaction, name)

        async def spy(self: Any, *a: Any, _name: str = name, _orig: Any = original) -> Any:
            trips.tx.append(_name)
            return await _orig(self, *a)

        monkeypatch.setattr(asyncpg.transaction.Transaction, name, spy)
    async with db.engine.begin() as conn:
        await conn.execute(text(f"CREATE TABLE {table} (id int PRIMARY KEY)"))
        await conn.execute(text(f"INSERT INTO {table} VALUES (1)"))
    application = FastAPI()
    application.state.db = db

    @application.get("/read")
    async def read(session: SessionDep) -> dict[str, int]:
        n = (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
        return {"n": int(n)}

    @application.post("/write")
    async def write(session: SessionDep, fail: bool = False) -> dict[str, bool]:
        await session.execute(text(f"INSERT INTO {table} SELECT max(id) + 1 FROM {table}"))
        if fail:
            raise RuntimeError("boom")
        return {"ok": True}

    trips.clear()
    yield application, trips
    async with db.engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE {table}"))
    await db.dispose()


async def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                             base_url="http://t")


async def test_a_read_request_is_one_statement_without_begin_or_commit(app: Any) -> None:
    application, trips = app
    async with await _client(application) as client:
        for _ in range(3):
            resp = await client.get("/read")
            assert resp.json() == {"n": 1}
    assert [s.split()[0] for s in trips.statements] == ["SELECT"] * 3
    assert trips.tx == []


async def test_a_write_request_owns_its_transaction(app: Any) -> None:
    application, trips = app
    async with await _client(application) as client:
        assert (await client.post("/write")).status_code == 200
        assert trips.tx == ["start", "commit"]
        trips.clear()
        assert (await client.post("/write", params={"fail": "true"})).status_code == 500
        assert trips.tx == ["start", "rollback"]
        assert (await client.get("/read")).json() == {"n": 2}  # the failed one left nothing


async def test_no_ping_at_checkout_unless_idle(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    application, _ = app
    pings: list[int] = []
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

    original = AsyncAdapt_asyncpg_connection.ping

    def spy(self: Any) -> None:
        pings.append(1)
        original(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", spy)
    async with await _client(application) as client:
        for _ in range(3):
            await client.get("/read")
        assert pings == []
        # Two hours later every pooled connection has been idle: the next checkout pings.
        import time

        import avelar_kit.db.session as session_module

        class Later:
            @staticmethod
            def monotonic() -> float:
                return time.monotonic() + 7200

        monkeypatch.setattr(session_module, "time", Later)
        assert (await client.get("/read")).json() == {"n": 1}
        assert pings == [1]


async def test_a_database_that_cannot_be_reached_answers_503_not_500(tmp_path: Any) -> None:
    """A Unix socket that is gone (PostgreSQL restarting) and a name that does not resolve are
    OSErrors that asyncpg lets through: the request gets 503 with Retry-After, quickly."""
    from avelar_kit.db.session import DatabaseUnreachable
    from avelar_kit.errors import install_error_handlers

    for url in (f"postgresql+asyncpg://postgres@/postgres?host={tmp_path}",
                "postgresql+asyncpg://postgres@no-such-host.invalid:5432/postgres"):
        db = Database(url, pool_size=1, max_overflow=0, connect_timeout=2)
        with pytest.raises(DatabaseUnreachable):
            async with db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        app = FastAPI()
        install_error_handlers(app)
        app.state.db = db

        @app.get("/read")
        async def read(session: SessionDep) -> int:
            return int(await session.scalar(text("SELECT 1")) or 0)

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            resp = await client.get("/read")
        assert resp.status_code == 503, resp.text
        assert resp.headers["retry-after"]
        await db.dispose()
