from __future__ import annotations

from avelar_kit.events.consumer import HandledEventMixin
from avelar_kit.events.outbox import OutboxMixin
from stocktech.db import Base


class OutboxEvent(OutboxMixin, Base):
    """Events StockTech produces (``stocktech.transaction.completed``), written in the same
    transaction as the change and relayed to the ``avelar:events:stocktech`` stream."""

    __tablename__ = "outbox_events"


class HandledEvent(HandledEventMixin, Base):
    """Ids of the AvAdmin events already applied (the kit's consumer inserts one per event in the
    transaction that applies it, so a redelivered event changes nothing)."""

    __tablename__ = "handled_events"
