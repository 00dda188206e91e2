"""Delivers the WhatsApp outbox after the commit.

Rows are taken ``FOR UPDATE SKIP LOCKED`` (several AvAdmin processes share the work), sent
through the port, and marked in the same transaction: ``sent`` with the provider's id; on a
retryable failure ``next_attempt_at`` moves by an exponential backoff with jitter; a permanent
failure, or the last attempt, makes the row a dead letter (``dead``, ``dead_at``,
``last_error``). A code that expired before delivery is not sent at all. Rows that carry a code
have their parameters erased once they leave ``pending``, so the outbox never keeps a usable
code. Delivery is at least once: a crash between the provider's answer and the commit sends that
message again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from avadmin.messaging.models import MessageStatus, OutgoingMessage
from avadmin.messaging.port import DeliveryError, MessagingPort, TemplateMessage
from avadmin.messaging.repository import OutgoingMessageRepository
from avelar_kit.db.base import utcnow
from avelar_kit.db.tenancy import act_as_system
from avelar_kit.jobs import stop_task

logger = logging.getLogger("avadmin.messaging")


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Delay after the ``attempts``-th failure: base·2^(n-1), capped, with ±20 % jitter."""
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return float(delay * random.uniform(0.8, 1.2))


def _scrub(row: OutgoingMessage) -> None:
    if row.sensitive:
        row.components = []


class MessageDispatcher:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], port: MessagingPort, *,
                 max_attempts: int = 8, backoff_base: float = 2.0, backoff_max: float = 600.0,
                 poll_interval: float = 0.5, batch_size: int = 20) -> None:
        self.sessionmaker = sessionmaker
        self.port = port
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.failed = 0

    async def deliver_due(self, now: datetime | None = None) -> int:
        """One round: every message due at ``now``. Returns how many were accepted."""
        now = now or utcnow()
        accepted = 0
        async with self.sessionmaker() as session, session.begin():
            await act_as_system(session)  # the platform's work across companies
            for row in await OutgoingMessageRepository(session).lock_due(now, self.batch_size):
                if row.expires_at is not None and row.expires_at <= now:
                    row.status = MessageStatus.expired.value
                    _scrub(row)
                    continue
                try:
                    provider_id = await self.port.send_template(
                        row.to_number, TemplateMessage(row.template, row.language,
                                                       list(row.components)))
                except DeliveryError as exc:
                    self.failed += 1
                    row.attempts += 1
                    row.last_error = exc.summary[:300]
                    if not exc.retryable or row.attempts >= self.max_attempts:
                        row.status = MessageStatus.dead.value
                        row.dead_at = now
                        _scrub(row)
                        logger.warning("whatsapp message %s dead-lettered after %d attempt(s): %s",
                                       row.id, row.attempts, exc.summary)
                    else:
                        delay = backoff_seconds(row.attempts, self.backoff_base, self.backoff_max)
                        row.next_attempt_at = now + timedelta(seconds=delay)
                        logger.info("whatsapp message %s failed (attempt %d), retry in %.0fs: %s",
                                    row.id, row.attempts, delay, exc.summary)
                    continue
                row.attempts += 1
                row.status = MessageStatus.sent.value
                row.sent_at = now
                row.provider_message_id = provider_id[:128]
                row.last_error = None
                _scrub(row)
                accepted += 1
        self.sent += accepted
        return accepted

    async def run(self) -> None:
        pause = self.poll_interval
        while True:
            try:
                await self.deliver_due()
                pause = self.poll_interval
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The database is down or similar: the rows stay pending and are sent later.
                logger.warning("whatsapp dispatcher round failed (%s); retrying in %.1fs",
                               type(exc).__name__, pause)
                pause = min(5.0, pause * 2)
            await asyncio.sleep(pause)

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="whatsapp-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            await stop_task(self._task)
            self._task = None
