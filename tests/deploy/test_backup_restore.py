"""`<module> backup` and `<module> restore` on the test PostgreSQL: a module's database with
demo data is dumped (custom format, revision in the manifest), restored into an empty database,
and every row of every table is found there; a restore over data, or of a dump whose manifest
disagrees with it, is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from avelar_devstack.embedded import drop_database, ensure_database, with_database

BIN = Path(sys.executable).parent
ACCOUNT = str(uuid.uuid4())
USER = str(uuid.uuid4())
SEED = {
    "avadmin": ["seed", "--demo"],
    "stocktech": ["seed", "--demo-account-id", ACCOUNT, "--demo-user-id", USER],
    "lucrum": ["seed", "--account-id", ACCOUNT],
}


def _cli(module: str, args: list[str], url: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AVADMIN_", "STOCKTECH_", "LUCRUM_", "TEST_"))}
    env[f"{module.upper()}_DATABASE_URL"] = url
    env[f"{module.upper()}_BACKUP_DIR"] = str(tmp / "backups")
    return subprocess.run([str(BIN / module), *args], env=env, capture_output=True,  # noqa: S603
                          text=True, timeout=300, check=False)


def _contents(url: str) -> dict[str, tuple[int, str]]:
    """Every table's row count and a digest of all its rows."""
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            tables = [r[0] for r in conn.execute(text(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"))]
            out = {}
            for table in tables:
                count, digest = conn.execute(text(
                    f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"  # noqa: S608
                    f" FROM {table} t")).one()
                out[table] = (count, digest)
            return out
    finally:
        engine.dispose()


@pytest.fixture
def databases(pg_url: str) -> Iterator[tuple[str, str]]:
    run = uuid.uuid4().hex[:8]
    source, target = (with_database(pg_url, f"backup_{run}_{n}") for n in ("src", "dst"))
    for url in (source, target):
        ensure_database(url)
    try:
        yield source, target
    finally:
        for url in (source, target):
            drop_database(url)


@pytest.mark.parametrize("module", ["avadmin", "stocktech", "lucrum"])
def test_a_restore_into_an_empty_database_finds_every_row(
        module: str, databases: tuple[str, str], tmp_path: Path) -> None:
    source, target = databases
    for args in (["migrate"], SEED[module]):
        proc = _cli(module, args, source, tmp_path)
        assert proc.returncode == 0, proc.stderr
    before = _contents(source)
    # Data, not just DDL: the seed fills several tables (a count against the number of tables
    # broke as modules grew tables the seed has no reason to fill).
    assert sum(1 for count, _ in before.values() if count) >= 3, before

    proc = _cli(module, ["backup"], source, tmp_path)
    assert proc.returncode == 0, proc.stderr
    (dump,) = sorted((tmp_path / "backups").glob(f"{module}-*.dump"))
    manifest = json.loads(dump.with_name(dump.name + ".json").read_text())
    revision = manifest["revision"]
    assert revision and revision in dump.name
    assert manifest["module"].lower() == module and manifest["bytes"] == dump.stat().st_size

    proc = _cli(module, ["restore", str(dump)], target, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"at revision {revision}" in proc.stdout
    assert _contents(target) == before



def test_restore_refuses_over_data_or_a_disagreeing_manifest_and_backup_prunes(
        databases: tuple[str, str], tmp_path: Path) -> None:
    source, target = databases
    assert _cli("lucrum", ["migrate"], source, tmp_path).returncode == 0
    assert _cli("lucrum", ["migrate"], target, tmp_path).returncode == 0
    folder = tmp_path / "backups"
    folder.mkdir()
    old = folder / "lucrum-20200101T000000Z-0001.dump"
    other = folder / "stocktech-20200101T000000Z-0001.dump"
    for path in (old, other):
        path.write_bytes(b"old")
        os.utime(path, (0, 0))
    proc = _cli("lucrum", ["backup", "--prune-older-than-days", "7"], source, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not old.exists() and other.exists()
    (dump,) = folder.glob("lucrum-*.dump")

    proc = _cli("lucrum", ["restore", "--latest"], target, tmp_path)
    assert proc.returncode == 1 and "not empty" in proc.stderr
    manifest_file = dump.with_name(dump.name + ".json")
    manifest = json.loads(manifest_file.read_text())
    manifest_file.write_text(json.dumps({**manifest, "revision": "9999"}))
    proc = _cli("lucrum", ["restore", str(dump), "--clean"], target, tmp_path)
    assert proc.returncode == 1 and "9999" in proc.stderr and "Traceback" not in proc.stderr
    manifest_file.write_text(json.dumps(manifest))
    proc = _cli("lucrum", ["restore", "--latest", "--clean"], target, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _contents(target) == _contents(source)
