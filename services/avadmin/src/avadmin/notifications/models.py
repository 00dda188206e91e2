"""Events consumed for WhatsApp notifications."""

from __future__ import annotations

from avadmin.db import Base
from avelar_kit.events.consumer import HandledEventMixin


class HandledEvent(HandledEventMixin, Base):
    """Events AvAdmin consumed (StockTech's purchases, its own billing events) for WhatsApp
    notifications: one row per event id, so a redelivered event sends nothing twice."""

    __tablename__ = "handled_events"
