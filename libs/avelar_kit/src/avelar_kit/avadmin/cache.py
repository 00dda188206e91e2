"""Redis cache of AvAdmin answers: a fresh entry (TTL) and a last-known entry (the fallback).

Keys (namespaced by module, so StockTech and Lucrum never read each other's entries):

- ``avelar:{module}:avadmin:{kind}:{id}``       fresh entry, expires after ``ttl`` seconds
- ``avelar:{module}:avadmin:{kind}:{id}:last``  last known answer, kept ``last_known_ttl`` seconds
- ``avelar:{module}:avadmin:{kind}:{id}:ver``   bumped by every invalidation

Both entries hold ``{"fetched_at": <epoch seconds>, "data": {...} | null}`` so that a reader
always knows the age of what it serves. The version key closes a race: a fetch that started
before an invalidation (an event saying "user deactivated") must not write its older answer back
after it; the write is a Lua script that stores only if the version is still the one read.

Redis being down is not an outage of the module: every operation here degrades to "miss".
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from redis.exceptions import RedisError

logger = logging.getLogger("avelar_kit.avadmin")

Kind = Literal["user", "account", "plan"]

_STORE = """
local current = redis.call('GET', KEYS[3])
if (current or '') ~= ARGV[4] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if ARGV[5] == '1' then
  redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])
else
  redis.call('DEL', KEYS[2])
end
return 1
"""


@dataclass(frozen=True, slots=True)
class CacheEntry:
    fetched_at: float
    data: dict[str, Any] | None

    def age(self, now: float | None = None) -> float:
        return max(0.0, (now if now is not None else time.time()) - self.fetched_at)


def _decode(raw: Any) -> CacheEntry | None:
    if raw is None:
        return None
    try:
        obj = json.loads(raw)
        return CacheEntry(fetched_at=float(obj["fetched_at"]), data=obj["data"])
    except (ValueError, KeyError, TypeError):
        return None  # an unreadable entry is a miss, never a crash


class AvAdminCache:
    def __init__(
        self,
        redis: Any,
        *,
        module: str,
        ttl: float = 300,
        negative_ttl: float = 5,
        last_known_ttl: float = 7 * 24 * 3600,
    ) -> None:
        self.redis = redis
        self.module = module
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.last_known_ttl = last_known_ttl
        self._store = redis.register_script(_STORE)

    def key(self, kind: Kind, ident: uuid.UUID | str) -> str:
        return f"avelar:{self.module}:avadmin:{kind}:{ident}"

    async def read(self, kind: Kind, ident: uuid.UUID) -> tuple[CacheEntry | None, str]:
        """The fresh entry (or None) and the version to hand back to ``store``."""
        base = self.key(kind, ident)
        try:
            fresh, ver = await self.redis.mget(base, f"{base}:ver")
        except RedisError as exc:
            logger.warning("avadmin cache read failed (%s)", type(exc).__name__)
            return None, "?"  # "?" never matches: a fetch made now is not cached
        return _decode(fresh), (ver.decode() if isinstance(ver, bytes) else (ver or ""))

    async def read_many(
        self, items: list[tuple[Kind, uuid.UUID]]
    ) -> list[tuple[CacheEntry | None, str]]:
        """``read`` for several entries in a single Redis round trip (one MGET)."""
        keys: list[str] = []
        for kind, ident in items:
            base = self.key(kind, ident)
            keys += [base, f"{base}:ver"]
        try:
            raw = await self.redis.mget(*keys)
        except RedisError as exc:
            logger.warning("avadmin cache read failed (%s)", type(exc).__name__)
            return [(None, "?") for _ in items]
        out: list[tuple[CacheEntry | None, str]] = []
        for i in range(len(items)):
            fresh, ver = raw[2 * i], raw[2 * i + 1]
            out.append((_decode(fresh), ver.decode() if isinstance(ver, bytes) else (ver or "")))
        return out

    async def read_last(self, kind: Kind, ident: uuid.UUID) -> CacheEntry | None:
        try:
            return _decode(await self.redis.get(f"{self.key(kind, ident)}:last"))
        except RedisError as exc:
            logger.warning("avadmin cache read failed (%s)", type(exc).__name__)
            return None

    async def store(
        self, kind: Kind, ident: uuid.UUID, data: dict[str, Any] | None, version: str,
        *, fetched_at: float | None = None,
    ) -> bool:
        """Store an answer unless an invalidation happened since ``version`` was read. A 404
        (``data is None``) is cached only for ``negative_ttl`` and forgets the last known copy."""
        if version == "?":
            return False
        ttl = self.ttl if data is not None else self.negative_ttl
        if ttl <= 0:
            return False
        base = self.key(kind, ident)
        payload = json.dumps({"fetched_at": fetched_at or time.time(), "data": data},
                             separators=(",", ":"))
        try:
            stored = await self._store(
                keys=[base, f"{base}:last", f"{base}:ver"],
                args=[payload, max(1, int(ttl)), max(1, int(self.last_known_ttl)), version,
                      "1" if data is not None else "0"],
            )
        except RedisError as exc:
            logger.warning("avadmin cache write failed (%s)", type(exc).__name__)
            return False
        return bool(stored)

    async def invalidate(self, kind: Kind, ident: uuid.UUID) -> None:
        """Forget both entries: the last known copy is now known to be wrong, so it must not be
        served as a fallback either (a deactivated user would get back in while AvAdmin is
        down). Raises on Redis errors so that a consumer does not acknowledge the event."""
        base = self.key(kind, ident)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(base, f"{base}:last")
            pipe.incr(f"{base}:ver")
            pipe.expire(f"{base}:ver", max(1, int(self.last_known_ttl)))
            await pipe.execute()
