"""Is a module's database at its migrations' head? Answered in the dev stack's own process (the
Alembic scripts' heads against ``alembic_version``), so a warm `make run` starts no
``migrate`` process at all; behind, the module's own ``migrate`` command runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool


def service_dir(package: str) -> Path:
    """``services/<package>``: the folder holding ``migrations/`` (src layout)."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None, package
    return Path(spec.origin).resolve().parents[2]


def script_heads(migrations_dir: Path) -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory(str(migrations_dir)).get_heads())


def applied_revisions(url: str) -> set[str]:
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if conn.execute(text("SELECT to_regclass('public.alembic_version')")).scalar() is None:
                return set()
            return {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    finally:
        engine.dispose()


def at_head(package: str, url: str) -> bool:
    return applied_revisions(url) == script_heads(service_dir(package) / "migrations")
