"""Every module's migrations build its models exactly (`alembic check`), and go down and up."""

from __future__ import annotations

from pathlib import Path

import pytest

from avelar_kit.testing.database import check, downgrade, upgrade
from avelar_kit.testing.plugin import migrated_database, owner_url

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/alembic.ini"))


@pytest.mark.parametrize("service", SERVICES)
def test_models_match_migrations_and_roundtrip(pg_url: str, service: str) -> None:
    service_dir = ROOT / "services" / service
    for app_url in migrated_database(pg_url, f"mig_{service}", service_dir):
        url = owner_url(app_url)  # migrations run as the owner
        check(service_dir, url)  # raises when autogenerate finds a difference
        downgrade(service_dir, url, "base")
        upgrade(service_dir, url, "head")
        check(service_dir, url)


def test_every_service_has_migrations() -> None:
    assert "avadmin" in SERVICES
