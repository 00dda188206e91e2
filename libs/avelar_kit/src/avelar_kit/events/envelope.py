"""The envelope every event travels in (docs/avadmin-contract.md, "Events").

Published to a Redis Stream ``avelar:events:{source}`` as one field ``event`` holding JSON:
``{"id", "type", "occurred_at", "source", "schema_version", "data"}``, plus, when the event was
caused by a request, ``request_id`` (its X-Request-ID) and the W3C trace context
(``traceparent``, ``tracestate``), so that the consumer's log lines and spans join the
request's. Readers ignore fields they do not know (tolerant reader), so a producer may add
fields without breaking released consumers; envelopes without the optional fields are read as
before.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from avelar_kit.events.outbox import OutboxMixin

STREAM_FIELD = "event"


def stream_name(source: str) -> str:
    """``avelar:events:avadmin`` for source ``AvAdmin``."""
    return f"avelar:events:{source.lower()}"


class EventEnvelope(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: uuid.UUID
    type: str
    occurred_at: datetime
    source: str
    schema_version: int = 1
    data: dict[str, Any] = Field(default_factory=dict)
    request_id: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None


_CONTEXT_FIELDS = ("request_id", "traceparent", "tracestate")


def envelope_from_outbox(row: OutboxMixin, source: str) -> str:
    envelope: dict[str, Any] = {
        "id": str(row.id),
        "type": row.event_type,
        "occurred_at": row.created_at.isoformat(),
        "source": source,
        "schema_version": row.schema_version,
        "data": row.payload,
    }
    context = row.trace_context or {}
    envelope.update({k: context[k] for k in _CONTEXT_FIELDS if context.get(k)})
    return json.dumps(
        envelope,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
