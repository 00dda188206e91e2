from __future__ import annotations

from avelar_kit.events.outbox import OutboxMixin

from stocktech.db import Base


class OutboxEvent(OutboxMixin, Base):
    """Events StockTech produces (``stocktech.transaction.completed``), written in the same
    transaction as the change and relayed to the ``avelar:events:stocktech`` stream."""

    __tablename__ = "outbox_events"
