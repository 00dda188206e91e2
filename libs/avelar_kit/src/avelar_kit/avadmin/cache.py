"""Redis cache of AvAdmin answers: a fresh entry (TTL) and a last-known entry (the fallback).

Keys (namespaced by module, so StockTech and Lucrum never read each other's entries):

- ``avelar:{module}:avadmin:{kind}:{id}``       fresh entry, expires after ``ttl`` seconds
- ``avelar:{module}:avadmin:{kind}:{id}:last``  last known answer, kept ``last_known_ttl`` seconds
- ``avelar:{module}:avadmin:{kind}:{id}:ver``   bumped by every invalidation

Both entries hold ``{"fetched_at": <epoch seconds>, "data": {...} | null}`` so that a reader
always knows the age of what it serves. The version key closes a race: a fetch that started
before an invalidation (an event saying "user deactivated") must not write its older answer back
after it; the write is a Lua script that stores only if the version is still the one read.

Every Redis call goes through a ``RedisGuard`` (``avelar_kit.redis_guard``): a deadline, a
per-request budget and a breaker of its own, so a frozen Redis costs a request at most the
budget. Redis being down is not an outage of the module: each read then answers from a bounded
in-process copy (``LocalCopy``, an LRU of the last answers this process fetched or read) under
the same freshness rules (fresh for ``ttl``, last known for ``local_last_known_ttl``), else
"miss". The local copy is consulted only when Redis cannot answer: while Redis answers it is
the truth (invalidations land there), and a local entry older than what Redis says is dropped.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

from avelar_kit.redis_guard import RedisGuard, RedisUnavailable

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


class LocalCopy:
    """A bounded LRU of the last entries seen, per (kind, id): the in-process fallback."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[tuple[Kind, str], CacheEntry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, kind: Kind, ident: uuid.UUID | str) -> CacheEntry | None:
        key = (kind, str(ident))
        entry = self._items.get(key)
        if entry is not None:
            self._items.move_to_end(key)
        return entry

    def put(self, kind: Kind, ident: uuid.UUID | str, entry: CacheEntry) -> None:
        if self.max_entries <= 0:
            return
        key = (kind, str(ident))
        current = self._items.get(key)
        if current is not None and current.fetched_at > entry.fetched_at:
            return  # never replace a newer answer with an older one
        self._items[key] = entry
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def forget(self, kind: Kind, ident: uuid.UUID | str) -> None:
        self._items.pop((kind, str(ident)), None)


