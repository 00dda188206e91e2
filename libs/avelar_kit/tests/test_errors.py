"""Database errors that reach the error handlers become 4xx/503 problems, never a bare 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from avelar_kit.errors import NotFound, install_error_handlers


@pytest.fixture
async def engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(pg_url)
    yield eng
    await eng.dispose()


RAW = {
    "deadlock": "DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '40P01'; END $$",
    "cancelled": "SET LOCAL statement_timeout = 1; SELECT pg_sleep(1)",
    "unique": "CREATE TEMP TABLE t (x int UNIQUE); INSERT INTO t VALUES (1), (1)",
    "bad-cast": "SELECT 'abc'::int",
    "bug": "SELECT * FROM no_such_table",
}


def _add_raw_routes(app: FastAPI, engine: AsyncEngine) -> None:
    async def raw(statement: str) -> dict[str, str]:
        # A raw driver statement (simple protocol, as the kit's read settings send them):
        # asyncpg's own exception, not wrapped by SQLAlchemy.
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.execute(statement)
        return {"ok": "yes"}

    def endpoint(statement: str) -> Any:
        async def run() -> dict[str, str]:
            return await raw(statement)
        return run

    for name, statement in RAW.items():
        app.add_api_route(f"/raw/{name}", endpoint(statement), methods=["GET"])


@pytest.fixture
def app(engine: AsyncEngine) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    async def run(*sql: str) -> dict[str, str]:
        async with engine.connect() as conn:
            for statement in sql:
                await conn.execute(text(statement))
        return {"ok": "yes"}

    @app.get("/overflow")
    async def overflow() -> dict[str, str]:
        return await run("SELECT 999::numeric(3,0) * 1000::numeric(6,0)::numeric(3,0)")

    @app.get("/unique")
    async def unique() -> dict[str, str]:
        return await run("CREATE TEMP TABLE t (x int UNIQUE)", "INSERT INTO t VALUES (1), (1)")

    @app.get("/bad-cast")
    async def bad_cast() -> dict[str, str]:
        return await run("SELECT 'abc'::int")

    @app.get("/deadlock")
    async def deadlock() -> dict[str, str]:
        return await run("DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '40P01'; END $$")

    _add_raw_routes(app, engine)

    @app.get("/pool-exhausted")
    async def pool_exhausted() -> dict[str, str]:
        from sqlalchemy.exc import TimeoutError as PoolTimeout

        raise PoolTimeout("QueuePool limit reached")

    @app.get("/missing")
    async def missing() -> dict[str, str]:
        raise NotFound("Produto não encontrado", code="product_not_found")

    return app


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/overflow", 422, "invalid_data"),
    ("/bad-cast", 422, "invalid_data"),
    ("/unique", 409, "conflict"),
    ("/missing", 404, "product_not_found"),
    ("/pool-exhausted", 503, "service_unavailable"),
    ("/deadlock", 503, "service_unavailable"),
    ("/raw/deadlock", 503, "service_unavailable"),
    ("/raw/cancelled", 503, "service_unavailable"),
    ("/raw/unique", 409, "conflict"),
    ("/raw/bad-cast", 422, "invalid_data"),
    ("/raw/bug", 500, "internal_error"),
])
async def test_errors_become_problems(app: FastAPI, path: str, status: int, code: str) -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        resp = await client.get(path)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["instance"] == path
