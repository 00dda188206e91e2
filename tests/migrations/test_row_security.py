"""Every table that holds a company's rows has row-level security ENABLEd and FORCEd, with
policies (ADR 0020): the walk goes over pg_class of every migrated database, so a table added
later with a company column and no policy fails here."""

# ruff: noqa: S608  (the SQL here is built from this file's constants and catalogue names only)

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from avelar_kit.testing.plugin import migrated_database, owner_url

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["avadmin", "lucrum", "stocktech"]
COMPANY_COLUMNS = ("account_id", "buyer_account_id", "seller_account_id")
# Company tables without a company column: AvAdmin's accounts (the row's own id is the
# company), a person's refresh tokens and LGPD exports (their user's company).
COMPANY_BY_ID = {"avadmin": {"accounts", "refresh_tokens", "privacy_exports"}}

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
def database(request: pytest.FixtureRequest, pg_url: str) -> Iterator[tuple[str, str, str]]:
    """(the service, the owner's URL, the app role's URL)."""
    service = str(request.param)
    for url in migrated_database(pg_url, f"rls_{service}", ROOT / "services" / service):
        yield service, owner_url(url), url


def test_every_company_table_forces_row_level_security(database: tuple[str, str, str]) -> None:
    service, url, _ = database
    tables, bare = unprotected(url, COMPANY_BY_ID.get(service, set()))
    assert tables, f"{service}: no company table found (the walk itself is broken)"
    assert bare == [], f"{service}: company tables without ENABLE+FORCE RLS: {bare}"


def test_the_policies_read_the_settings_once_per_statement(
        database: tuple[str, str, str]) -> None:
    """Every policy reads ``avelar.company_id`` and ``avelar.system`` in a scalar subquery, which
    PostgreSQL evaluates once per statement (an InitPlan): read in the row's own condition, the
    setting was fetched and cast for every row (the cash-flow report over 100,000 entries, 2.7
    times as long as the app role). Shown by each company table's plan as the app role: the
    settings appear only in InitPlans, never in a scan's filter."""
    service, owner, app = database
    tables, _ = unprotected(owner, COMPANY_BY_ID.get(service, set()))
    for company in (_A, ""):
        settings = [("avelar.company_id", company)] if company else [("avelar.system", "on")]
        for table in tables:
            plan = "\n".join(r[0] for r in _as_app(app, settings, f'EXPLAIN SELECT * FROM "{table}"'))
            filters = [ln for ln in plan.splitlines() if "Filter:" in ln or "Cond:" in ln]
            assert not [f for f in filters if "current_setting" in f], (service, table, plan)
            assert "InitPlan" in plan, (service, table, plan)


def test_a_new_company_table_without_policies_is_caught(database: tuple[str, str, str]) -> None:
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


# -- AvAdmin's rows through its app role: every company table of the walk, seeded as the owner -

_A, _B = "0a000000-0000-4000-8000-00000000000a", "0b000000-0000-4000-8000-00000000000b"
_UA, _UB = "1a000000-0000-4000-8000-00000000000a", "1b000000-0000-4000-8000-00000000000b"
_SEED = [
    "INSERT INTO plans (id, name, price, billing_cycle, max_products, max_users, "
    "max_transactions) VALUES ('2c000000-0000-4000-8000-00000000000c', 'Plano RLS', 10, "
    "'monthly', 1, 1, 1)",
    *[f"INSERT INTO accounts (id, company_name, cnpj, whatsapp, responsible_name, plan_id) "
      f"VALUES ('{a}', 'Empresa {n}', '{cnpj}', '+55119900000{n}0', 'Resp {n}', "
      "'2c000000-0000-4000-8000-00000000000c')"
      for a, n, cnpj in ((_A, 1, "11222333000181"), (_B, 2, "11444777000161"))],
    *[f"INSERT INTO users (id, account_id, full_name, cpf, whatsapp, password_hash, role) "
      f"VALUES ('{u}', '{a}', 'Pessoa {n}', '{cpf}', '+55119900000{n}1', 'x', 'admin')"
      for u, a, n, cpf in ((_UA, _A, 1, "52998224725"), (_UB, _B, 2, "11144477735"))],
    *[f"INSERT INTO refresh_tokens (jti, family_id, user_id, expires_at) "
      f"VALUES ('jti-{n}', gen_random_uuid(), '{u}', now() + interval '1 day')"
      for u, n in ((_UA, 1), (_UB, 2))],
    *[f"INSERT INTO billing_transactions (account_id, plan_id, amount, status) VALUES "
      f"('{a}', '2c000000-0000-4000-8000-00000000000c', 10, 'pending')" for a in (_A, _B)],
    *[f"INSERT INTO audit_log (actor, action, account_id) VALUES ('test', 'rls.seed', '{a}')"
      for a in (_A, _B)],
]
# Whose company each walked table's row names (the same expression as the policies').
_COMPANY_OF = {"accounts": "id", "refresh_tokens": "(SELECT account_id FROM users u "
                                                     "WHERE u.id = user_id)",
               "privacy_exports": "(SELECT account_id FROM users u WHERE u.id = user_id)"}


