"""Whose rows a transaction may touch: the company, or the platform, set per transaction.

Row-level security (ADR 0020) keys every company table's policies on two settings that live
only as long as the transaction (``set_config(..., true)``; never a session setting, which a
pooled connection would carry to the next request; the one exception is the lean reads' own
pool (``avelar_kit.lean``, ADR 0023), which nothing else checks out):

- ``avelar.company_id``: the caller's company. ``act_for_company(session, id)``; the kit's
  ``get_caller`` does it for every user's request before anything reads.
- ``avelar.system = on``: cross-company work of the platform itself (event consumers, relays,
  scheduled jobs, seeds, service-to-service calls, operators, the public routes that must find a
  company: login, signup, webhooks). ``act_as_system(session)``, written at each such place so
  that ``grep act_as_system`` lists them all.

With neither set a transaction sees no company's rows.

Writes: the request's transaction (``sessionmaker``) gets one ``SELECT set_config(...)`` after
its BEGIN. A setting asked before the transaction began waits for it (``after_begin``): naming
the company takes no connection from the pool, the first statement does (a login that waits for
the password hash holds none meanwhile).

Reads (``read_sessionmaker``, AUTOCOMMIT connections, ADR 0011) need a transaction for a
transaction-local setting: the first setting opens one with ``BEGIN; SELECT
set_config(...)`` sent as ONE simple-protocol message (one round trip; the company id is a
``uuid.UUID``, rendered by Python, before it is inlined), and ``finish_read`` commits it. A read
with a company costs three round trips: that message, the query, the COMMIT. Not READ ONLY:
the few reads that write (Lucrum's first list of categories creates the defaults) keep
working, and their writes commit at the end like a write request's.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

COMPANY_SETTING = "avelar.company_id"
SYSTEM_SETTING = "avelar.system"
READ_SESSION = "avelar_read"  # session.info key: an AUTOCOMMIT read session
_OPEN = "avelar_read_tx"  # session.info key: the raw connection whose read transaction is open
_PENDING = "avelar_pending_settings"  # session.info key: settings for the transaction to come

_SET = text("SELECT set_config(:name, :value, true)")


def _company_literal(company_id: uuid.UUID) -> str:
    # A UUID's own rendering (hex digits and dashes): nothing else can reach the SQL text.
    return str(uuid.UUID(str(company_id)))


async def _raw(session: AsyncSession) -> Any:
    conn = await session.connection()
    fairy = await conn.get_raw_connection()
    raw = fairy.driver_connection
    assert raw is not None
    return raw


@event.listens_for(Session, "after_begin")
def _apply_pending(session: Session, transaction: Any, connection: Any) -> None:
    """The settings asked before this transaction began, as its first statements."""
    pending = session.info.pop(_PENDING, None)
    if pending:
        for name, value in pending.items():
            connection.execute(_SET, {"name": name, "value": value})


def _set_statement(name: str, value: str) -> str:
    # Names are this module's constants; values a UUID's rendering or a fixed word.
    return f"SELECT set_config('{name}', '{value}', true)"


def begin_with_setting(name: str, value: str) -> str:
    """``BEGIN`` and one transaction-local setting, as one simple-protocol message (one round
    trip) for a raw asyncpg connection: a read session's first setting."""
    return f"BEGIN; {_set_statement(name, value)}"


async def _apply(session: AsyncSession, name: str, value: str) -> None:
    if not session.info.get(READ_SESSION):
        if session.in_transaction():
            await session.execute(_SET, {"name": name, "value": value})
        else:  # applied when the transaction begins, at its first statement
            session.info.setdefault(_PENDING, {})[name] = value
        return
    raw: Any = await _raw(session)
    if id(session.info.get(_OPEN)) == id(raw):
        await raw.execute(_set_statement(name, value))
        return
    await raw.execute(begin_with_setting(name, value))
    session.info[_OPEN] = raw


async def act_for_company(session: AsyncSession, company_id: uuid.UUID) -> None:
    """This transaction works on ``company_id``'s rows (and what policies show every company:
    the marketplace's active products)."""
    await _apply(session, COMPANY_SETTING, _company_literal(company_id))


async def act_as_system(session: AsyncSession) -> None:
    """This transaction is the platform's cross-company work: every company's rows. Call it
    where that work starts (a consumer's handler, a job, a seed, a login lookup)."""
    await _apply(session, SYSTEM_SETTING, "on")


