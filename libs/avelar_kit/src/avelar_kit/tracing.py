"""OpenTelemetry: spans for FastAPI, httpx, SQLAlchemy and Redis, W3C trace context between
modules and inside events, and the request id carried along (docs/observability.md).

Exporter off unless configured. Without an OTLP endpoint no tracer provider and no
instrumentation is installed (with a provider, even one that samples nothing, FastAPI's own
telemetry and the instrumentations cost tens of microseconds per request): the kit frame's
middleware (``avelar_kit.middleware``) continues the caller's ``traceparent`` (or starts a
trace id) as the current, non-recording span, so log lines still carry a trace id and the
context still travels to AvAdmin and inside events.
With an endpoint (setting ``otlp_endpoint`` or the standard ``OTEL_EXPORTER_OTLP_ENDPOINT``) the
FastAPI, httpx, SQLAlchemy and Redis instrumentations record spans, sampled parent-based with
the ratio ``OTEL_TRACES_SAMPLER_ARG`` (1 by default), exported in batches over OTLP/HTTP.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from avelar_kit.logging import current_request_id, request_id_context, valid_request_id
from avelar_kit.settings import ServiceSettings

logger = logging.getLogger("avelar_kit.tracing")

_tracer = trace.get_tracer("avelar_kit")
_configured = False
_exporting = False
_EXCLUDED_URLS = "health,metrics"


def otlp_endpoint(settings: ServiceSettings) -> str | None:
    return (settings.otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None)


def configure_tracing(module: str, settings: ServiceSettings) -> bool:
    """Install the process's tracer provider (once per process). True when spans are exported."""
    global _configured, _exporting
    endpoint = otlp_endpoint(settings)
    if _configured or not settings.tracing_enabled or not endpoint:
        return _exporting
    _configured = _exporting = True
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBasedTraceIdRatio

    ratio = float(os.environ.get("OTEL_TRACES_SAMPLER_ARG", "1"))
    provider = TracerProvider(resource=Resource.create({"service.name": module}),
                              sampler=ParentBasedTraceIdRatio(ratio))
    if settings.otlp_endpoint:
        url = settings.otlp_endpoint.rstrip("/")
        exporter = OTLPSpanExporter(
            endpoint=url if url.endswith("/v1/traces") else f"{url}/v1/traces")
    else:
        exporter = OTLPSpanExporter()  # reads the OTEL_EXPORTER_OTLP_* variables
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    logger.info("traces exported over OTLP to %s", endpoint)
    return True


def exporting() -> bool:
    """Spans are recorded and exported (an OTLP endpoint is configured)."""
    return _exporting


def untraced_child(parent: otel_context.Context | None) -> otel_context.Context:
    """A context whose current span is a non-recording child of ``parent``'s span (same trace
    id, new span id), or the root of a new trace when there is no valid parent."""
    sc = trace.get_current_span(parent).get_span_context() if parent is not None else None
    if sc is not None and sc.is_valid:
        child = SpanContext(sc.trace_id, random.getrandbits(64) or 1, is_remote=False,
                            trace_flags=sc.trace_flags, trace_state=sc.trace_state)
    else:
        child = SpanContext(random.getrandbits(128) or 1, random.getrandbits(64) or 1,
                            is_remote=False, trace_flags=TraceFlags(0))
    return trace.set_span_in_context(NonRecordingSpan(child))


def instrument_app(app: FastAPI, settings: ServiceSettings) -> None:
    """Exporting: FastAPI spans now; SQLAlchemy and Redis spans on the app's engine and client
    once the lifespan created them (the frame's lifespan is wrapped, whatever it is). Not
    exporting: nothing here (the kit frame's middleware carries the trace context)."""
    if not settings.tracing_enabled or not _exporting:
        return  # without an exporter the kit's middleware carries the trace context
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls=_EXCLUDED_URLS,
                                       exclude_spans=["receive", "send"])
    original = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with original(a) as state:
            _instrument_clients(app)
            yield state

    app.router.lifespan_context = lifespan


def _instrument_clients(app: FastAPI) -> None:
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    db = getattr(app.state, "db", None)
    if db is not None:
        # Its declared range stops below SQLAlchemy 2.1; the engine events it uses are unchanged.
        SQLAlchemyInstrumentor().instrument(engine=db.engine.sync_engine, skip_dep_check=True)
    redis = getattr(app.state, "redis", None)
    if redis is not None:
        RedisInstrumentor.instrument_client(redis)


def instrument_httpx(client: Any) -> None:
    """httpx client spans (the AvAdmin client) when exporting; otherwise the request hook
    alone sends the trace context."""
    if not _exporting:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor.instrument_client(client)


async def outgoing_headers(request: Any) -> None:
    """httpx request hook of calls between modules: the request id and the W3C trace context
    of the current request (the httpx instrumentation replaces ``traceparent`` with its client
    span's when it runs)."""
    rid = current_request_id()
    if rid and "x-request-id" not in request.headers:
        request.headers["X-Request-ID"] = rid
    if "traceparent" not in request.headers:
        propagate.inject(request.headers)


def event_context() -> dict[str, str] | None:
    """What an outbox row keeps of the request that wrote it: request id and trace context."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    carrier = {k: v for k, v in carrier.items() if k in ("traceparent", "tracestate")}
    rid = current_request_id()
    if rid:
        carrier["request_id"] = rid
    return carrier or None


@contextlib.contextmanager
def handling_event(envelope: Any, stream: str, group: str) -> Iterator[None]:
    """While a consumer handles an event: the producer's trace as parent of a CONSUMER span,
    and the producer's request id on every log line."""
    carrier: Mapping[str, str] = {
        k: v for k in ("traceparent", "tracestate") if (v := getattr(envelope, k, None))
    }
    parent = propagate.extract(carrier) if carrier else otel_context.Context()
    rid = valid_request_id(getattr(envelope, "request_id", None))
    with request_id_context(rid):
        if not _exporting:
            token = otel_context.attach(untraced_child(parent))
            try:
                yield
            finally:
                otel_context.detach(token)
            return
        with _tracer.start_as_current_span(
            f"{stream} process", context=parent, kind=SpanKind.CONSUMER,
            attributes={"messaging.system": "redis", "messaging.destination.name": stream,
                        "messaging.consumer.group.name": group,
                        "messaging.message.id": str(getattr(envelope, "id", ""))},
        ):
            yield
