"""The seed's variable names (AVADMIN_API_URL, NEON_DATABASE_URL) are a second name for one
setting each; the module's prefixed name wins; a provider's libpq URL is taken as it is given."""

from __future__ import annotations

import pytest

from avadmin.config import Settings as AvAdminSettings
from avelar_kit.ops.serve import export_to_workers, serve_options
from avelar_kit.settings import asyncpg_url
from lucrum.config import Settings as LucrumSettings
from stocktech.config import Settings as StockTechSettings

CONSUMERS = [(StockTechSettings, "STOCKTECH"), (LucrumSettings, "LUCRUM")]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("AVADMIN_", "STOCKTECH_", "LUCRUM_")) or name == "NEON_DATABASE_URL":
            monkeypatch.delenv(name)


@pytest.mark.parametrize(("settings_cls", "prefix"), CONSUMERS)
def test_consumers_read_the_seeds_avadmin_api_url(monkeypatch: pytest.MonkeyPatch,
                                                  settings_cls: type, prefix: str) -> None:
    monkeypatch.setenv("AVADMIN_API_URL", "http://avadmin-backend:8000")
    assert settings_cls().avadmin_url == "http://avadmin-backend:8000"
    monkeypatch.setenv(f"{prefix}_AVADMIN_URL", "http://avadmin.internal:8000")
    assert settings_cls().avadmin_url == "http://avadmin.internal:8000"


def test_avadmin_reads_neon_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEON_DATABASE_URL",
                       "postgresql://app:s%40cret@ep-x.sa-east-1.aws.neon.tech/avadmin"
                       "?sslmode=require&channel_binding=require")
    assert AvAdminSettings().database_url == (
        "postgresql+asyncpg://app:s%40cret@ep-x.sa-east-1.aws.neon.tech/avadmin?ssl=require")
    monkeypatch.setenv("AVADMIN_DATABASE_URL", "postgresql+asyncpg://postgres@db:5432/avadmin")
    assert AvAdminSettings().database_url == "postgresql+asyncpg://postgres@db:5432/avadmin"


def test_seed_names_reach_only_their_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEON_DATABASE_URL", "postgresql://app@neon/avadmin")
    assert "neon" not in StockTechSettings().database_url
    assert "neon" not in LucrumSettings().database_url


def test_asyncpg_urls_are_left_alone() -> None:
    url = "postgresql+asyncpg://postgres@/avadmin?host=/tmp/x/pg"
    assert asyncpg_url(url) == url
    assert asyncpg_url("postgres://u@h/db") == "postgresql+asyncpg://u@h/db"


def test_serve_options_come_from_settings_and_flags_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUCRUM_WORKERS", "3")
    monkeypatch.setenv("LUCRUM_ACCESS_LOG", "false")
    monkeypatch.setenv("LUCRUM_HOST", "127.0.0.2")
    settings = LucrumSettings()
    opts = serve_options(settings)
    assert (opts.host, opts.port, opts.workers, opts.access_log) == ("127.0.0.2", 8002, 3, False)
    opts = serve_options(settings, port=9002, workers=1, access_log=True)
    assert (opts.port, opts.workers, opts.access_log) == (9002, 1, True)
    assert serve_options(settings, reload=True).workers == 1
    assert AvAdminSettings().port == 8000
    assert StockTechSettings().port == 8001


def test_serve_puts_a_flag_the_settings_lack_where_the_workers_read_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``serve --no-access-log`` (issue 10: the bench runs production's start command with the
    access log off): each worker builds its app from the environment, so the flag goes there
    and the app's own settings see it."""
    import os

    monkeypatch.setenv("STOCKTECH_ACCESS_LOG", "true")  # restored after the test
    settings = StockTechSettings()
    export_to_workers(settings, serve_options(settings, access_log=False))
    assert os.environ["STOCKTECH_ACCESS_LOG"] == "false"
    assert StockTechSettings().access_log is False
    export_to_workers(settings, serve_options(settings))
    assert StockTechSettings().access_log is True
