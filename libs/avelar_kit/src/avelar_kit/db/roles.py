"""Two roles per module database: the owner, who migrates, and the app role, which serves.

A module's service connects as its *app role* (``<PREFIX>_DATABASE_URL``): a login role that
owns nothing, is neither superuser nor ``BYPASSRLS``, and holds only ``SELECT, INSERT, UPDATE,
DELETE`` on the tables (``USAGE, SELECT`` on the sequences). It cannot change the schema,
``TRUNCATE``, ``ALTER TABLE ... DISABLE ROW LEVEL SECURITY`` or switch ``row_security`` off,
so row-level security (ADR 0020) is a wall it cannot step over. Migrations, backups and
restores run as the *owner* (``<PREFIX>_MIGRATION_DATABASE_URL``).

``ensure_app_role(owner_url, app_url)`` is the one place that creates and grants the app role:
``<module> migrate`` calls it before and after the upgrade, ``<module> restore`` after the
restore, the dev stack and the test plugin through them. It is idempotent. It creates the
role named in ``app_url`` (with its password) when the owner may create roles; a provider
that creates roles itself (Neon's console) creates it first and the function only grants.

Privileges: a table on which the app role has no privilege yet gets the four; a table on which
it has some keeps exactly those, so a migration that wants less (an append-only audit table:
``SELECT, INSERT``) grants it in the migration with ``grant_to_app_role`` and nothing here
widens it later.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

T = TypeVar("T")

APP_TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
# The migration connection carries the app role's name here (session setting of the owner's
# own connection, never of a service's pool), for ``grant_to_app_role``.
APP_ROLE_SETTING = "avelar.app_role"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class AppRoleError(RuntimeError):
    """The app role cannot be what it must be (a superuser, BYPASSRLS, the owner itself)."""


def role_of(url: str) -> str | None:
    return make_url(url).username


def separate_roles(owner_url: str, app_url: str) -> bool:
    """Are these two different roles? (One URL for both, or the same user twice: no split.)"""
    return role_of(app_url) is not None and role_of(app_url) != role_of(owner_url)


def _ident(name: str) -> str:
    if not _NAME.match(name):
        raise AppRoleError(f"role name {name!r}: letters, digits and _ only")
    return f'"{name}"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _run(fn: Callable[[], T]) -> T:
    """asyncio.run in a thread of its own: callable from sync code and from a running loop."""
    result: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if errors:
        raise errors[0]
    return result[0]


async def _create_role(conn: AsyncConnection, role: str, password: str | None) -> None:
    exists = (await conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"),
                                 {"r": role})).scalar()
    if exists:
        return
    pw = f" PASSWORD {_literal(password)}" if password else ""
    # Parallel test runs on one server may create the same role at once: the loser's
    # duplicate is fine.
    await conn.execute(text(
        "DO $$ BEGIN "
        f"CREATE ROLE {_ident(role)} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE "
        f"NOREPLICATION{pw}; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"))


async def _check_role(conn: AsyncConnection, role: str) -> None:
    row = (await conn.execute(text(
        "SELECT rolsuper, rolbypassrls, rolname = current_user FROM pg_roles "
        "WHERE rolname = :r"), {"r": role})).one_or_none()
    if row is None:
        raise AppRoleError(f"role {role} does not exist and the owner may not create it: "
                           "create it (LOGIN NOSUPERUSER NOBYPASSRLS) with the provider")
    if row[0] or row[1]:
        raise AppRoleError(f"role {role} is a superuser or BYPASSRLS: the services' role "
                           "must be neither (ALTER ROLE ... NOSUPERUSER NOBYPASSRLS)")
    if row[2]:
        raise AppRoleError(f"role {role} is the owner: give the services a role of their own")


async def _grant(conn: AsyncConnection, role: str) -> None:
    r = _ident(role)
    database = (await conn.execute(text("SELECT current_database()"))).scalar_one()
    await conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO {r}'))
    await conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {r}"))
    tables = (await conn.execute(text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v') "
        "AND NOT (has_table_privilege(:r, c.oid, 'SELECT') "
        "OR has_table_privilege(:r, c.oid, 'INSERT') "
        "OR has_table_privilege(:r, c.oid, 'UPDATE') "
        "OR has_table_privilege(:r, c.oid, 'DELETE'))"), {"r": role})).scalars().all()
    for table in tables:
        # The migrations' bookkeeping is read (the dev stack asks for the head), never written.
        privileges = "SELECT" if table == "alembic_version" else APP_TABLE_PRIVILEGES
        await conn.execute(text(f'GRANT {privileges} ON "{table}" TO {r}'))
    await conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}"))


async def _ensure(owner_url: str, app_url: str) -> None:
    app = make_url(app_url)
    role = app.username
    assert role is not None
    engine = create_async_engine(owner_url, poolclass=NullPool,
                                 isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            may_create = (await conn.execute(text(
                "SELECT rolsuper OR rolcreaterole FROM pg_roles "
                "WHERE rolname = current_user"))).scalar()
            if may_create:
                await _create_role(conn, role, app.password)
            await _check_role(conn, role)
            await _grant(conn, role)
    finally:
        await engine.dispose()


def ensure_app_role(owner_url: str, app_url: str) -> None:
    """Create (when missing and allowed) the app role of ``app_url`` and grant it what a
    service needs on the owner's database; no-op when both URLs name the same role."""
    if not separate_roles(owner_url, app_url):
        return
    _run(lambda: asyncio.run(_ensure(owner_url, app_url)))


def grant_to_app_role(privileges: str, table: str) -> str:
    """SQL for a migration (``op.execute(...)``): grant ``privileges`` on ``table`` to the app
    role, when the migration runs with one (``avelar.app_role`` is set by ``migrate``).
    A table granted here keeps exactly these privileges (``ensure_app_role`` only grants
    tables the app role has nothing on)."""
    if not re.fullmatch(r"[A-Z, ]+", privileges) or not _NAME.match(table):
        raise ValueError("privileges: e.g. 'SELECT, INSERT'; table: a plain name")
    return (
        "DO $$ BEGIN "
        f"IF coalesce(current_setting('{APP_ROLE_SETTING}', true), '') <> '' THEN "
        f"EXECUTE format('GRANT {privileges} ON \"{table}\" TO %I', "
        f"current_setting('{APP_ROLE_SETTING}')); "
        "END IF; END $$"
    )
