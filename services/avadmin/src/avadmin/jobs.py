"""AvAdmin's scheduled jobs. Each runs inside the service on a timer under a PostgreSQL advisory
lock (avelar_kit.jobs: one replica runs it) and once from the CLI (a Kubernetes CronJob):
``avadmin dunning``, ``avadmin prune-outbox``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from avadmin.billing.service import Dunning
from avadmin.config import Settings
from avadmin.events.models import OutboxEvent
from avelar_kit.db.session import Database
from avelar_kit.events.outbox import prune_published
from avelar_kit.jobs import ScheduledJob

DUNNING = "avadmin.dunning"
PRUNE_OUTBOX = "avadmin.prune-outbox"


async def prune_outbox(db: Database, days: int) -> int:
    async with db.sessionmaker() as session, session.begin():
        return await prune_published(session, OutboxEvent, timedelta(days=days))


async def dunning(db: Database, settings: Settings) -> dict[str, Any]:
    return await Dunning(db.sessionmaker, settings).run()


def scheduled(db: Database, settings: Settings) -> list[ScheduledJob]:
    return [
        ScheduledJob(DUNNING, settings.dunning_interval_seconds, lambda: dunning(db, settings)),
        ScheduledJob(PRUNE_OUTBOX, settings.prune_outbox_interval_seconds,
                     lambda: prune_outbox(db, settings.outbox_retention_days)),
    ]
