"""Webhook work after the answer: a verified notification is stored, the webhook answers, and
this worker (one task per replica; rows taken with SKIP LOCKED) reads the resource from the
gateway and applies it. Woken by each webhook; a periodic sweep retries what failed."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from avadmin.billing.gateway import GatewayError, PaymentGateway
from avadmin.billing.repository import BillingRepository
from avadmin.billing.service import PaymentProcessor
from avelar_kit.db.base import utcnow
from avelar_kit.db.tenancy import act_as_system
from avelar_kit.errors import ServiceUnavailable
from avelar_kit.jobs import stop_task

logger = logging.getLogger("avadmin.billing.worker")


async def process_pending(sessionmaker: async_sessionmaker[AsyncSession],
                          gateway: PaymentGateway, *, limit: int = 100) -> int:
    """Work pending notifications until none is left (or ``limit``); how many were done."""
    done = 0
    while done < limit:
        async with sessionmaker() as session, session.begin():
            await act_as_system(session)  # the platform's work across companies
            note = await BillingRepository(session).next_pending()
            if note is None:
                return done
            note.attempts += 1
            try:
                async with session.begin_nested():
                    outcome = await PaymentProcessor(session, gateway).process(
                        note.topic, note.resource_id)
            except (GatewayError, ServiceUnavailable) as exc:
                # Left pending for the next sweep (the gateway may answer then).
                note.outcome = f"retry: {type(exc).__name__}"[:200]
                logger.warning("billing: %s %s not processed yet: %s", note.topic,
                               note.resource_id, type(exc).__name__)
                return done
            except Exception:
                note.outcome = "retry: error"
                logger.exception("billing: %s %s failed; left for the next sweep", note.topic,
                                 note.resource_id)
                return done
            note.processed_at = utcnow()
            note.outcome = outcome[:200]
            logger.info("billing: %s %s -> %s", note.topic, note.resource_id, outcome)
        done += 1
    return done


class NotificationWorker:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], gateway: PaymentGateway,
                 *, sweep_seconds: float) -> None:
        self.sessionmaker = sessionmaker
        self.gateway = gateway
        self.sweep_seconds = sweep_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def kick(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.sweep_seconds)
            self._wake.clear()
            try:
                await process_pending(self.sessionmaker, self.gateway)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("billing worker: unexpected error; next sweep retries")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="billing-notifications")

    async def stop(self) -> None:
        if self._task is not None:
            await stop_task(self._task)
            self._task = None
