"""Scans for the LGPD erasure tests: where does a person's CPF, name or number still appear?

``scan_database`` reads every text, varchar, json and jsonb column of every table of the
database's public schema (whatever the module); ``scan_redis`` reads every key and every value
(strings, hashes, lists, sets, sorted sets and stream entries) under a key pattern. Both return
where each needle was found, so a failing test says which copy was left behind."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from avelar_kit.db.tenancy import SYSTEM_SETTING

TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb")


async def scan_database(url: str, needles: Iterable[str]) -> list[str]:
    """``table.column: needle`` for each text-like column holding one of ``needles``."""
    wanted = [n for n in needles if n]
    engine = create_async_engine(url, poolclass=NullPool)
    found: list[str] = []
    try:
        async with engine.connect() as conn:
            # Row-level security would hide rows from a role without a company: the scan takes
            # the platform's context (its own throwaway connection, so session-wide is fine)
            # and refuses to pass when it could see no row at all: that would prove nothing.
            await conn.execute(text(f"SET {SYSTEM_SETTING} = 'on'"))
            seen = 0
            columns = (await conn.execute(text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND data_type = ANY(:types) "
                "ORDER BY table_name, column_name"), {"types": list(TEXT_TYPES)})).all()
            for table, column in columns:
                for needle in wanted:
                    hit = await conn.scalar(text(
                        f'SELECT 1 FROM "{table}" WHERE strpos("{column}"::text, :n) > 0 '  # noqa: S608
                        "LIMIT 1"), {"n": needle})
                    if hit:
                        found.append(f"{table}.{column}: {needle}")
            for table in sorted({t for t, _ in columns}):
                seen += int(await conn.scalar(text(
                    f'SELECT count(*) FROM "{table}"')) or 0)  # noqa: S608
            if seen == 0:
                raise AssertionError(f"the scan saw no row of {url.rsplit('/', 1)[-1]}: "
                                     "row-level security hid them, the scan proves nothing")
    finally:
        await engine.dispose()
    return found


def _texts(value: Any) -> Iterable[str]:
    if isinstance(value, bytes):
        yield value.decode(errors="replace")
    elif isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _texts(k)
            yield from _texts(v)
    elif isinstance(value, list | tuple | set):
        for v in value:
            yield from _texts(v)
    elif value is not None:
        yield str(value)


async def _values(redis: Any, key: bytes) -> Any:
    kind = (await redis.type(key)).decode()
    if kind == "string":
        return await redis.get(key)
    if kind == "hash":
        return await redis.hgetall(key)
    if kind == "list":
        return await redis.lrange(key, 0, -1)
    if kind == "set":
        return await redis.smembers(key)
    if kind == "zset":
        return await redis.zrange(key, 0, -1)
    if kind == "stream":
        return [fields for _, fields in await redis.xrange(key)]
    return None


async def scan_redis(redis: Any, needles: Iterable[str], match: str = "*") -> list[str]:
    """``key: needle`` for each key (its name or its value) holding one of ``needles``."""
    wanted = [n for n in needles if n]
    found: list[str] = []
    async for key in redis.scan_iter(match=match, count=1000):
        name = key.decode(errors="replace") if isinstance(key, bytes) else str(key)
        blob = "\n".join([name, *_texts(await _values(redis, key))])
        found += [f"{name}: {n}" for n in wanted if n in blob]
    return found
