"""Health (live, ready), /metrics, request id and trace context through events, and consumer
groups shared by replicas with stable names: against real PostgreSQL and Redis, through the
kit's app frame."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import ForeignKey, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from avelar_kit import metrics
from avelar_kit.app import create_service_app
from avelar_kit.avadmin.health import avadmin_health_check
from avelar_kit.db.base import make_metadata
from avelar_kit.events import (
    EventEnvelope,
    HandledEventMixin,
    OutboxMixin,
    OutboxRelay,
    StreamConsumer,
    record_event,
)
from avelar_kit.events.consumer import stable_consumer_name
from avelar_kit.logging import request_id_context
from avelar_kit.settings import ServiceSettings
from avelar_kit.testing.metrics import Samples, parse, value


class Base(DeclarativeBase):
    metadata = make_metadata()


class OutboxEvent(OutboxMixin, Base):
    __tablename__ = "outbox_events"


class HandledEvent(HandledEventMixin, Base):
    __tablename__ = "handled_events"


class Effect(Base):
    """One row per handler run: not unique, so a double handling would show."""

    __tablename__ = "effects"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("handled_events.event_id"))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def obs_db_url(pg_url: str) -> Iterator[str]:
    from avelar_devstack.embedded import drop_database, ensure_database, with_database

    url = with_database(pg_url, f"test_kit_obs_{uuid.uuid4().hex[:8]}")
    ensure_database(url)
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture
async def sm(obs_db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(obs_db_url, pool_size=5)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        await conn.execute(text("TRUNCATE outbox_events, effects, handled_events"))
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


@pytest.fixture
def stream() -> str:
    return f"test:events:{uuid.uuid4().hex[:8]}"


def make_app(database_url: str, redis_url: str, **kw: Any) -> FastAPI:
    settings = ServiceSettings(database_url=database_url, redis_url=redis_url)
    app = create_service_app(module="Obs", settings=settings, title="Obs",
                             verifier_factory=lambda app: cast(Any, None), **kw)

    @app.get("/api/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, int]:
        logging.getLogger("obs.test").info("thing %d", thing_id)
        return {"id": thing_id}

    return app


@pytest.fixture
async def client_for() -> AsyncIterator[Any]:
    managers: list[LifespanManager] = []
    clients: list[httpx.AsyncClient] = []

    async def _make(app: FastAPI) -> httpx.AsyncClient:
        manager = LifespanManager(app, startup_timeout=60, shutdown_timeout=60)
        await manager.__aenter__()
        managers.append(manager)
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://obs.test")
        clients.append(c)
        return c

    yield _make
    for c in clients:
        await c.aclose()
    for m in reversed(managers):
        await m.__aexit__(None, None, None)


def dead_redis() -> str:
    return f"redis://127.0.0.1:{closed_port()}/0"


def dead_db() -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/nothing"


# -- health ---------------------------------------------------------------------------------------


async def test_live_answers_and_ready_is_503_when_the_database_is_down(
    client_for: Any, redis_url: str
) -> None:
    c = await client_for(make_app(dead_db(), redis_url))
    live = await c.get("/health/live")
    assert live.status_code == 200 and live.json() == {"status": "alive"}
    ready = await c.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["status"] == "not_ready" and ready.json()["database"] == "disconnected"
    assert (await c.get("/health")).status_code == 503


async def test_ready_is_200_degraded_when_redis_is_down_and_no_internal_key_leaks(
    client_for: Any, obs_db_url: str
) -> None:
    async def extra() -> dict[str, Any]:
        return {"avadmin_api": "unreachable", "avadmin_breaker": "open", "_degraded": True}

    c = await client_for(make_app(obs_db_url, dead_redis(), health_extra=lambda app: extra))
    ready = await c.get("/health/ready")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "degraded" and body["database"] == "connected"
    assert body["redis"] == "disconnected" and body["avadmin_api"] == "unreachable"
    health = (await c.get("/health")).json()
    assert health["status"] == "degraded"
    for b in (body, health):
        assert not [k for k in b if k.startswith("_")], b


async def test_ready_is_200_ready_when_everything_answers(
    client_for: Any, obs_db_url: str, redis_url: str
) -> None:
    c = await client_for(make_app(obs_db_url, redis_url))
    ready = await c.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


async def test_health_avadmin_api_and_breaker_agree_and_recover(
    stub: Any, make_client: Any
) -> None:
    client = make_client(breaker_reset_timeout=0.3)
    check = avadmin_health_check(lambda: client)
    first = await check()
    assert (first["avadmin_api"], first["avadmin_breaker"]) == ("reachable", "closed")
    stub.mode = "error500"  # AvAdmin answers 500 to everything, /health included
    down = await check()
    # The ping saw AvAdmin unreachable: the circuit opens (it no longer says "closed").
    assert (down["avadmin_api"], down["avadmin_breaker"]) == ("unreachable", "open")
    again = await check()
    assert (again["avadmin_api"], again["avadmin_breaker"]) == ("unreachable", "open")
    stub.mode = "ok"
    await asyncio.sleep(0.4)  # past the reset time: the next ping is the probe
    back = await check()
    assert (back["avadmin_api"], back["avadmin_breaker"]) == ("reachable", "closed")


async def test_a_module_started_before_avadmin_does_not_open_its_circuit_on_a_ping(
    stub: Any, make_client: Any
) -> None:
    """Before AvAdmin has ever answered this process (a dev stack or a rollout starting the
    modules together), a failed ping counts towards the threshold instead of opening the
    circuit: the module's first callers try AvAdmin instead of a 503 for a reset period."""
    client = make_client(breaker_threshold=3)
    check = avadmin_health_check(lambda: client)
    stub.mode = "error500"
    down = await check()
    assert (down["avadmin_api"], down["avadmin_breaker"]) == ("unreachable", "closed")
    stub.mode = "ok"
    _aid, uid = stub.add_company()
    assert (await client.get_user(uid)) is not None  # the first caller is served
    up = await check()
    assert (up["avadmin_api"], up["avadmin_breaker"]) == ("reachable", "closed")


