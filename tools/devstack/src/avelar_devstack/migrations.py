"""Is a module's database at its migrations' head? Answered in the dev stack's own process (the
Alembic scripts' heads against ``alembic_version``), so a warm `make run` starts no
``migrate`` process at all; behind, the module's own ``migrate`` command runs.

The scripts' heads are kept in the stack's home folder under a digest of the migration files
(``heads_file``): a warm start whose scripts did not change reads them from there and does not
import Alembic at all (1.5 s of the warm start on a 2-core machine, issue 10). Any change to a
script, an added or a removed one, changes the digest, and Alembic is asked again."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool


def service_dir(package: str) -> Path:
    """``services/<package>``: the folder holding ``migrations/`` (src layout)."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None, package
    return Path(spec.origin).resolve().parents[2]


def scripts_digest(migrations_dir: Path) -> str:
    """The digest of every migration script (names and contents) and of ``env.py``."""
    h = hashlib.sha256()
    for path in sorted([migrations_dir / "env.py", *(migrations_dir / "versions").glob("*.py")]):
        if path.is_file():
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def alembic_heads(migrations_dir: Path) -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory(str(migrations_dir)).get_heads())


def script_heads(migrations_dir: Path, heads_file: Path | None = None) -> set[str]:
    """The scripts' heads: from ``heads_file`` when it holds them under the scripts' current
    digest, else from Alembic (and then kept there)."""
    if heads_file is None:
        return alembic_heads(migrations_dir)
    key, digest = str(migrations_dir.resolve()), scripts_digest(migrations_dir)
    try:
        kept = json.loads(heads_file.read_text())
    except (OSError, ValueError):
        kept = {}
    if not isinstance(kept, dict):
        kept = {}
    entry = kept.get(key)
    if isinstance(entry, dict) and entry.get("digest") == digest:
        return set(entry.get("heads", []))
    heads = alembic_heads(migrations_dir)
    kept[key] = {"digest": digest, "heads": sorted(heads)}
    heads_file.write_text(json.dumps(kept, indent=1) + "\n")
    return heads


def applied_revisions(url: str) -> set[str]:
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if conn.execute(text("SELECT to_regclass('public.alembic_version')")).scalar() is None:
                return set()
            return {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    finally:
        engine.dispose()


def at_head(package: str, url: str, heads_file: Path | None = None) -> bool:
    return applied_revisions(url) == script_heads(service_dir(package) / "migrations", heads_file)
