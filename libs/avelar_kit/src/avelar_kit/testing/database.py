from __future__ import annotations

import threading
import uuid
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from avelar_kit.db.migrations import migrate


def alembic_config(service_dir: Path, url: str) -> Config:
    cfg = Config(str(service_dir / "alembic.ini"))
    cfg.set_main_option("script_location", str(service_dir / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logging"] = False
    return cfg


def _in_thread(fn: object) -> None:
    """Alembic's async env calls asyncio.run(); run it where no loop is running."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if errors:
        raise errors[0]


def upgrade(service_dir: Path, url: str, revision: str = "head", *,
            app_url: str | None = None) -> None:
    """Migrate as ``url``'s role (the owner); with ``app_url``, as ``<module> migrate`` does:
    the app role of ``app_url`` created and granted before and after."""
    _in_thread(lambda: migrate(service_dir, url, app_url, revision, configure_logging=False))


def downgrade(service_dir: Path, url: str, revision: str = "base") -> None:
    _in_thread(lambda: command.downgrade(alembic_config(service_dir, url), revision))


def check(service_dir: Path, url: str) -> None:
    """``alembic check``: fails when the models and the migrations disagree."""
    _in_thread(lambda: command.check(alembic_config(service_dir, url)))


def unique_db_name(module: str) -> str:
    return f"test_{module}_{uuid.uuid4().hex[:10]}"


async def truncate_all(engine: AsyncEngine | str,
                       keep: tuple[str, ...] = ("alembic_version",)) -> None:
    """Empty every table. ``engine``: an engine or URL of the *owner* (the app role may not
    TRUNCATE; ``avelar_kit.testing.plugin.owner_url`` gives it)."""
    if isinstance(engine, str):
        owned = create_async_engine(engine, poolclass=NullPool)
        try:
            await truncate_all(owned, keep)
        finally:
            await owned.dispose()
        return
    import asyncio

    from sqlalchemy.exc import DBAPIError

    for attempt in range(5):
        try:
            async with engine.begin() as conn:
                rows = await conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
                tables = [r[0] for r in rows if r[0] not in keep]
                if tables:
                    quoted = ", ".join(f'"{t}"' for t in tables)
                    await conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
            return
        except DBAPIError as exc:
            # A background task of the app (a worker's sweep) still in a transaction: the
            # TRUNCATE's locks on every table can deadlock with it; PostgreSQL aborts one side.
            if getattr(exc.orig, "sqlstate", None) != "40P01" or attempt == 4:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))
