"""Stream consumer: each module reads with its own consumer group, handles every event once in
effect, and acknowledges only after its database transaction commits.

Exactly once in effect, over at-least-once delivery: the handler runs in a transaction that also
inserts the event id into the module's handled-events table (primary key). A redelivered event
finds its id there and changes nothing; an event whose transaction failed is not acknowledged
and comes back. A consumer killed mid-batch leaves its messages pending; on restart it reads its
own pending messages first, and any consumer claims (``XAUTOCLAIM``) messages that a dead
consumer left pending for longer than ``claim_idle_ms``.

Replicas of a module share its consumer group; each replica reads under a stable consumer name
(``stable_consumer_name``: the setting, else ``POD_NAME``, else ``HOSTNAME``), so a replica that
is killed and comes back under the same name resumes its pending messages at once, without
waiting for the claim. Names left with nothing pending and idle for ``prune_idle_ms`` are
removed from the group, so dead names do not pile up.

A consumer given ``event_types`` (the types its handler acts on) acknowledges a message of any
other type as soon as it has read it, without opening a transaction: nothing would have
changed, and the stream's other events cost their consumer nothing but the read and the XACK.

While an event is handled, log lines carry the request id of the request that caused it and the
handler runs in a span whose parent is that request's trace (``avelar_kit.tracing``).

The module declares its table with the mixin (and a migration)::

    class HandledEvent(HandledEventMixin, Base):
        __tablename__ = "handled_events"
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import datetime
from typing import Any, cast

from pydantic import ValidationError
from redis.exceptions import RedisError, ResponseError
from sqlalchemy import DateTime, String, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from avelar_kit import metrics
from avelar_kit.db.base import utcnow
from avelar_kit.db.tenancy import act_as_system
from avelar_kit.events.envelope import STREAM_FIELD, EventEnvelope
from avelar_kit.jobs import stop_task
from avelar_kit.tracing import handling_event

logger = logging.getLogger("avelar_kit.events")

Handler = Callable[[EventEnvelope, AsyncSession], Awaitable[None]]


class HandledEventMixin:
    """Columns of a consumer's handled-events table: one row per event id ever handled."""

    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    source: Mapped[str] = mapped_column(String(50), nullable=False)
    handled_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )


# Outages of Redis or of the module's own database: retried forever, never dead-lettered.
_INFRA_ERRORS: tuple[type[BaseException], ...] = (
    RedisError, OSError, OperationalError, InterfaceError, PoolTimeout,
)
# SQLSTATE classes of a database that is unavailable rather than refusing the event:
# connection exception, insufficient resources, operator intervention (shutdown, starting up).
_INFRA_SQLSTATES = ("08", "53", "57P")


def _is_outage(exc: BaseException) -> bool:
    if isinstance(exc, _INFRA_ERRORS):
        return True
    if isinstance(exc, DBAPIError):
        # asyncpg's errors reach SQLAlchemy as DBAPIError/InternalError (a killed backend
        # included), so the class alone does not tell an outage from a bad statement.
        state = str(getattr(exc.orig, "sqlstate", None) or "")
        return exc.connection_invalidated or state.startswith(_INFRA_SQLSTATES)
    return False


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def stable_consumer_name(configured: str | None = None) -> str:
    """The name this process reads under in its module's consumer group: ``configured`` (the
    module's ``CONSUMER_NAME`` setting), else ``POD_NAME`` (Kubernetes downward API), else
    ``HOSTNAME``, else the host name. The same replica restarted gets the same name.

    Inside a worker of a multi-process server (uvicorn ``--workers``: a multiprocessing child)
    several processes share one host name, so the process id is appended: unique, but not stable
    across restarts; the pending messages of a dead worker are then claimed after
    ``claim_idle_ms`` and its name is pruned. Run one worker per container to keep names stable
    (docs/observability.md)."""
    base = (configured or os.environ.get("POD_NAME") or os.environ.get("HOSTNAME")
            or socket.gethostname())
    if multiprocessing.parent_process() is not None:
        return f"{base}-{os.getpid()}"
    return base


_COMPANY_FIELDS = ("account_id", "seller_account_id", "buyer_account_id")


def company_keys(event: EventEnvelope) -> list[str]:
    """The companies an event is about (``data.account_id`` and, for a sale, seller and buyer):
    the default ordering keys of ``StreamConsumer``."""
    return [str(event.data[f]) for f in _COMPANY_FIELDS if event.data.get(f)]


