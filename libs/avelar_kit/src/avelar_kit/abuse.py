"""Abuse limits per client address and per target (ADR 0013), with the ``limits`` library.

The kit frame's middleware (``avelar_kit.middleware``) counts, per client address
(``scope["client"]``, which uvicorn sets from X-Forwarded-For only for ``forwarded_allow_ips``):

- each named rule's target (``POST /api/auth/login``, signup, refresh, operator login: the
  service passes its own ``rules``);
- every request without a bearer token (``public_limit``): the public routes, including the
  ones a module adds later, and every unauthenticated probe.

Counters live in Redis (``limits``' fixed windows, shared by the replicas) through the kit's
``RedisGuard`` (deadline, budget, breaker); when Redis cannot answer, in-process counters of the
same limits take over (per replica, so up to N times the limit with N replicas: still bounded).
Over the limit: 429, ``Retry-After`` and a problem+json body, before the route runs.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter

from avelar_kit.errors import problem
from avelar_kit.redis_guard import RedisGuard, RedisUnavailable

logger = logging.getLogger("avelar_kit.abuse")

# Probes and scrapes (kubelet, Prometheus) are not abuse.
EXEMPT = ("/health", "/metrics")


@dataclass(frozen=True, slots=True)
class LimitRule:
    """``limit`` in ``limits``' notation (``"10/minute"``, ``"20 per hour"``)."""

    name: str
    method: str
    path: str
    limit: str


class AbuseLimiter:
    def __init__(
        self,
        *,
        module: str,
        redis_url: str | None,
        guard: RedisGuard | None,
        rules: Sequence[LimitRule] = (),
        public_limit: str | None = "120/minute",
        connection_pool: Any = None,
    ) -> None:
        self.module = module
        self.guard = guard
        self.rules: dict[tuple[str, str], tuple[str, RateLimitItem]] = {
            (r.method.upper(), r.path): (r.name, parse(r.limit)) for r in rules}
        self.public: RateLimitItem | None = parse(public_limit) if public_limit else None
        self._local = FixedWindowRateLimiter(MemoryStorage())
        self._shared: FixedWindowRateLimiter | None = None
        if redis_url and guard is not None:
            options: dict[str, Any] = {}
            if connection_pool is not None:
                options["connection_pool"] = connection_pool
            storage = RedisStorage(
                _limits_uri(redis_url),
                implementation="redispy", key_prefix=f"avelar:{module}:limits",
                wrap_exceptions=False, **options)
            self._shared = FixedWindowRateLimiter(storage)

    def applicable(self, method: str, path: str, authenticated: bool
                   ) -> list[tuple[str, RateLimitItem]]:
        found: list[tuple[str, RateLimitItem]] = []
        rule = self.rules.get((method, path))
        if rule is not None:
            found.append(rule)
        if not authenticated and self.public is not None:
            found.append(("public", self.public))
        return found

    async def hit(self, name: str, item: RateLimitItem, client: str) -> float | None:
        """Count one request; None when allowed, else the seconds until the window resets."""
        limiter = self._local
        if self._shared is not None and self.guard is not None:
            shared = self._shared
            try:
                allowed = await self.guard.run(lambda: shared.hit(item, name, client))
            except RedisUnavailable:
                pass  # in-process counters below
            else:
                if allowed:
                    return None
                limiter = shared
                return await self._retry_after(limiter, item, name, client)
        if await limiter.hit(item, name, client):
            return None
        return await self._retry_after(limiter, item, name, client)

    async def _retry_after(self, limiter: FixedWindowRateLimiter, item: RateLimitItem,
                           name: str, client: str) -> float:
        try:
            if limiter is self._shared and self.guard is not None:
                stats = await self.guard.run(lambda: limiter.get_window_stats(item, name, client))
            else:
                stats = await limiter.get_window_stats(item, name, client)
            return max(1.0, stats.reset_time - time.time())
        except RedisUnavailable:
            return float(item.get_expiry())


async def limit_answer(limiter: AbuseLimiter, scope: Any, bearer: bool) -> Any:
    """Count the request against the limits that apply to it (the kit frame's middleware,
    ``avelar_kit.middleware``, asks before the route runs): None when it may go on, else the
    429 answer to send instead."""
    path = scope["path"]
    if path.startswith(EXEMPT):
        return None
    applicable = limiter.applicable(scope["method"], path, bearer)
    if not applicable:
        return None
    client = (scope.get("client") or ("unknown", 0))[0]
    for name, item in applicable:
        retry = await limiter.hit(name, item, client)
        if retry is not None:
            logger.warning("abuse limit %s reached by a client (%s)", name, item)
            return problem(
                429, "rate_limited", "Muitas requisições",
                "Muitas requisições deste endereço. Aguarde e tente novamente.",
                headers={"Retry-After": str(max(1, math.ceil(retry)))},
                extra={"limit": name}, instance=path)
    return None


def _limits_uri(redis_url: str) -> str:
    """redis-py's URL in the form ``limits`` names its async storages: ``async+redis://``,
    ``async+rediss://``, and ``async+redis+unix://`` for a socket (the embedded Redis of
    ``make run`` listens on one)."""
    if redis_url.startswith("async+"):
        return redis_url
    if redis_url.startswith("unix://"):
        return "async+redis+" + redis_url
    return "async+" + redis_url