# -- metrics --------------------------------------------------------------------------------------


def scrape(body: str) -> Samples:
    return parse(body)


async def test_metrics_http_pool_cache_breaker_outbox_consumer_and_dead_letters_move(
    client_for: Any, obs_db_url: str, redis_url: str, sm: Any, redis: Any, stream: str,
    stub: Any, make_client: Any,
) -> None:
    c = await client_for(make_app(obs_db_url, redis_url))
    before = scrape((await c.get("/metrics")).text)

    # HTTP: by route template, method and status.
    for i in range(3):
        assert (await c.get(f"/api/things/{i}")).status_code == 200
    assert (await c.get("/api/things/x")).status_code == 422
    assert (await c.get("/nowhere")).status_code == 404
    assert (await c.get("/health/ready")).status_code == 200  # a connection used and returned

    # AvAdmin client: miss, hit, then stale while AvAdmin is down; breaker opens.
    _, uid = stub.add_company()
    client = make_client(breaker_threshold=1, breaker_reset_timeout=60)
    await client.get_user(uid)
    await client.get_user(uid)
    await client.cache.redis.delete(client.cache.key("user", uid))  # fresh entry gone
    await stub.stop()
    assert await client.get_user(uid) is not None  # the last known answer

    # Outbox: two events waiting; the relay is watched but not running.
    async with sm() as session:
        for _ in range(2):
            record_event(session, OutboxEvent, "thing.happened", {})
        await session.commit()
    relay = OutboxRelay(sm, redis, model=OutboxEvent, source="Obs", stream=stream)
    metrics.watch_relay(relay)

    # Consumer: three entries not delivered yet, then one that fails into the dead letters.
    async def failing(event: EventEnvelope, session: AsyncSession) -> None:
        raise ValueError("refused")

    consumer = StreamConsumer(redis, stream=stream, group="obs", consumer_name="pod-0",
                              handler=failing, sessionmaker=sm, handled_model=HandledEvent,
                              max_attempts=1, batch_size=1)
    await consumer.ensure_group()
    for _ in range(3):
        await redis.xadd(stream, {"event": b"not json"})
    metrics.watch_consumer(consumer)
    try:
        mid = scrape((await c.get("/metrics")).text)
        assert value(mid, "avelar_consumer_lag", stream=stream, group="obs") == 3
        await consumer.poll(block_ms=1)  # one unreadable message: dead-lettered
        after = scrape((await c.get("/metrics")).text)
    finally:
        metrics.unwatch_relay(relay)
        metrics.unwatch_consumer(consumer)
        await redis.delete(stream, consumer.dead_letter_stream)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    h = "avelar_http_request_duration_seconds_count"
    assert moved(h, module="Obs", route="/api/things/{thing_id}", method="GET",
                 status="200") == 3
    assert moved(h, route="/api/things/{thing_id}", status="422") == 1
    assert moved(h, route="<unmatched>", status="404") == 1
    assert value(after, "avelar_http_request_duration_seconds_bucket", route="/metrics") >= 1
    assert ("avelar_db_pool_connections_in_use", (("module", "Obs"),)) in after
    assert ("avelar_db_pool_waiting", (("module", "Obs"),)) in after
    assert value(after, "avelar_db_pool_connections_idle", module="Obs") >= 1
    cache = "avelar_avadmin_cache_lookups_total"
    m = client.module
    assert moved(cache, module=m, kind="user", result="miss") == 2
    assert moved(cache, module=m, kind="user", result="hit") == 1
    assert moved(cache, module=m, kind="user", result="stale") == 1
    breaker = client.breaker.name
    assert value(after, "avelar_avadmin_breaker_state", breaker=breaker, state="open") == 1
    assert value(after, "avelar_avadmin_breaker_state", breaker=breaker, state="closed") == 0
    assert moved("avelar_avadmin_breaker_transitions_total", breaker=breaker, to="open") == 1
    assert value(after, "avelar_outbox_backlog", module="Obs", stream=stream) == 2
    assert value(after, "avelar_outbox_oldest_unpublished_age_seconds", stream=stream) >= 0
    assert value(after, "avelar_consumer_lag", stream=stream, group="obs") == 2
    assert moved("avelar_events_dead_lettered_total", stream=stream, group="obs",
                 reason="unreadable") == 1
    assert value(after, "avelar_dead_letter_stream_length",
                 stream=f"{stream}:dead") == 1


