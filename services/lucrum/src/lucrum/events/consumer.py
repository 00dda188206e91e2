"""Wiring of ``handle_event`` to the kit's Redis Stream consumer."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.avadmin import AvAdminReader
from avelar_kit.errors import ServiceUnavailable
from avelar_kit.events import EventEnvelope, Handler, StreamConsumer
from avelar_kit.events.consumer import stable_consumer_name
from lucrum.config import Settings
from lucrum.events.handlers import SALE_COMPLETED, handle_event
from lucrum.events.models import HandledEvent


class AvAdminUnreachable(ConnectionError):
    """AvAdmin could not say whether a company has Lucrum. A ConnectionError on purpose: the
    kit's consumer retries infrastructure errors forever (the message stays pending, the loop
    backs off) instead of counting them towards dead-lettering, and a sale must not end in the
    dead-letter stream because AvAdmin was down for a minute."""


def stocktech_handler(reader: AvAdminReader) -> Handler:
    async def handle(event: EventEnvelope, session: AsyncSession) -> None:
        try:
            await handle_event(session, event.model_dump(mode="json"), avadmin=reader,
                               record_handled=False)
        except ServiceUnavailable as exc:
            raise AvAdminUnreachable(str(exc)) from exc

    return handle


def stocktech_consumer(app: FastAPI, settings: Settings) -> StreamConsumer:
    return StreamConsumer(
        app.state.redis, stream=settings.stocktech_events_stream,
        group=settings.consumer_group or "lucrum",
        consumer_name=stable_consumer_name(settings.consumer_name),
        prune_idle_ms=int(settings.consumer_prune_idle_seconds * 1000),
        handler=stocktech_handler(app.state.avadmin), sessionmaker=app.state.db.sessionmaker,
        handled_model=HandledEvent,
        # Lucrum posts completed sales; StockTech's other events are acknowledged without a
        # transaction.
        event_types={SALE_COMPLETED},
    )
