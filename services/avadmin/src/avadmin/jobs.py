"""AvAdmin's scheduled jobs. Each runs inside the service on a timer under a PostgreSQL advisory
lock (avelar_kit.jobs: one replica runs it) and once from the CLI (a Kubernetes CronJob):
``avadmin dunning``, ``avadmin prune-outbox``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from avadmin.auth.repository import PendingSignupRepository
from avadmin.billing.service import Dunning
from avadmin.config import Settings
from avadmin.events.models import OutboxEvent
from avadmin.messaging.repository import OutgoingMessageRepository
from avadmin.privacy.worker import PRIVACY_JOB, PrivacyWork
from avadmin.whatsapp.repository import VerificationCodeRepository
from avelar_kit.db.base import utcnow
from avelar_kit.db.session import Database
from avelar_kit.db.tenancy import act_as_system
from avelar_kit.events.outbox import prune_published
from avelar_kit.jobs import ScheduledJob

DUNNING = "avadmin.dunning"
PRUNE_OUTBOX = "avadmin.prune-outbox"
PRUNE_CODES = "avadmin.prune-codes"


async def prune_outbox(db: Database, days: int) -> int:
    async with db.sessionmaker() as session, session.begin():
        await act_as_system(session)  # the platform's work across companies
        return await prune_published(session, OutboxEvent, timedelta(days=days))


async def prune_codes(db: Database, days: int) -> int:
    """Expired pending signups, codes expired for a day, WhatsApp messages delivered more than
    ``days`` ago (dead letters stay) (issue 12)."""
    async with db.sessionmaker() as session, session.begin():
        await act_as_system(session)  # the platform's work across companies
        now = utcnow()
        signups = await PendingSignupRepository(session).prune_expired(now)
        codes = await VerificationCodeRepository(session).prune_expired(now - timedelta(days=1))
        sent = await OutgoingMessageRepository(session).prune_delivered(
            now - timedelta(days=days))
    return signups + codes + sent


async def dunning(db: Database, settings: Settings) -> dict[str, Any]:
    return await Dunning(db.sessionmaker, settings).run()


def scheduled(db: Database, settings: Settings,
              privacy: PrivacyWork | None = None) -> list[ScheduledJob]:
    jobs = [
        ScheduledJob(DUNNING, settings.dunning_interval_seconds, lambda: dunning(db, settings)),
        ScheduledJob(PRUNE_OUTBOX, settings.prune_outbox_interval_seconds,
                     lambda: prune_outbox(db, settings.outbox_retention_days)),
        ScheduledJob(PRUNE_CODES, settings.prune_outbox_interval_seconds,
                     lambda: prune_codes(db, settings.outbox_retention_days)),
    ]
    if privacy is not None:
        jobs.append(ScheduledJob(PRIVACY_JOB, settings.privacy_job_interval_seconds,
                                 privacy.run))
    return jobs