async def test_http_metric_costs_one_cached_child_per_route_method_status() -> None:
    observe = metrics.http_observer("Cheap")
    for _ in range(3):
        observe("/r/{id}", "GET", 200, 0.001)
    child = metrics.HTTP_REQUEST_DURATION.labels("Cheap", "/r/{id}", "GET", "200")
    # 3 observations through one child (the label lookup is done once).
    assert child._sum.get() == pytest.approx(0.003)  # type: ignore[attr-defined]


# -- request id and trace context through events ---------------------------------------------


async def test_event_carries_request_id_and_trace_context_to_the_consumer_logs(
    sm: Any, redis: Any, stream: str, caplog: pytest.LogCaptureFixture
) -> None:
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace

    from avelar_kit.logging import current_request_id

    seen: list[tuple[str | None, str | None]] = []

    async def handler(event: EventEnvelope, session: AsyncSession) -> None:
        ctx = trace.get_current_span().get_span_context()
        seen.append((current_request_id(),
                     format(ctx.trace_id, "032x") if ctx.is_valid else None))
        logging.getLogger("obs.handler").info("handling %s", event.type)

    trace_id = uuid.uuid4().hex
    # What the kit's middleware makes current for a request that came with a traceparent.
    token = otel_context.attach(propagate.extract(
        {"traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"}))
    try:
        with request_id_context("req-abc-123"):
            async with sm() as session:
                record_event(session, OutboxEvent, "thing.happened", {"n": 1})
                await session.commit()
    finally:
        otel_context.detach(token)
    async with sm() as session:  # written outside a request: no context
        record_event(session, OutboxEvent, "thing.happened", {"n": 2})
        await session.commit()
    relay = OutboxRelay(sm, redis, model=OutboxEvent, source="Obs", stream=stream)
    assert await relay.publish_pending() == 2
    entries = await redis.xrange(stream)
    with_ctx, without = (json.loads(f[b"event"]) for _, f in entries)
    assert with_ctx["request_id"] == "req-abc-123"
    assert with_ctx["traceparent"].split("-")[1] == trace_id
    assert not {"request_id", "traceparent"} & set(without)  # the old envelope, unchanged

    consumer = StreamConsumer(redis, stream=stream, group="obs", consumer_name="pod-0",
                              handler=handler, sessionmaker=sm, handled_model=HandledEvent)
    await consumer.ensure_group()
    with caplog.at_level(logging.INFO):
        assert await consumer.poll(block_ms=1) == 2
    assert seen[0] == ("req-abc-123", trace_id)
    assert seen[1][0] is None and seen[1][1] is not None  # a trace of its own
    lines = [r for r in caplog.records if r.name == "obs.handler"]
    assert [getattr(r, "request_id", None) for r in lines] == ["req-abc-123", None]
    await redis.delete(stream)


