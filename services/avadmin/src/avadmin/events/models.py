from __future__ import annotations

from avadmin.db import Base
from avelar_kit.events.outbox import OutboxMixin


class OutboxEvent(OutboxMixin, Base):
    __tablename__ = "outbox_events"
