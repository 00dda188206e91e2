"""``<module> backup`` and ``<module> restore``: one module's database with pg_dump / pg_restore
in the custom format, the Alembic revision recorded beside it (``<file>.json``) and read back
from the archive itself on restore (docs/deploy.md gives the schedule and retention).

The connection is handed to the PostgreSQL tools through libpq's environment (``PGHOST``,
``PGPASSWORD``, ...), never on their command line, so no password shows in ``ps``. The tools
must be of the server's major version or newer: they are looked for in ``<PREFIX>_PG_BIN_DIR``,
else on PATH, in Debian's ``/usr/lib/postgresql/*/bin`` and in the embedded pgserver.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool


class BackupError(Exception):
    """A backup or restore that cannot be done as asked; the message says why and what to do."""


@dataclass(frozen=True)
class PgTool:
    path: Path
    major: int


@dataclass(frozen=True)
class DatabaseState:
    server_major: int
    revision: str | None
    tables: int


@dataclass(frozen=True)
class BackupManifest:
    module: str
    file: str
    revision: str
    created_at: str
    server_major: int
    pg_dump: str
    bytes: int
    sha256: str


def libpq_env(url: str) -> dict[str, str]:
    """libpq's environment variables for a SQLAlchemy URL (asyncpg or not)."""
    u = make_url(url)
    env: dict[str, str] = {}
    host = u.query.get("host") or u.host
    if isinstance(host, tuple):
        host = host[0]
    if host:
        env["PGHOST"] = str(host)
    if u.port:
        env["PGPORT"] = str(u.port)
    if u.username:
        env["PGUSER"] = u.username
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    if u.database:
        env["PGDATABASE"] = u.database
    ssl = u.query.get("ssl") or u.query.get("sslmode")
    if isinstance(ssl, tuple):
        ssl = ssl[0]
    if ssl:
        env["PGSSLMODE"] = str(ssl)
    return env


async def _database_state(url: str) -> DatabaseState:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            version = int((await conn.execute(text("SHOW server_version_num"))).scalar_one())
            tables = int((await conn.execute(text(
                "SELECT count(*) FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"))).scalar_one())
            revision = None
            if (await conn.execute(text("SELECT to_regclass('public.alembic_version')"))
                    ).scalar() is not None:
                revision = (await conn.execute(
                    text("SELECT version_num FROM alembic_version"))).scalar()
    finally:
        await engine.dispose()
    return DatabaseState(server_major=version // 10000, revision=revision, tables=tables)


def database_state(url: str) -> DatabaseState:
    return asyncio.run(_database_state(url))


def _tool_major(path: Path) -> int | None:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True,  # noqa: S603
                             timeout=10, check=False).stdout
    except OSError:
        return None
    match = re.search(r"\) (\d+)", out)
    return int(match.group(1)) if match else None


def _candidates(name: str, pg_bin_dir: Path | None) -> list[Path]:
    if pg_bin_dir is not None:
        return [pg_bin_dir / name]
    found: list[Path] = []
    which = shutil.which(name)
    if which:
        found.append(Path(which))
    found += sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin:
        found.append(Path(spec.origin).parent / "pginstall" / "bin" / name)
    return [p for p in found if p.exists()]


def find_pg_tool(name: str, server_major: int, pg_bin_dir: Path | None = None) -> PgTool:
    """The ``name`` tool (pg_dump, pg_restore) of the server's major version, else the oldest
    newer one: pg_dump refuses a newer server, and a newer pg_dump makes archives an older
    pg_restore cannot read."""
    tools: list[PgTool] = []
    for path in _candidates(name, pg_bin_dir):
        major = _tool_major(path)
        if major is not None:
            tools.append(PgTool(path, major))
    fitting = sorted((t for t in tools if t.major >= server_major), key=lambda t: t.major)
    if not fitting:
        seen = ", ".join(f"{t.path} ({t.major})" for t in tools) or "none"
        raise BackupError(
            f"no {name} of PostgreSQL {server_major} or newer (found: {seen}); install the "
            f"postgresql-client-{server_major} package or set <PREFIX>_PG_BIN_DIR")
    return fitting[0]


