"""The body of every module's Alembic ``env.py`` (async engine, naming convention, type
comparison), so that each module's env.py is three lines and they cannot drift apart; and
``migrate``, what every module's ``migrate`` command does (as the owner, then the app role's
grants: ``avelar_kit.db.roles``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from logging.config import fileConfig
from pathlib import Path
from typing import Any

from alembic import context
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from avelar_kit.db.roles import APP_ROLE_SETTING, ensure_app_role, role_of, separate_roles
from avelar_kit.db.tenancy import SYSTEM_SETTING


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

    app_role = config.attributes.get("app_role")

    def _run(connection: Connection) -> None:
        # This connection is the owner's own (disposed below): session settings are safe here.
        # Migrations are the platform's work: every company's rows (row-level security binds a
        # non-superuser owner too, FORCE), and the app role's name for grant_to_app_role.
        connection.execute(text("SELECT set_config(:k, 'on', false)"), {"k": SYSTEM_SETTING})
        if app_role:
            connection.execute(text("SELECT set_config(:k, :v, false)"),
                               {"k": APP_ROLE_SETTING, "v": app_role})
        connection.commit()
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def _online() -> None:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            await connection.run_sync(_run)
        await engine.dispose()

    asyncio.run(_online())


def alembic_config(service_dir: Path, url: str, app_role: str | None = None) -> Any:
    from alembic.config import Config

    cfg = Config(str(service_dir / "alembic.ini"))
    cfg.set_main_option("script_location", str(service_dir / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if app_role:
        cfg.attributes["app_role"] = app_role
    return cfg


def migrate(service_dir: Path, owner_url: str, app_url: str | None = None,
            revision: str = "head", *, configure_logging: bool = True) -> None:
    """``<module> migrate``: the upgrade as the owner (``owner_url``), with the app role of
    ``app_url`` created and granted before (so a migration can grant it less) and after (the
    tables the upgrade created). Call it where no event loop runs (Alembic runs its own)."""
    from alembic import command

    split = app_url is not None and separate_roles(owner_url, app_url)
    if split:
        assert app_url is not None
        ensure_app_role(owner_url, app_url)
    cfg = alembic_config(service_dir, owner_url,
                         role_of(app_url) if split and app_url else None)
    cfg.attributes["configure_logging"] = configure_logging
    command.upgrade(cfg, revision)
    if split:
        assert app_url is not None
        ensure_app_role(owner_url, app_url)
