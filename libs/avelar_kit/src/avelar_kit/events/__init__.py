"""Domain events between modules: a transactional outbox in each producer's database, a relay
to a Redis Stream, and consumers with their own consumer group and handled-id records."""

from avelar_kit.events.outbox import OutboxMixin, record_event

__all__ = ["OutboxMixin", "record_event"]
