"""Everything a consuming module (StockTech, Lucrum, a partner's module) wires to AvAdmin, in
one object: the cached client, the caller resolver (``avelar_kit.auth.caller``), the event
consumer that invalidates the cache, and the ``/health`` fields. ``create_module_app`` uses it;
a module never builds one itself.

After startup ``app.state.avadmin`` is the ``AvAdminClient`` (an ``AvAdminReader``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

from avelar_kit.auth.caller import LocalCheck, StandingResolver
from avelar_kit.avadmin.client import AvAdminClient
from avelar_kit.avadmin.events import AVADMIN_STREAM, cache_invalidation_handler
from avelar_kit.avadmin.health import avadmin_health_check
from avelar_kit.avadmin.protocol import AvAdminReader
from avelar_kit.events.consumer import (
    HandledEventMixin,
    Handler,
    StreamConsumer,
    stable_consumer_name,
)
from avelar_kit.health import Check


class AvAdminIntegration:
    def __init__(
        self,
        *,
        module: str,
        base_url: str,
        client_id: str,
        client_secret: str,
        handled_model: type[HandledEventMixin] | None = None,
        handlers: Mapping[str, Handler] | None = None,
        stream: str = AVADMIN_STREAM,
        group: str | None = None,
        consumer_name: str | None = None,
        client_options: Mapping[str, Any] | None = None,
        consumer_options: Mapping[str, Any] | None = None,
        local_check: LocalCheck | None = None,
    ) -> None:
        """``handled_model`` enables the event consumer (cache invalidation plus ``handlers``,
        keyed by event type, run in the same transaction). ``group`` defaults to the module
        name: each module has its own consumer group shared by its replicas; each replica reads
        under a stable name (``consumer_name``, else the settings' ``consumer_name``, else
        ``POD_NAME``/``HOSTNAME``: see ``stable_consumer_name``)."""
        self.module = module
        self.base_url = base_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.handled_model = handled_model
        self.handlers = dict(handlers or {})
        self.stream = stream
        self.group = group or module.lower()
        self.consumer_name = consumer_name
        self.client_options = dict(client_options or {})
        self.consumer_options = dict(consumer_options or {})
        self.local_check = local_check
        self.client: AvAdminClient | None = None
        self.consumer: StreamConsumer | None = None

    async def startup(self, app: FastAPI) -> None:
        options: dict[str, Any] = {}
        settings = getattr(app.state, "settings", None)
        if settings is not None and hasattr(settings, "avadmin_max_connections"):
            options.update(max_connections=settings.avadmin_max_connections,
                           pool_timeout=settings.avadmin_pool_timeout,
                           stale_write_bound=settings.avadmin_stale_write_bound,
                           local_max_entries=settings.avadmin_local_max_entries,
                           local_last_known_ttl=settings.avadmin_local_last_known_ttl)
        guard = getattr(app.state, "redis_guard", None)
        if guard is not None:
            options["redis_guard"] = guard
        options.update(self.client_options)
        self.client = AvAdminClient(self.base_url, self.client_id, self.client_secret,
                                    app.state.redis, module=self.module, **options)
        app.state.avadmin = self.client
        app.state.caller_resolver = StandingResolver(self.client, self.module, self.local_check)
        if self.handled_model is not None:
            settings = getattr(app.state, "settings", None)
            options = dict(self.consumer_options)
            if settings is not None:
                options.setdefault("prune_idle_ms",
                                   int(settings.consumer_prune_idle_seconds * 1000))
            self.consumer = StreamConsumer(
                app.state.redis, stream=self.stream, group=self.group,
                consumer_name=self.consumer_name or stable_consumer_name(
                    getattr(settings, "consumer_name", None)),
                handler=cache_invalidation_handler(self.client, self.handlers),
                sessionmaker=app.state.db.sessionmaker, handled_model=self.handled_model,
                **options,
            )
            await self.consumer.start()

    async def shutdown(self, app: FastAPI) -> None:
        if self.consumer is not None:
            await self.consumer.stop()
            self.consumer = None
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    def health_check(self, app: FastAPI) -> Check:
        return avadmin_health_check(lambda: self.client)


class InjectedAvAdmin:
    """The same wiring around a reader the caller provides (a module's unit tests pass a fake
    AvAdmin): the caller resolver as in production, no client, no consumer."""

    def __init__(self, reader: AvAdminReader, module: str,
                 local_check: LocalCheck | None = None) -> None:
        self.reader = reader
        self.module = module
        self.local_check = local_check

    async def startup(self, app: FastAPI) -> None:
        app.state.avadmin = self.reader
        app.state.caller_resolver = StandingResolver(self.reader, self.module, self.local_check)

    async def shutdown(self, app: FastAPI) -> None:
        return None

    def health_check(self, app: FastAPI) -> Check:
        async def check() -> dict[str, Any]:
            return {"avadmin_api": "not_checked"}

        return check
