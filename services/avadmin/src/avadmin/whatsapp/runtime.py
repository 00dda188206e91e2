"""AvAdmin's WhatsApp background work: the delivery dispatcher (when a provider is configured)
and the consumers of the events that become notifications."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from avadmin.config import Settings
from avadmin.messaging.dispatcher import MessageDispatcher
from avadmin.messaging.whatsapp_cloud import WhatsAppCloudAdapter
from avadmin.notifications.models import HandledEvent
from avadmin.notifications.service import ROUTES, handle_event
from avelar_kit.events.consumer import StreamConsumer, stable_consumer_name

logger = logging.getLogger("avadmin.whatsapp")


async def start_whatsapp(app: FastAPI, settings: Settings) -> None:
    app.state.messaging_port = None
    app.state.dispatcher = None
    app.state.notification_consumers = []
    if settings.whatsapp_phone_number_id and settings.whatsapp_access_token:
        port = WhatsAppCloudAdapter(
            base_url=settings.whatsapp_api_url, version=settings.whatsapp_api_version,
            phone_number_id=settings.whatsapp_phone_number_id,
            access_token=settings.whatsapp_access_token.get_secret_value(),
            timeout=settings.whatsapp_timeout)
        app.state.messaging_port = port
        app.state.dispatcher = MessageDispatcher(
            app.state.db.sessionmaker, port, max_attempts=settings.messaging_max_attempts,
            backoff_base=settings.messaging_backoff_base,
            backoff_max=settings.messaging_backoff_max,
            poll_interval=settings.messaging_poll_interval)
        if settings.messaging_enabled:
            await app.state.dispatcher.start()
    else:
        logger.warning("WhatsApp not configured (AVADMIN_WHATSAPP_PHONE_NUMBER_ID and "
                       "AVADMIN_WHATSAPP_ACCESS_TOKEN): messages wait in the outbox")
    if settings.notifications_enabled:
        # The kit's stable name (CONSUMER_NAME, POD_NAME, HOSTNAME): a restarted replica
        # resumes its own pending notices at once instead of waiting for the claim.
        name = stable_consumer_name(settings.consumer_name)
        for stream in (settings.notifications_stocktech_stream, settings.events_stream):
            consumer = StreamConsumer(
                app.state.redis, stream=stream, group=settings.notifications_group,
                consumer_name=name, handler=handle_event,
                prune_idle_ms=int(settings.consumer_prune_idle_seconds * 1000),
                sessionmaker=app.state.db.sessionmaker, handled_model=HandledEvent,
                event_types=ROUTES.keys())
            await consumer.start()
            app.state.notification_consumers.append(consumer)


async def stop_whatsapp(app: FastAPI) -> None:
    for consumer in getattr(app.state, "notification_consumers", []):
        await consumer.stop()
    dispatcher = getattr(app.state, "dispatcher", None)
    if dispatcher is not None:
        await dispatcher.stop()
    port = getattr(app.state, "messaging_port", None)
    if port is not None:
        await port.aclose()