@pytest.fixture(scope="module")
def avadmin_rows(pg_url: str) -> Iterator[tuple[str, list[str]]]:
    """A migrated AvAdmin database with two companies' rows (written by the owner): the app
    role's URL and the company tables."""
    for url in migrated_database(pg_url, "rls_avadmin_rows", ROOT / "services" / "avadmin"):
        owner = owner_url(url)

        async def seed(owner: str) -> None:
            engine = create_async_engine(owner, poolclass=NullPool)
            async with engine.begin() as conn:
                for statement in _SEED:
                    await conn.execute(text(statement))
            await engine.dispose()

        asyncio.run(seed(owner))
        yield url, unprotected(owner, COMPANY_BY_ID["avadmin"])[0]


def _as_app(url: str, settings: list[tuple[str, str]], sql: str) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                for name, value in settings:
                    await conn.execute(text("SELECT set_config(:n, :v, true)"),
                                       {"n": name, "v": value})
                return list((await conn.execute(text(sql))).all())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_avadmin_a_transaction_without_a_company_sees_no_row_of_any_company_table(
        avadmin_rows: tuple[str, list[str]]) -> None:
    url, tables = avadmin_rows
    for table in tables:
        assert _as_app(url, [], f'SELECT count(*) FROM "{table}"') == [(0,)], table
    # The same rows exist: the platform's context sees both companies'.
    system = [("avelar.system", "on")]
    for table in ("accounts", "users", "refresh_tokens", "billing_transactions", "audit_log"):
        assert _as_app(url, system, f'SELECT count(*) FROM "{table}"') == [(2,)], table


def test_avadmin_a_query_without_its_company_filter_returns_only_the_callers_rows(
        avadmin_rows: tuple[str, list[str]]) -> None:
    """Every company table read with no WHERE at all, as company A: only A's rows; and
    AvAdmin's own repository lookups by id (no company filter of their own) find B's nothing."""
    url, tables = avadmin_rows
    mine = [("avelar.company_id", _A)]
    for table in tables:
        company = _COMPANY_OF.get(table, "account_id")
        seen = _as_app(url, mine, f'SELECT DISTINCT {company}::text FROM "{table}"')
        assert {r[0] for r in seen} <= {_A}, (table, seen)
    for table in ("accounts", "users", "refresh_tokens", "billing_transactions", "audit_log"):
        assert _as_app(url, mine, f'SELECT count(*) FROM "{table}"') == [(1,)], table
    # Writing another company's rows: nothing matches, nothing changes; inserting one is refused.
    assert _as_app(url, mine, f"UPDATE users SET full_name = 'Invasor' WHERE id = '{_UB}' "
                              "RETURNING id") == []
    with pytest.raises(Exception, match="row-level security"):
        _as_app(url, mine, "INSERT INTO billing_transactions (account_id, plan_id, amount, "
                           f"status) VALUES ('{_B}', '2c000000-0000-4000-8000-00000000000c', 1, "
                           "'pending') RETURNING id")


def test_avadmin_repositories_by_id_find_only_the_callers_company(
        avadmin_rows: tuple[str, list[str]]) -> None:
    from avadmin.accounts.repository import AccountRepository
    from avadmin.users.repository import UserRepository
    from avelar_kit.db.tenancy import act_for_company

    url = avadmin_rows[0]

    async def lookups() -> list[Any]:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with AsyncSession(engine) as session, session.begin():
                await act_for_company(session, uuid.UUID(_A))
                users, accounts = UserRepository(session), AccountRepository(session)
                return [await users.get(uuid.UUID(_UA)) is not None,
                        await users.get(uuid.UUID(_UB)),
                        await accounts.get(uuid.UUID(_B)),
                        await users.cpf_taken("11144477735")]
        finally:
            await engine.dispose()

    assert asyncio.run(lookups()) == [True, None, None, False]
