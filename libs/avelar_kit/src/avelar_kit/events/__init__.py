"""Domain events between modules: a transactional outbox in each producer's database, a relay
to a Redis Stream, and consumers with their own consumer group and handled-id records."""

from avelar_kit.events.consumer import HandledEventMixin, Handler, StreamConsumer
from avelar_kit.events.envelope import STREAM_FIELD, EventEnvelope, stream_name
from avelar_kit.events.outbox import OutboxMixin, record_event
from avelar_kit.events.relay import OutboxRelay

__all__ = [
    "STREAM_FIELD",
    "EventEnvelope",
    "HandledEventMixin",
    "Handler",
    "OutboxMixin",
    "OutboxRelay",
    "StreamConsumer",
    "record_event",
    "stream_name",
]
