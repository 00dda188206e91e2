"""The services' role (ADR 0020): every module's database is migrated as its owner and served
as an app role that owns nothing, is neither superuser nor BYPASSRLS, may read and write rows
and may not change the schema or empty a table (``avelar_kit.db.roles.ensure_app_role``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from avelar_kit.db.roles import ensure_app_role, grant_to_app_role
from avelar_kit.testing.plugin import TEST_APP_ROLE, migrated_database, owner_url

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/alembic.ini"))


@pytest.fixture(scope="module", params=SERVICES)
def app_url(request: pytest.FixtureRequest, pg_url: str) -> Iterator[str]:
    service = str(request.param)
    yield from migrated_database(pg_url, f"role_{service}", ROOT / "services" / service)


async def _scalar(url: str, sql: str) -> object:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar()
    finally:
        await engine.dispose()


async def _refused(url: str, sql: str) -> bool:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            try:
                await conn.execute(text(sql))
            except DBAPIError as exc:
                return "permission denied" in str(exc) or "must be owner" in str(exc)
            return False
    finally:
        await engine.dispose()


def test_the_service_role_owns_nothing_and_bypasses_nothing(app_url: str) -> None:
    assert asyncio.run(_scalar(app_url, "SELECT current_user")) == TEST_APP_ROLE
    assert asyncio.run(_scalar(app_url, (
        "SELECT rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb FROM pg_roles "
        "WHERE rolname = current_user"))) is False
    owned = asyncio.run(_scalar(app_url, (
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relowner = "
        "(SELECT oid FROM pg_roles WHERE rolname = current_user)")))
    assert owned == 0
    # Every table readable and writable, except the migrations' bookkeeping (read only) and
    # the audit trail (append-only: tests/migrations/test_audit_append_only.py).
    missing = asyncio.run(_scalar(app_url, (
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' "
        "AND c.relname NOT IN ('alembic_version', 'audit_log') "
        "AND NOT (has_table_privilege(c.oid, 'SELECT') AND has_table_privilege(c.oid, 'INSERT') "
        "AND has_table_privilege(c.oid, 'UPDATE') AND has_table_privilege(c.oid, 'DELETE'))")))
    assert missing == 0
    assert asyncio.run(_refused(app_url, "DELETE FROM alembic_version"))


def test_the_service_role_cannot_change_the_schema_or_empty_a_table(app_url: str) -> None:
    table = asyncio.run(_scalar(app_url, (
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> 'alembic_version' ORDER BY tablename LIMIT 1")))
    assert asyncio.run(_refused(app_url, f'TRUNCATE "{table}"'))
    assert asyncio.run(_refused(app_url, f'ALTER TABLE "{table}" ADD COLUMN x int'))
    assert asyncio.run(_refused(app_url, f'DROP TABLE "{table}"'))
    assert asyncio.run(_refused(app_url, "CREATE TABLE intruder (id int)"))


def test_a_table_a_migration_granted_less_keeps_less(app_url: str) -> None:
    """An append-only table: its migration grants SELECT, INSERT (``grant_to_app_role``) and a
    later ``ensure_app_role`` never widens it."""
    owner = owner_url(app_url)

    async def create() -> None:
        engine = create_async_engine(owner, poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("DROP TABLE IF EXISTS appendonly_probe"))
                await conn.execute(text("CREATE TABLE appendonly_probe (id int)"))
                await conn.execute(text("SELECT set_config('avelar.app_role', :r, true)"),
                                   {"r": TEST_APP_ROLE})
                await conn.execute(text(grant_to_app_role("SELECT, INSERT",
                                                          "appendonly_probe")))
        finally:
            await engine.dispose()

    asyncio.run(create())
    ensure_app_role(owner, app_url)
    assert asyncio.run(_scalar(app_url, "INSERT INTO appendonly_probe VALUES (1) RETURNING id")
                       ) == 1
    assert asyncio.run(_refused(app_url, "UPDATE appendonly_probe SET id = 2"))
    assert asyncio.run(_refused(app_url, "DELETE FROM appendonly_probe"))
