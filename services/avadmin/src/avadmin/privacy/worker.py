"""The privacy job: completes exports whose modules did not answer in time, deletes exports
past their time, and finishes erasures (the person's events out of AvAdmin's streams). Runs on
a timer under the jobs' advisory lock (``avadmin.jobs``)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI

from avadmin.privacy.repository import PrivacyRepository
from avadmin.privacy.service import PrivacyService
from avadmin.privacy.sources import ModuleSources
from avadmin.privacy.streams import scrub_streams
from avelar_kit.db.base import utcnow
from avelar_kit.db.session import Database
from avelar_kit.db.tenancy import act_as_system

logger = logging.getLogger("avadmin.privacy")

PRIVACY_JOB = "avadmin.privacy"


class PrivacyWork:
    def __init__(self, db: Database, redis: Any, sources: ModuleSources,
                 streams: list[str]) -> None:
        self.db = db
        self.redis = redis
        self.sources = sources
        self.streams = streams

    async def scrub(self, user_id: uuid.UUID) -> None:
        await scrub_streams(self.redis, self.streams, user_id)
        async with self.db.sessionmaker() as session, session.begin():
            await act_as_system(session)  # the privacy job works across companies
            await PrivacyRepository(session).mark_scrubbed(user_id, utcnow())

    async def _complete(self, export_id: uuid.UUID) -> bool:
        async with self.db.sessionmaker() as session:
            await act_as_system(session)  # the privacy job works across companies
            export = await PrivacyRepository(session).get_export(export_id)
            if export is None or not export.missing:
                return False
            user_id, missing = export.user_id, list(export.missing)
        # The modules are asked outside any transaction (a slow one holds no row lock).
        answers = await self.sources.fetch(user_id, missing)
        async with self.db.sessionmaker() as session, session.begin():
            await act_as_system(session)  # the privacy job works across companies
            export = await PrivacyRepository(session).get_export(export_id, for_update=True)
            if export is None:
                return False
            await PrivacyService(session).fill(export, answers)
            return not export.missing

    async def run(self) -> dict[str, int]:
        now = utcnow()
        async with self.db.sessionmaker() as session, session.begin():
            await act_as_system(session)  # the privacy job works across companies
            repo = PrivacyRepository(session)
            expired = await repo.delete_expired_exports(now)
            pending = list(await repo.pending_exports(now))
            unscrubbed = list(await repo.unscrubbed_erasures())
        completed = 0
        for export_id in pending:
            completed += int(await self._complete(export_id))
        for user_id in unscrubbed:
            await self.scrub(user_id)
        return {"exports_expired": expired, "exports_completed": completed,
                "erasures_finished": len(unscrubbed)}


async def scrub_erasure(app: FastAPI, user_id: uuid.UUID) -> None:
    """Right after an erasure commits (a background task); the job retries on failure."""
    try:
        await app.state.privacy.scrub(user_id)
    except Exception:  # the job's next run retries
        logger.warning("privacy: stream scrub after erasure failed; the job retries",
                       exc_info=True)
