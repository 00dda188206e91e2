from __future__ import annotations

from avelar_kit.events.consumer import HandledEventMixin
from lucrum.db import Base


class HandledEvent(HandledEventMixin, Base):
    """Ids of events already applied (StockTech's and AvAdmin's). Inserted in the same
    transaction as the postings an event causes, so an event counts as handled if and only if
    its effects were committed."""

    __tablename__ = "handled_events"
