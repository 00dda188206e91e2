"""The audit trail is append-only by privilege (issue 15, point 3; ADR 0017): in every module
the services' app role may INSERT and SELECT on audit_log, and the database refuses its UPDATE,
DELETE and TRUNCATE — a privilege check, not a convention."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from avelar_kit.testing.plugin import TEST_APP_ROLE, migrated_database, owner_url

ROOT = Path(__file__).resolve().parents[2]
AUDITED = ["avadmin", "lucrum", "stocktech"]


@pytest.fixture(scope="module", params=AUDITED)
def app_url(request: pytest.FixtureRequest, pg_url: str) -> Iterator[str]:
    service = str(request.param)
    yield from migrated_database(pg_url, f"audit_{service}", ROOT / "services" / service)


async def _run(url: str, sql: str, row: uuid.UUID | None = None) -> str | None:
    """None when the statement ran; the SQLSTATE when the database refused it."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(sql), {"row": row} if row else {})
        return None
    except DBAPIError as exc:
        return str(getattr(exc.orig, "sqlstate", None) or getattr(
            getattr(exc.orig, "__cause__", None), "sqlstate", "?"))
    finally:
        await engine.dispose()


async def test_the_app_role_appends_but_cannot_rewrite_the_trail(app_url: str) -> None:
    owner = owner_url(app_url)
    assert app_url != owner and f"//{TEST_APP_ROLE}:" in app_url
    row = uuid.uuid4()
    insert = ("INSERT INTO audit_log (id, actor, action) VALUES (:row, 'operator:x', "
              "'test.appended')")
    assert await _run(app_url, insert, row) is None
    assert await _run(app_url, "SELECT count(*) FROM audit_log") is None
    # 42501: insufficient_privilege, from the database itself.
    assert await _run(app_url, "UPDATE audit_log SET action = 'x' WHERE id = :row", row) == "42501"
    assert await _run(app_url, "DELETE FROM audit_log WHERE id = :row", row) == "42501"
    assert await _run(app_url, "TRUNCATE audit_log") == "42501"
    # The owner (migrations, backups) still can: the refusal is the app role's privilege.
    assert await _run(owner, "UPDATE audit_log SET details = '{}' WHERE id = :row", row) is None