def _run(tool: PgTool, args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(libpq_env(url))
    return subprocess.run([str(tool.path), *args], env=env, capture_output=True,  # noqa: S603
                          text=True, check=False)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def backup(url: str, module: str, *, out: Path | None = None, backup_dir: Path = Path("backups"),
           pg_bin_dir: Path | None = None) -> BackupManifest:
    """Dump the module's database to ``out`` (default ``<backup_dir>/<module>-<UTC time>-
    <revision>.dump``) and write the manifest beside it as ``<file>.json``."""
    state = database_state(url)
    if state.revision is None:
        raise BackupError("the database has no migration revision (alembic_version): "
                          "run the module's migrate command first")
    tool = find_pg_tool("pg_dump", state.server_major, pg_bin_dir)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    safe_rev = re.sub(r"[^A-Za-z0-9_.-]", "_", state.revision)
    target = out or backup_dir / f"{module.lower()}-{stamp}-{safe_rev}.dump"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    proc = _run(tool, ["--format=custom", "--compress=6", f"--file={partial}"], url)
    if proc.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {proc.stderr.strip()}")
    partial.replace(target)
    manifest = BackupManifest(
        module=module, file=target.name, revision=state.revision,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        server_major=state.server_major, pg_dump=f"{tool.path} ({tool.major})",
        bytes=target.stat().st_size, sha256=_sha256(target),
    )
    manifest_path(target).write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    return manifest


def manifest_path(dump: Path) -> Path:
    return dump.with_name(dump.name + ".json")


def prune_backups(backup_dir: Path, module: str, older_than_days: int) -> list[Path]:
    """Delete this module's dumps (and manifests) in ``backup_dir`` older than N days."""
    cutoff = time.time() - older_than_days * 86400
    removed = []
    for dump in sorted(backup_dir.glob(f"{module.lower()}-*.dump")):
        if dump.stat().st_mtime < cutoff:
            dump.unlink()
            manifest_path(dump).unlink(missing_ok=True)
            removed.append(dump)
    return removed


def archive_revision(tool: PgTool, dump: Path) -> str | None:
    """The Alembic revision stored in the archive's own ``alembic_version`` table."""
    proc = subprocess.run(  # noqa: S603
        [str(tool.path), "--data-only", "--table=alembic_version", "--file=-", str(dump)],
        capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BackupError(f"{dump} is not a readable pg_dump archive: {proc.stderr.strip()}")
    rows: list[str] = []
    copying = False
    for line in proc.stdout.splitlines():
        if line.startswith("COPY ") and "alembic_version" in line:
            copying = True
        elif copying and line == "\\.":
            break
        elif copying and line:
            rows.append(line.strip())
    return rows[0] if rows else None


def _known_revisions(migrations_dir: Path) -> tuple[set[str], set[str]]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(migrations_dir))
    return {r.revision for r in script.walk_revisions()}, set(script.get_heads())


def restore(url: str, dump: Path, *, migrations_dir: Path, clean: bool = False,
            pg_bin_dir: Path | None = None) -> tuple[str, bool]:
    """Restore ``dump`` into the module's database. The database must be empty unless
    ``clean`` (then the archive's objects are dropped first). Returns the archive's revision
    and whether it is this code's head (if not, the module's migrate command brings it up)."""
    if not dump.is_file():
        raise BackupError(f"{dump}: no such file")
    state = database_state(url)
    tool = find_pg_tool("pg_restore", state.server_major, pg_bin_dir)
    revision = archive_revision(tool, dump)
    if revision is None:
        raise BackupError(f"{dump} has no alembic_version row: not a backup of this module")
    manifest = manifest_path(dump)
    if manifest.exists():
        recorded = json.loads(manifest.read_text()).get("revision")
        if recorded != revision:
            raise BackupError(f"{manifest} says revision {recorded}, the archive {revision}")
    known, heads = _known_revisions(migrations_dir)
    if revision not in known:
        raise BackupError(f"the backup is at revision {revision}, unknown to this code "
                          f"(made by a newer version?); restore it with that version")
    if state.tables and not clean:
        raise BackupError(f"the target database is not empty ({state.tables} tables); "
                          "restore into an empty database, or pass --clean to replace it")
    args = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    if clean:
        args += ["--clean", "--if-exists"]
    proc = _run(tool, [*args, f"--dbname={make_url(url).database}", str(dump)], url)
    if proc.returncode != 0:
        raise BackupError(f"pg_restore failed: {proc.stderr.strip()}")
    return revision, revision in heads
