from __future__ import annotations

import warnings
from pathlib import Path

from avelar_kit.testing.database import check, downgrade, upgrade

SERVICE_DIR = Path(__file__).resolve().parents[1]


def test_models_and_migrations_agree(lucrum_db_url: str) -> None:
    with warnings.catch_warnings():
        # Reflection cannot compare the expression index on lower(name); it is skipped, not
        # a difference.
        warnings.filterwarnings("ignore", message=".*expression-based index.*")
        warnings.filterwarnings("ignore", message=".*autogenerate skipping.*")
        check(SERVICE_DIR, lucrum_db_url)


def test_downgrade_and_upgrade_again(pg_url: str) -> None:
    from avelar_devstack.embedded import drop_database, ensure_database, with_database

    url = with_database(pg_url, "test_lucrum_roundtrip")
    ensure_database(url)
    try:
        upgrade(SERVICE_DIR, url)
        downgrade(SERVICE_DIR, url)
        upgrade(SERVICE_DIR, url)
    finally:
        drop_database(url)
