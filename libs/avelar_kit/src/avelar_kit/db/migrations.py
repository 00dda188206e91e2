"""The body of every module's Alembic ``env.py`` (async engine, naming convention, type
comparison), so that each module's env.py is three lines and they cannot drift apart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from logging.config import fileConfig

from alembic import context
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def run_migrations(metadata: MetaData, default_url: Callable[[], str]) -> None:
    """Run Alembic for ``metadata``. The URL is ``sqlalchemy.url`` when the caller set one (tests,
    CLIs), else ``default_url()`` (the module's settings, i.e. its environment)."""
    config = context.config
    if config.config_file_name is not None and config.attributes.get("configure_logging", True):
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    url = config.get_main_option("sqlalchemy.url") or default_url()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True,
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def _run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def _online() -> None:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            await connection.run_sync(_run)
        await engine.dispose()

    asyncio.run(_online())
