"""Every table that holds a company's rows has row-level security ENABLEd and FORCEd, with
policies (ADR 0020): the walk goes over pg_class of every migrated database, so a table added
later with a company column and no policy fails here."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from avelar_kit.testing.plugin import migrated_database, owner_url

ROOT = Path(__file__).resolve().parents[2]
# AvAdmin is not walked yet: its public flows, workers and tests move to act_as_system before
# its policies land (ADR 0020, "AvAdmin"); its role separation is in place.
SERVICES = ["lucrum", "stocktech"]
COMPANY_COLUMNS = ("account_id", "buyer_account_id", "seller_account_id")
# Tables whose own id is the company (AvAdmin's accounts, when it is walked).
COMPANY_BY_ID = {"avadmin": {"accounts"}}

_WALK = text("""
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND (c.relname = ANY(:by_id) OR EXISTS (
       SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND NOT a.attisdropped
       AND a.attname = ANY(:columns)))
ORDER BY c.relname
""")


def unprotected(url: str, by_id: set[str]) -> tuple[list[str], list[str]]:
    """(company tables, those without ENABLE + FORCE + a policy)."""

    async def walk() -> list[tuple[str, bool, bool, int]]:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(_WALK, {"by_id": sorted(by_id),
                                                  "columns": list(COMPANY_COLUMNS)})
                return [tuple(r) for r in rows]  # type: ignore[misc]
        finally:
            await engine.dispose()

    rows = asyncio.run(walk())
    return ([r[0] for r in rows],
            [r[0] for r in rows if not (r[1] and r[2] and r[3] > 0)])


@pytest.fixture(scope="module", params=SERVICES)
def database(request: pytest.FixtureRequest, pg_url: str) -> Iterator[tuple[str, str]]:
    service = str(request.param)
    for url in migrated_database(pg_url, f"rls_{service}", ROOT / "services" / service):
        yield service, owner_url(url)


def test_every_company_table_forces_row_level_security(database: tuple[str, str]) -> None:
    service, url = database
    tables, bare = unprotected(url, COMPANY_BY_ID.get(service, set()))
    assert tables, f"{service}: no company table found (the walk itself is broken)"
    assert bare == [], f"{service}: company tables without ENABLE+FORCE RLS: {bare}"


def test_a_new_company_table_without_policies_is_caught(database: tuple[str, str]) -> None:
    url = database[1]

    async def add(sql: str) -> None:
        engine = create_async_engine(url, poolclass=NullPool)
        async with engine.begin() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(add("CREATE TABLE forgot_rls (id int, account_id uuid)"))
    try:
        assert "forgot_rls" in unprotected(url, set())[1]
        asyncio.run(add("ALTER TABLE forgot_rls ENABLE ROW LEVEL SECURITY"))
        assert "forgot_rls" in unprotected(url, set())[1], "ENABLE without FORCE"
    finally:
        asyncio.run(add("DROP TABLE forgot_rls"))