class AvAdminCache:
    def __init__(
        self,
        redis: Any,
        *,
        module: str,
        ttl: float = 300,
        negative_ttl: float = 5,
        last_known_ttl: float = 7 * 24 * 3600,
        local_max_entries: int = 10_000,
        local_last_known_ttl: float = 3600,
        guard: RedisGuard | None = None,
    ) -> None:
        self.redis = redis
        self.module = module
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.last_known_ttl = last_known_ttl
        self.local_last_known_ttl = local_last_known_ttl
        self.local = LocalCopy(local_max_entries)
        self.guard = guard or RedisGuard(module)
        self._store = redis.register_script(_STORE)

    def _local_fresh(self, kind: Kind, ident: uuid.UUID) -> CacheEntry | None:
        entry = self.local.get(kind, ident)
        if entry is None:
            return None
        limit = self.ttl if entry.data is not None else self.negative_ttl
        return entry if entry.age() <= limit else None

    def _seen(self, kind: Kind, ident: uuid.UUID, entry: CacheEntry | None) -> None:
        """What Redis said is the truth while it answers: mirror it locally."""
        if entry is not None and entry.data is not None:
            self.local.put(kind, ident, entry)

    def key(self, kind: Kind, ident: uuid.UUID | str) -> str:
        return f"avelar:{self.module}:avadmin:{kind}:{ident}"

    async def read(self, kind: Kind, ident: uuid.UUID) -> tuple[CacheEntry | None, str]:
        """The fresh entry (or None) and the version to hand back to ``store``."""
        return (await self.read_many([(kind, ident)]))[0]

    async def read_many(
        self, items: list[tuple[Kind, uuid.UUID]]
    ) -> list[tuple[CacheEntry | None, str]]:
        """``read`` for several entries in a single Redis round trip (one MGET)."""
        keys: list[str] = []
        for kind, ident in items:
            base = self.key(kind, ident)
            keys += [base, f"{base}:ver"]
        try:
            raw = await self.guard.run(lambda: self.redis.mget(*keys))
        except RedisUnavailable as exc:
            logger.warning("avadmin cache read failed (%s): in-process copy", exc)
            # "?" never matches: a fetch made now is not stored in Redis (only locally)
            return [(self._local_fresh(kind, ident), "?") for kind, ident in items]
        out: list[tuple[CacheEntry | None, str]] = []
        for i, (kind, ident) in enumerate(items):
            fresh, ver = _decode(raw[2 * i]), raw[2 * i + 1]
            if fresh is None:
                # Expired or invalidated in Redis: so is the local copy (a fallback read of
                # Redis's last known entry puts it back when there is one).
                self.local.forget(kind, ident)
            self._seen(kind, ident, fresh)
            out.append((fresh, ver.decode() if isinstance(ver, bytes) else (ver or "")))
        return out

    async def read_last(self, kind: Kind, ident: uuid.UUID) -> CacheEntry | None:
        key = f"{self.key(kind, ident)}:last"
        try:
            entry = _decode(await self.guard.run(lambda: self.redis.get(key)))
        except RedisUnavailable as exc:
            logger.warning("avadmin cache read failed (%s): in-process copy", exc)
            local = self.local.get(kind, ident)
            if local is not None and local.age() <= self.local_last_known_ttl:
                return local
            return None
        self._seen(kind, ident, entry)
        return entry

    async def store(
        self, kind: Kind, ident: uuid.UUID, data: dict[str, Any] | None, version: str,
        *, fetched_at: float | None = None,
    ) -> bool:
        """Store an answer unless an invalidation happened since ``version`` was read. A 404
        (``data is None``) is cached only for ``negative_ttl`` and forgets the last known copy."""
        ttl = self.ttl if data is not None else self.negative_ttl
        if ttl <= 0:
            return False
        at = fetched_at or time.time()
        if version == "?":
            # Redis could not be read: AvAdmin's answer is kept in the in-process copy only.
            self._keep_locally(kind, ident, at, data)
            return False
        base = self.key(kind, ident)
        payload = json.dumps({"fetched_at": at, "data": data}, separators=(",", ":"))
        try:
            stored = await self.guard.run(lambda: self._store(
                keys=[base, f"{base}:last", f"{base}:ver"],
                args=[payload, max(1, int(ttl)), max(1, int(self.last_known_ttl)), version,
                      "1" if data is not None else "0"],
            ))
        except RedisUnavailable as exc:
            logger.warning("avadmin cache write failed (%s)", exc)
            self._keep_locally(kind, ident, at, data)
            return False
        if stored:
            self._keep_locally(kind, ident, at, data)
        return bool(stored)

    def _keep_locally(self, kind: Kind, ident: uuid.UUID, at: float,
                      data: dict[str, Any] | None) -> None:
        if data is not None:
            self.local.put(kind, ident, CacheEntry(fetched_at=at, data=data))
        else:
            self.local.forget(kind, ident)

    async def invalidate(self, kind: Kind, ident: uuid.UUID) -> None:
        """Forget both entries: the last known copy is now known to be wrong, so it must not be
        served as a fallback either (a deactivated user would get back in while AvAdmin is
        down). Raises on Redis errors so that a consumer does not acknowledge the event."""
        self.local.forget(kind, ident)
        base = self.key(kind, ident)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(base, f"{base}:last")
            pipe.incr(f"{base}:ver")
            pipe.expire(f"{base}:ver", max(1, int(self.last_known_ttl)))
            await pipe.execute()
