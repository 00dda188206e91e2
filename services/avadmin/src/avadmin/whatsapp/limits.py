"""Fixed-window limits and cooldowns in Redis, shared by every AvAdmin process.

Keys hold a hash of what they count (a number, a CPF, an IP), never the value itself. When
Redis cannot be reached the same limits are kept in this process's memory: a little more
lenient across several processes, never unlimited, and the request is not failed for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import time
from typing import Any

from redis.exceptions import RedisError

logger = logging.getLogger("avadmin.limits")


def limit_key(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(f'{kind}:{value}'.encode()).hexdigest()[:32]}"


class RateLimiter:
    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._local: dict[str, tuple[int, float]] = {}

    def _key(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    def _local_hit(self, key: str, window: int) -> tuple[int, int]:
        now = time.monotonic()
        count, reset = self._local.get(key, (0, now + window))
        if reset <= now:
            count, reset = 0, now + window
        count += 1
        self._local[key] = (count, reset)
        if len(self._local) > 50_000:  # bounded memory: drop what has expired
            self._local = {k: v for k, v in self._local.items() if v[1] > now}
        return count, max(1, math.ceil(reset - now))

    async def hit(self, key: str, limit: int, window: int) -> int | None:
        """Count one event; None when within ``limit`` per ``window`` seconds, otherwise the
        seconds until the window ends (for Retry-After)."""
        full = self._key(key)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(full)
                pipe.expire(full, window, nx=True)
                pipe.ttl(full)
                count, _, ttl = await pipe.execute()
            ttl = int(ttl) if int(ttl) > 0 else window
        except (RedisError, OSError):
            logger.warning("rate limiter: Redis unavailable, counting in this process")
            count, ttl = self._local_hit(full, window)
        return None if int(count) <= limit else ttl

    async def cooldown(self, key: str, seconds: int) -> int | None:
        """Start a cooldown; None when none was running, otherwise the seconds left."""
        if seconds <= 0:
            return None
        full = self._key(f"cooldown:{key}")
        try:
            if await self.redis.set(full, b"1", ex=seconds, nx=True):
                return None
            ttl = int(await self.redis.ttl(full))
            return ttl if ttl > 0 else 1
        except (RedisError, OSError):
            count, left = self._local_hit(full, seconds)
            return None if count == 1 else left

    async def reset(self, key: str) -> None:
        full = self._key(key)
        self._local.pop(full, None)
        with contextlib.suppress(RedisError, OSError):
            await self.redis.delete(full)