# -- consumers: one group per module, stable names ------------------------------------------


async def _publish(sm: Any, redis: Any, stream: str, n: int) -> None:
    async with sm() as session:
        for i in range(n):
            record_event(session, OutboxEvent, "thing.happened", {"i": i})
        await session.commit()
    relay = OutboxRelay(sm, redis, model=OutboxEvent, source="Obs", stream=stream)
    while await relay.publish_pending():
        pass


def _effect_handler() -> Any:
    async def handle(event: EventEnvelope, session: AsyncSession) -> None:
        session.add(Effect(event_id=event.id))

    return handle


async def _counts(sm: Any) -> tuple[int, int]:
    async with sm() as session:
        handled = await session.scalar(select(func.count()).select_from(HandledEvent))
        effects = await session.scalar(select(func.count()).select_from(Effect))
    return int(handled or 0), int(effects or 0)


async def test_two_replicas_in_one_group_handle_every_event_exactly_once(
    sm: Any, redis: Any, stream: str
) -> None:
    n = 40
    await _publish(sm, redis, stream, n)
    replicas = [StreamConsumer(redis, stream=stream, group="stocktech", consumer_name=name,
                               handler=_effect_handler(), sessionmaker=sm,
                               handled_model=HandledEvent, batch_size=3, block_ms=50)
                for name in ("stocktech-0", "stocktech-1")]
    for r in replicas:
        await r.start()
    try:
        for _ in range(400):
            if (await _counts(sm))[0] == n:
                break
            await asyncio.sleep(0.05)
        names = {c["name"] for c in await redis.xinfo_consumers(stream, "stocktech")}
        assert names == {b"stocktech-0", b"stocktech-1"}
    finally:
        for r in replicas:
            await r.stop()
    assert await _counts(sm) == (n, n)
    assert sum(r.handled for r in replicas) == n
    assert sum(r.duplicates for r in replicas) == 0
    pending = await redis.xpending(stream, "stocktech")
    assert pending["pending"] == 0
    await redis.delete(stream)


_CONSUMER_SCRIPT = textwrap.dedent("""
    import asyncio, os
    import redis.asyncio as aioredis
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
    from sqlalchemy.orm import DeclarativeBase
    from avelar_kit.events import HandledEventMixin, StreamConsumer
    from avelar_kit.events.consumer import stable_consumer_name

    class Base(DeclarativeBase):
        pass

    class HandledEvent(HandledEventMixin, Base):
        __tablename__ = "handled_events"

    async def stuck(event, session):
        await asyncio.Event().wait()  # a handler that never ends: the process is killed

    async def main():
        engine = create_async_engine(os.environ["DB_URL"])
        r = aioredis.Redis.from_url(os.environ["REDIS_URL"])
        c = StreamConsumer(r, stream=os.environ["STREAM"], group="stocktech",
                           consumer_name=stable_consumer_name(None), handler=stuck,
                           sessionmaker=async_sessionmaker(engine), handled_model=HandledEvent,
                           batch_size=10, block_ms=100)
        await c.run()

    asyncio.run(main())
""")