class StreamConsumer:
    def __init__(
        self,
        redis: Any,
        *,
        stream: str,
        group: str,
        consumer_name: str,
        handler: Handler,
        sessionmaker: async_sessionmaker[AsyncSession],
        handled_model: type[HandledEventMixin],
        batch_size: int = 50,
        block_ms: int = 500,  # below the app Redis client's 1 s socket timeout
        claim_idle_ms: int = 60_000,
        sweep_interval: float = 5.0,
        max_attempts: int = 5,
        start_id: str = "0",
        dead_letter_stream: str | None = None,
        prune_idle_ms: int = 600_000,
        prune_interval: float = 60.0,
        order_keys: Callable[[EventEnvelope], Sequence[str]] | None = None,
        event_types: Collection[str] | None = None,
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.group = group
        self.consumer_name = consumer_name
        self.handler = handler
        self.sessionmaker = sessionmaker
        self.handled_model = handled_model
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.sweep_interval = sweep_interval
        self.max_attempts = max_attempts
        # "0": a group created after events were published still sees them (handlers are
        # idempotent through the handled table, so replaying history is safe).
        self.start_id = start_id
        self.dead_letter_stream = dead_letter_stream or f"{stream}:dead"
        self.prune_idle_ms = prune_idle_ms
        self.prune_interval = prune_interval
        self._last_prune = -1e9
        self._attempts: dict[str, int] = {}
        # Events of one company in order: the company keys of an event that failed (or met an
        # outage) -> its message id. A later event with one of those keys is left pending,
        # untouched, until the earlier one is handled or dead-lettered; the sweep retries this
        # consumer's pending messages in stream order, so they then go in order.
        self.order_keys = order_keys or company_keys
        self._blocked: dict[str, str] = {}
        self.held_back = 0
        # The types the handler acts on (None: every type). A message of another type is
        # acknowledged at once: no transaction, no handled-events row, no round trip to the
        # database for an event the handler would have returned from without a change (issue
        # 10: Lucrum reads every StockTech event and acts on one type of four).
        self.event_types = frozenset(event_types) if event_types is not None else None
        self.skipped = 0
        self._task: asyncio.Task[None] | None = None
        self.handled = 0
        self.duplicates = 0

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, self.group, id=self.start_id,
                                           mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _handle(self, message_id: Any, fields: dict[Any, Any]) -> None:
        mid = _text(message_id)
        raw = fields.get(STREAM_FIELD.encode(), fields.get(STREAM_FIELD))
        try:
            event = EventEnvelope.model_validate_json(raw or b"")
        except ValidationError:
            logger.error("unreadable message %s on %s: dead-lettered", mid, self.stream)
            await self._dead_letter(mid, fields, "unreadable")
            return
        if self.event_types is not None and event.type not in self.event_types:
            await self.redis.xack(self.stream, self.group, mid)
            self.skipped += 1
            metrics.EVENTS_HANDLED.labels(self.stream, self.group, "skipped").inc()
            return
        keys = [str(k) for k in self.order_keys(event)]
        earlier = [self._blocked[k] for k in keys if k in self._blocked
                   and self._blocked[k] != mid]
        if earlier:
            self.held_back += 1
            logger.info("event %s (%s) held back behind %s of the same company", event.id,
                        event.type, earlier[0])
            return  # stays pending; retried after the earlier one, in stream order
        with handling_event(event, self.stream, self.group):
            try:
                done = await self._handle_event(mid, fields, event)
            except BaseException:
                self._block(keys, mid)  # an outage: nothing of these companies overtakes it
                raise
        if done:
            self._unblock(mid)
        else:
            self._block(keys, mid)

    def _block(self, keys: Sequence[str], mid: str) -> None:
        for key in keys:
            self._blocked.setdefault(key, mid)

    def _unblock(self, mid: str) -> None:
        for key in [k for k, v in self._blocked.items() if v == mid]:
            del self._blocked[key]

    async def _handle_event(self, mid: str, fields: dict[Any, Any], event: EventEnvelope
                            ) -> bool:
        """True when the message is done with (handled, duplicate or dead-lettered)."""
        m = cast(Any, self.handled_model)
        try:
            async with self.sessionmaker() as session, session.begin():
                # An event may touch any company's rows (row-level security, ADR 0020).
                await act_as_system(session)
                inserted = await session.execute(
                    insert(m)
                    .values(event_id=event.id, event_type=event.type[:100],
                            source=event.source[:50])
                    .on_conflict_do_nothing(index_elements=[m.event_id])
                    .returning(m.event_id)
                )
                first_time = inserted.first() is not None
                if first_time:
                    await self.handler(event, session)
        except Exception as exc:
            if _is_outage(exc):
                raise  # not the event's fault: the loop backs off and the message stays pending
            attempts = self._attempts.get(mid, 0) + 1
            self._attempts[mid] = attempts
            metrics.EVENTS_HANDLED.labels(self.stream, self.group, "failed").inc()
            logger.warning("event %s (%s) failed, attempt %d/%d: %s", event.id, event.type,
                           attempts, self.max_attempts, type(exc).__name__)
            if attempts >= self.max_attempts:
                await self._dead_letter(mid, fields, type(exc).__name__)
                return True
            return False  # stays pending; the next sweep retries it
        self._attempts.pop(mid, None)
        await self.redis.xack(self.stream, self.group, mid)
        if first_time:
            self.handled += 1
            metrics.EVENTS_HANDLED.labels(self.stream, self.group, "handled").inc()
            logger.info("event %s (%s) handled by %s/%s", event.id, event.type, self.group,
                        self.consumer_name)
        else:
            self.duplicates += 1
            metrics.EVENTS_HANDLED.labels(self.stream, self.group, "duplicate").inc()
            logger.info("event %s (%s) already handled: acknowledged, nothing changed",
                        event.id, event.type)
        return True

    async def _dead_letter(self, mid: str, fields: dict[Any, Any], reason: str) -> None:
        payload = {_text(k): v for k, v in fields.items()}
        payload.update({"group": self.group, "message_id": mid, "reason": reason})
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self.dead_letter_stream, payload, maxlen=10_000, approximate=True)
            pipe.xack(self.stream, self.group, mid)
            await pipe.execute()
        self._attempts.pop(mid, None)
        metrics.DEAD_LETTERS.labels(self.stream, self.group, reason).inc()

    async def _handle_all(self, response: Any) -> int:
        n = 0
        for _stream, messages in response or []:
            for message_id, fields in messages:
                if fields is None:  # trimmed away while pending
                    await self.redis.xack(self.stream, self.group, message_id)
                    continue
                await self._handle(message_id, fields)
                n += 1
        return n

    async def sweep(self) -> int:
        """Retry this consumer's own pending messages, then claim those of dead consumers."""
        n = await self._handle_all(await self.redis.xreadgroup(
            self.group, self.consumer_name, {self.stream: "0"}, count=self.batch_size * 10))
        cursor = "0-0"
        while True:
            result = await self.redis.xautoclaim(
                self.stream, self.group, self.consumer_name, min_idle_time=self.claim_idle_ms,
                start_id=cursor, count=self.batch_size)
            cursor, claimed = _text(result[0]), result[1]
            if claimed:
                logger.info("claimed %d pending events from dead consumers", len(claimed))
                n += await self._handle_all([(self.stream, claimed)])
            if cursor == "0-0":
                break
        if time.monotonic() - self._last_prune >= self.prune_interval:
            self._last_prune = time.monotonic()
            await self.prune()
        return n

    async def prune(self) -> list[str]:
        """Remove from the group the consumer names with nothing pending and idle for longer
        than ``prune_idle_ms`` (replicas that are gone). A name with pending messages stays until
        they are claimed; this consumer's own name is never removed."""
        removed = []
        for info in await self.redis.xinfo_consumers(self.stream, self.group):
            name = _text(info.get("name"))
            if (name != self.consumer_name and int(info.get("pending", 0)) == 0
                    and int(info.get("idle", 0)) >= self.prune_idle_ms):
                await self.redis.xgroup_delconsumer(self.stream, self.group, name)
                removed.append(name)
        if removed:
            logger.info("consumer group %s: removed %d idle consumer name(s)", self.group,
                        len(removed))
        return removed

    async def poll(self, block_ms: int | None = None) -> int:
        """Read and handle one batch of new messages."""
        response = await self.redis.xreadgroup(
            self.group, self.consumer_name, {self.stream: ">"}, count=self.batch_size,
            block=self.block_ms if block_ms is None else block_ms)
        return await self._handle_all(response)

    async def run(self) -> None:
        backoff = 0.5
        last_sweep = 0.0
        while True:
            try:
                if time.monotonic() - last_sweep >= self.sweep_interval:
                    await self.ensure_group()  # also recreates a stream deleted under us
                    await self.sweep()
                    last_sweep = time.monotonic()
                await self.poll()
                backoff = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Whatever it is, the loop goes on: a consumer task that died silently would
                # leave every later event (a deactivation) unenforced until the cache TTL.
                if _is_outage(exc):
                    logger.warning("consumer %s/%s: infrastructure error (%s); retrying in %.1fs",
                                   self.group, self.consumer_name, type(exc).__name__, backoff)
                else:
                    logger.exception("consumer %s/%s: unexpected error; retrying in %.1fs",
                                     self.group, self.consumer_name, backoff)
                await asyncio.sleep(backoff)
                backoff = min(5.0, backoff * 2)

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(
                self.run(), name=f"consumer:{self.stream}:{self.group}:{self.consumer_name}")
            metrics.watch_consumer(self)
            logger.info("consumer %s/%s reading %s", self.group, self.consumer_name, self.stream)

    async def stop(self) -> None:
        """Cancel the loop. A message being handled is rolled back and stays pending: it is
        handled again (once) after the restart."""
        metrics.unwatch_consumer(self)
        if self._task is not None:
            await stop_task(self._task)
            self._task = None
            await self._leave_group()

    async def _leave_group(self) -> None:
        """A clean stop with nothing pending removes this name from the group at once (a pod
        replaced by a Deployment never comes back under it); with messages pending the name
        stays, for this replica's restart or the others' claim."""
        try:
            async with asyncio.timeout(0.5):  # shutdown must stay quick
                pending = await self.redis.xpending_range(
                    self.stream, self.group, min="-", max="+", count=1,
                    consumername=self.consumer_name)
                if not pending:
                    await self.redis.xgroup_delconsumer(self.stream, self.group,
                                                        self.consumer_name)
        except (RedisError, OSError, TimeoutError):
            pass  # Redis gone at shutdown: the prune of another replica removes the name