async def plan_for_these_values(session: AsyncSession) -> None:
    """This transaction's statements are planned for their own parameter values, every time
    (``plan_cache_mode = force_custom_plan``). For aggregates over many rows: after five runs of
    a prepared statement PostgreSQL may switch to its generic plan, made for an average
    company, and the cash-flow report of a company with 100,000 entries then walked an index
    over all of them (194 ms) instead of a parallel scan (76 ms). Costs a round trip and a
    plan per statement: not for the cheap reads."""
    await _apply(session, "plan_cache_mode", "force_custom_plan")


async def leave_system(session: AsyncSession) -> None:
    """Back to the company's view within the same transaction (after a narrow system step)."""
    await _apply(session, SYSTEM_SETTING, "off")


async def finish_read(session: AsyncSession, *, ok: bool) -> None:
    """End a read session's transaction, if a setting opened one: COMMIT (ROLLBACK after an
    error). A connection that cannot end it is invalidated, never pooled mid-transaction."""
    raw = session.info.pop(_OPEN, None)
    if raw is None:
        return
    try:
        await raw.execute("COMMIT" if ok else "ROLLBACK")
    except Exception:
        conn = await session.connection()
        await conn.invalidate()
        if ok:
            raise


# -- the policies, for migrations ---------------------------------------------------------------

# Each a scalar subquery: PostgreSQL evaluates it once per statement (an InitPlan) and compares
# every row with the result. Written bare, the setting was read, NULLIF'd and cast to uuid once
# per row: the cash-flow report over 100,000 rows took 2.7 times as long as the app role as
# without row-level security (ADR 0020).
# ROW_BY_ROW_*: the bare forms of the first policies (until each module's "policies once per
# statement" migration), for those migrations' downgrades.
ROW_BY_ROW_COMPANY = f"NULLIF(current_setting('{COMPANY_SETTING}', true), '')::uuid"
ROW_BY_ROW_PLATFORM = f"coalesce(current_setting('{SYSTEM_SETTING}', true), '') = 'on'"
CURRENT_COMPANY = f"(SELECT {ROW_BY_ROW_COMPANY})"
PLATFORM = f"(SELECT {ROW_BY_ROW_PLATFORM})"


def _check_name(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"{name!r}: a plain table or column name")
    return name


def _mine(columns: tuple[str, ...], company: str) -> str:
    return " OR ".join(f"{_check_name(c)} = {company}" for c in columns or ("account_id",))


def company_policies(table: str, *columns: str) -> list[str]:
    """A migration's statements for a company table: ENABLE and FORCE row-level security (FORCE:
    the owner is bound too), ``company_rows`` (a row is the company's when any of ``columns``
    is ``avelar.company_id``; for reading and writing) and ``platform_rows`` (``avelar.system =
    on``)."""
    t = _check_name(table)
    mine = _mine(columns, CURRENT_COMPANY)
    return [
        f'ALTER TABLE "{t}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{t}" FORCE ROW LEVEL SECURITY',
        f'CREATE POLICY company_rows ON "{t}" USING ({mine}) WITH CHECK ({mine})',
        f'CREATE POLICY platform_rows ON "{t}" USING ({PLATFORM}) WITH CHECK ({PLATFORM})',
    ]


def alter_company_policies(table: str, *columns: str, row_by_row: bool = False) -> list[str]:
    """``company_rows`` and ``platform_rows`` of a table that has them, rewritten in the form
    that reads the settings once per statement (``row_by_row=True``: back to the first form, for
    a downgrade). Same rows either way."""
    t = _check_name(table)
    company, platform = ((ROW_BY_ROW_COMPANY, ROW_BY_ROW_PLATFORM) if row_by_row
                         else (CURRENT_COMPANY, PLATFORM))
    mine = _mine(columns, company)
    return [
        f'ALTER POLICY company_rows ON "{t}" USING ({mine}) WITH CHECK ({mine})',
        f'ALTER POLICY platform_rows ON "{t}" USING ({platform}) WITH CHECK ({platform})',
    ]


def drop_company_policies(table: str) -> list[str]:
    t = _check_name(table)
    return [
        f'DROP POLICY IF EXISTS platform_rows ON "{t}"',
        f'DROP POLICY IF EXISTS company_rows ON "{t}"',
        f'ALTER TABLE "{t}" NO FORCE ROW LEVEL SECURITY',
        f'ALTER TABLE "{t}" DISABLE ROW LEVEL SECURITY',
    ]