async def test_killed_consumer_restarted_under_the_same_name_resumes_its_pending_at_once(
    sm: Any, redis: Any, stream: str, obs_db_url: str, redis_url: str, tmp_path: Path
) -> None:
    n = 5
    await _publish(sm, redis, stream, n)
    await redis.xgroup_create(stream, "stocktech", id="0")
    script = tmp_path / "consumer.py"
    script.write_text(_CONSUMER_SCRIPT)
    env = {**os.environ, "POD_NAME": "stocktech-7d9f-abcde", "DB_URL": obs_db_url,
           "REDIS_URL": redis_url, "STREAM": stream}
    proc = await asyncio.create_subprocess_exec(sys.executable, str(script), env=env)
    try:
        for _ in range(600):  # the replica has read the events and is stuck handling them
            info = await redis.xpending(stream, "stocktech")
            if info["pending"] == n or proc.returncode is not None:
                break
            await asyncio.sleep(0.05)
        assert info["pending"] == n, "the replica read the events"
        consumers = {c["name"]: c for c in await redis.xinfo_consumers(stream, "stocktech")}
        assert consumers[b"stocktech-7d9f-abcde"]["pending"] == n
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)  # no graceful shutdown: a crash
        await proc.wait()

    # Another replica does not take them before claim_idle_ms (60 s): they are not its own.
    other = StreamConsumer(redis, stream=stream, group="stocktech", consumer_name="stocktech-1",
                           handler=_effect_handler(), sessionmaker=sm,
                           handled_model=HandledEvent)
    assert await other.sweep() == 0
    # The same replica, restarted under the same name: its first sweep handles them all.
    os.environ["POD_NAME"] = "stocktech-7d9f-abcde"
    try:
        name = stable_consumer_name(None)
    finally:
        del os.environ["POD_NAME"]
    again = StreamConsumer(redis, stream=stream, group="stocktech", consumer_name=name,
                           handler=_effect_handler(), sessionmaker=sm,
                           handled_model=HandledEvent)
    assert await again.sweep() == n
    assert await _counts(sm) == (n, n)
    assert (await redis.xpending(stream, "stocktech"))["pending"] == 0
    await redis.delete(stream)


async def test_dead_consumer_names_are_pruned_and_live_ones_kept(
    sm: Any, redis: Any, stream: str
) -> None:
    await redis.xgroup_create(stream, "lucrum", id="0", mkstream=True)
    await redis.xadd(stream, {"event": b"x"})
    for name in ("old-pod-1", "old-pod-2", "busy-pod"):
        await redis.xgroup_createconsumer(stream, "lucrum", name)
    # busy-pod holds a pending message: kept until it is claimed.
    await redis.xreadgroup("lucrum", "busy-pod", {stream: ">"}, count=1)
    consumer = StreamConsumer(redis, stream=stream, group="lucrum", consumer_name="pod-0",
                              handler=_effect_handler(), sessionmaker=sm,
                              handled_model=HandledEvent, prune_idle_ms=0)
    await redis.xgroup_createconsumer(stream, "lucrum", "pod-0")
    removed = await consumer.prune()
    assert sorted(removed) == ["old-pod-1", "old-pod-2"]
    names = {c["name"] for c in await redis.xinfo_consumers(stream, "lucrum")}
    assert names == {b"busy-pod", b"pod-0"}
    await redis.delete(stream)


