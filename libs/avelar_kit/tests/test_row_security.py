
"""Row-level security through the kit (ADR 0020): the company set per transaction, never
carried by a pooled connection; what a read costs in round trips (counted on the wire); the
app role cannot step over the policies."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from avelar_kit.db.roles import ensure_app_role
from avelar_kit.db.session import Database, SessionDep
from avelar_kit.db.tenancy import (
    act_as_system,
    act_for_company,
    company_policies,
    finish_read,
    plan_for_these_values,
)
from avelar_kit.testing.plugin import app_role_url
from avelar_kit.testing.roundtrips import counting_proxy

A = uuid.UUID("00000000-0000-4000-8000-00000000000a")
B = uuid.UUID("00000000-0000-4000-8000-00000000000b")


@pytest.fixture(scope="module")
def urls(pg_url: str) -> Iterator[tuple[str, str]]:
    """(owner, app role) URLs of a database with one company table, two rows per company."""
    from avelar_devstack.embedded import drop_database, ensure_database, with_database

    owner = with_database(pg_url, f"test_tenancy_{uuid.uuid4().hex[:10]}")
    ensure_database(owner)

    async def setup() -> None:
        engine = create_async_engine(owner, poolclass=NullPool)
        async with engine.begin() as conn:
            await conn.execute(text(
                "CREATE TABLE notes (id serial PRIMARY KEY, account_id uuid NOT NULL, "
                "body text NOT NULL)"))
            for statement in company_policies("notes", "account_id"):
                await conn.execute(text(statement))
            await conn.execute(text(
                "INSERT INTO notes (account_id, body) VALUES (:a, 'a1'), (:a, 'a2'), "
                "(:b, 'b1'), (:b, 'b2')"), {"a": A, "b": B})
        await engine.dispose()

    asyncio.run(setup())
    app = app_role_url(owner)
    ensure_app_role(owner, app)
    yield owner, app
    drop_database(owner)


def make_app(db: Database) -> FastAPI:
    application = FastAPI()
    application.state.db = db

    @application.get("/notes")
    async def notes(session: SessionDep, company: uuid.UUID | None = None,
                    fail: bool = False) -> dict[str, Any]:
        if company is not None:
            await act_for_company(session, company)
        # No company filter here on purpose: the policies are the only wall.
        rows = (await session.execute(text("SELECT account_id FROM notes"))).scalars().all()
        if fail:
            raise HTTPException(status_code=409, detail="boom")
        return {"companies": sorted({str(r) for r in rows}), "n": len(rows)}

    @application.post("/notes")
    async def add(session: SessionDep, company: uuid.UUID, as_: uuid.UUID | None = None
                  ) -> dict[str, Any]:
        await act_for_company(session, company)
        await session.execute(text("INSERT INTO notes (account_id, body) VALUES (:c, 'x')"),
                              {"c": as_ or company})
        seen = (await session.execute(text("SELECT DISTINCT account_id FROM notes"))
                ).scalars().all()
        return {"companies": sorted(str(r) for r in seen)}

    return application


@pytest.fixture
async def counted(urls: tuple[str, str]) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    async with counting_proxy(urls[1]) as (url, counter):
        db = Database(url, pool_size=1, max_overflow=0, idle_ping_after=3600)
        transport = httpx.ASGITransport(app=make_app(db), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client, counter
        await db.dispose()


async def test_a_read_with_the_company_costs_three_round_trips(counted: Any) -> None:
    client, counter = counted
    for _ in range(2):  # the connection opened and the statement prepared once
        assert (await client.get("/notes", params={"company": str(A)})).status_code == 200
    counter.reset()
    resp = await client.get("/notes", params={"company": str(A)})
    assert resp.json() == {"companies": [str(A)], "n": 2}
    # BEGIN + set_config in one message, the query, COMMIT.
    assert counter.trips == 3, counter.queries
    assert counter.queries[0].startswith("BEGIN; SELECT set_config(")
    assert counter.queries[-1] == "COMMIT"


async def test_a_read_without_a_company_is_one_round_trip_and_sees_nothing(counted: Any) -> None:
    client, counter = counted
    await client.get("/notes")
    counter.reset()
    assert (await client.get("/notes")).json() == {"companies": [], "n": 0}
    assert counter.trips == 1


async def test_a_write_pays_one_round_trip_for_its_company(counted: Any) -> None:
    client, counter = counted
    for _ in range(2):
        await client.post("/notes", params={"company": str(B)})
    counter.reset()
    resp = await client.post("/notes", params={"company": str(B)})
    assert resp.json() == {"companies": [str(B)]}
    # BEGIN, set_config, INSERT, SELECT, COMMIT.
    assert counter.trips == 5, counter.queries


async def test_a_company_cannot_write_another_companys_row(urls: tuple[str, str]) -> None:
    db = Database(urls[1], pool_size=1, max_overflow=0)
    transport = httpx.ASGITransport(app=make_app(db), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        resp = await client.post("/notes", params={"company": str(A), "as_": str(B)})
    await db.dispose()
    assert resp.status_code == 500  # the policy's WITH CHECK: nothing written


async def test_a_thousand_interleaved_requests_through_five_connections_never_mix(
        urls: tuple[str, str]) -> None:
    """Two companies, reads and writes, some failing after the setting, 1,000 requests over a
    pool of 5: each sees its own company only, and afterwards no connection carries one."""
    db = Database(urls[1], pool_size=5, max_overflow=0, pool_timeout=60)
    transport = httpx.ASGITransport(app=make_app(db), raise_app_exceptions=False)
    seen: list[tuple[uuid.UUID, list[str]]] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=60) as client:

        async def one(i: int) -> None:
            company = A if i % 2 else B
            if i % 7 == 0:
                resp = await client.post("/notes", params={"company": str(company)})
            else:
                resp = await client.get("/notes", params={"company": str(company),
                                                          "fail": i % 5 == 0})
                if i % 5 == 0:
                    assert resp.status_code == 409
                    return
            assert resp.status_code == 200, resp.text
            seen.append((company, resp.json()["companies"]))

        for start in range(0, 1000, 50):
            await asyncio.gather(*(one(i) for i in range(start, start + 50)))
        # Every pooled connection again, with no company: nothing visible.
        after = await asyncio.gather(*(client.get("/notes") for _ in range(10)))
    pool_size = db.engine.pool.size()  # type: ignore[attr-defined]
    await db.dispose()
    assert pool_size == 5
    assert len(seen) > 700
    assert all(companies == [str(company)] for company, companies in seen)
    assert all(r.json() == {"companies": [], "n": 0} for r in after)


async def test_the_platform_context_sees_every_company(urls: tuple[str, str]) -> None:
    db = Database(urls[1], pool_size=1, max_overflow=0)
    async with db.sessionmaker() as session, session.begin():
        await act_as_system(session)
        n = (await session.execute(text("SELECT count(DISTINCT account_id) FROM notes"))
             ).scalar_one()
    await db.dispose()
    assert n == 2


async def test_plans_for_these_values_last_as_long_as_the_transaction(
        urls: tuple[str, str]) -> None:
    """A read and a write session asking for plans made for their own values get them, with
    the company kept, and the connection goes back to the pool without them."""
    db = Database(urls[1], pool_size=1, max_overflow=0)
    show = text("SELECT current_setting('plan_cache_mode'), count(*) FROM notes")
    try:
        async with db.read_sessionmaker() as session:
            await act_for_company(session, A)
            await plan_for_these_values(session)
            mode, seen = (await session.execute(show)).one()
            assert (mode, seen > 0) == ("force_custom_plan", True)
            await finish_read(session, ok=True)
        async with db.sessionmaker() as session, session.begin():
            await act_for_company(session, B)
            await plan_for_these_values(session)
            mode, seen = (await session.execute(show)).one()
            assert (mode, seen > 0) == ("force_custom_plan", True)
        async with db.read_sessionmaker() as session:  # the same, only connection
            assert tuple((await session.execute(show)).one()) == ("auto", 0)
    finally:
        await db.dispose()


async def test_naming_the_company_of_a_write_takes_no_connection_until_it_runs(
        urls: tuple[str, str]) -> None:
    """A write session that named its company holds no connection before its first statement
    (AvAdmin's login waits for the password hash after naming the platform): the one
    connection of the pool serves a read meanwhile, then the write sees its setting."""
    db = Database(urls[1], pool_size=1, max_overflow=0, pool_timeout=2)
    pool: Any = db.engine.pool
    async with db.sessionmaker() as write:
        await act_for_company(write, A)
        assert pool.checkedout() == 0
        async with db.read_sessionmaker() as read:
            await act_as_system(read)
            n = (await read.execute(text("SELECT count(*) FROM notes"))).scalar_one()
            await finish_read(read, ok=True)
        await act_for_company(write, B)  # the last word before the transaction wins
        await write.execute(text("INSERT INTO notes (account_id, body) VALUES (:c, 'w')"),
                            {"c": B})
        seen = (await write.execute(text("SELECT DISTINCT account_id FROM notes"))
                ).scalars().all()
        await act_for_company(write, A)  # inside the transaction: at once
        other = (await write.execute(text("SELECT DISTINCT account_id FROM notes"))
                 ).scalars().all()
        await write.rollback()
    await db.dispose()
    assert n >= 4
    assert list(seen) == [B] and list(other) == [A]


async def _error(url: str, *statements: str) -> str:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            try:
                for statement in statements:
                    await conn.execute(text(statement))
            except DBAPIError as exc:
                return str(exc.orig)
            return ""
    finally:
        await engine.dispose()


async def test_the_app_role_cannot_step_over_the_policies(urls: tuple[str, str]) -> None:
    app = urls[1]
    assert "row-level security" in await _error(app, "SET row_security = off",
                                                "SELECT * FROM notes")
    assert "must be owner" in await _error(app, "ALTER TABLE notes DISABLE ROW LEVEL SECURITY")
    assert "must be owner" in await _error(app, "ALTER TABLE notes NO FORCE ROW LEVEL SECURITY")
    assert "must be owner" in await _error(app, "DROP POLICY company_rows ON notes")
    assert "permission denied" in await _error(app, "TRUNCATE notes")
    assert "permission denied" in await _error(app, "SET ROLE postgres")
