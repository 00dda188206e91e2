"""``avadmin_api`` and ``avadmin_breaker`` in a consuming module's ``/health`` (the seed's
health check). AvAdmin being unreachable makes the module ``degraded``, never down: cached data
and the fallback keep serving."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from avelar_kit.avadmin.client import AvAdminClient
from avelar_kit.health import Check


def avadmin_health_check(client_getter: Callable[[], AvAdminClient | None]) -> Check:
    async def check() -> dict[str, Any]:
        client = client_getter()
        if client is None:
            # Not started (or shut down): there is no client, hence no circuit either.
            return {"avadmin_api": "unreachable", "avadmin_breaker": "open",
                    "_degraded": True}
        reachable = await client.ping()
        return {
            "avadmin_api": "reachable" if reachable else "unreachable",
            "avadmin_breaker": client.breaker_state,
            "_degraded": not reachable,
        }

    return check