def test_stable_consumer_name_comes_from_the_setting_then_pod_name_then_hostname(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POD_NAME", "lucrum-5c6d-xyz")
    monkeypatch.setenv("HOSTNAME", "container-id")
    assert stable_consumer_name("configured") == "configured"
    assert stable_consumer_name(None) == "lucrum-5c6d-xyz"
    monkeypatch.delenv("POD_NAME")
    assert stable_consumer_name(None) == "container-id"
    assert stable_consumer_name(None) == stable_consumer_name(None)  # no pid, no randomness


def test_grafana_dashboard_queries_only_series_the_kit_exports() -> None:
    import re

    from prometheus_client import REGISTRY

    path = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "avelarsys-modules.json"
    dashboard = json.loads(path.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {m for e in exprs for m in re.findall(r"\b(avelar_[a-z_]+)", e)}
    exported = {s.name for family in REGISTRY.collect() for s in family.samples
                if s.name.startswith("avelar_")}
    exported |= {f.name for f in REGISTRY.collect() if f.name.startswith("avelar_")}
    # Counters and histograms without a sample yet are known by their family name.
    known = exported | {n + "_total" for n in exported} | {
        n + suffix for n in exported for suffix in ("_count", "_bucket", "_sum")}
    assert used and used <= known, used - known


async def test_metrics_add_up_over_worker_processes_in_multiprocess_mode(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    bump = ("from avelar_kit.metrics import PURCHASES, HTTP_REQUEST_DURATION as H; "
            "PURCHASES.inc(); H.labels('W', '/r', 'GET', '200').observe(0.01)")
    for _ in range(2):  # two workers, one after the other
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", bump, env=env)
        assert await proc.wait() == 0
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from avelar_kit.metrics import render; "
        "import sys; sys.stdout.write(render().decode())", env=env,
        stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    samples = parse(out.decode())
    assert value(samples, "avelar_purchases_total") == 2
    assert value(samples, "avelar_http_request_duration_seconds_count", module="W") == 2


_EXPORT_SCRIPT = textwrap.dedent("""
    import asyncio, os, httpx
    from asgi_lifespan import LifespanManager
    from opentelemetry import trace
    from avelar_kit.app import create_service_app
    from avelar_kit.settings import ServiceSettings

    settings = ServiceSettings(database_url=os.environ["DB_URL"], redis_url=os.environ["REDIS_URL"],
                               otlp_endpoint=os.environ["OTLP"])
    app = create_service_app(module="Exported", settings=settings, title="E",
                             verifier_factory=lambda app: None)

    @app.get("/api/exported/{item}")
    async def exported(item: int) -> dict:
        return {"item": item}

    async def main():
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://e") as c:
                assert (await c.get("/api/exported/1")).status_code == 200
                assert (await c.get("/health/ready")).status_code == 200
        trace.get_tracer_provider().force_flush()

    asyncio.run(main())
""")


async def test_spans_are_exported_over_otlp_only_when_an_endpoint_is_set(
    tmp_path: Path, obs_db_url: str, redis_url: str
) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    received: list[bytes] = []

    async def traces(request: Request) -> Response:
        received.append(await request.body())
        return Response(b"", media_type="application/x-protobuf")

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(
        Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])]),
        log_level="critical", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        script = tmp_path / "export.py"
        script.write_text(_EXPORT_SCRIPT)
        env = {**os.environ, "DB_URL": obs_db_url, "REDIS_URL": redis_url,
               "OTLP": f"http://127.0.0.1:{port}"}
        proc = await asyncio.create_subprocess_exec(sys.executable, str(script), env=env)
        assert await proc.wait() == 0
    finally:
        server.should_exit = True
        await task
    body = b"".join(received)
    assert b"/api/exported/{item}" in body  # the FastAPI server span, by route
    assert b"SELECT 1" in body  # the SQLAlchemy span of the readiness check
    assert b"Exported" in body  # service.name


async def test_a_cleanly_stopped_consumer_with_nothing_pending_leaves_the_group(
    sm: Any, redis: Any, stream: str
) -> None:
    await _publish(sm, redis, stream, 2)
    consumer = StreamConsumer(redis, stream=stream, group="obs", consumer_name="pod-gone",
                              handler=_effect_handler(), sessionmaker=sm,
                              handled_model=HandledEvent, block_ms=50)
    await consumer.start()
    try:
        for _ in range(200):
            if (await _counts(sm))[0] == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await consumer.stop()
    assert await _counts(sm) == (2, 2)
    assert await redis.xinfo_consumers(stream, "obs") == []
    await redis.delete(stream)


async def test_avadmin_client_sends_the_request_id_and_the_w3c_trace_context(
    stub: Any, make_client: Any
) -> None:
    from opentelemetry import context as otel_context
    from opentelemetry import propagate

    _, uid = stub.add_company()
    client = make_client()
    trace_id = uuid.uuid4().hex
    token = otel_context.attach(propagate.extract(
        {"traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"}))
    try:
        with request_id_context("compra-123"):
            assert await client.get_user(uid) is not None
    finally:
        otel_context.detach(token)
    sent = [h for h in stub.headers if "x-request-id" in h]
    assert sent and all(h["x-request-id"] == "compra-123" for h in sent)
    assert all(h["traceparent"].split("-")[1] == trace_id for h in sent)
