"""AvAdminClient against a stub AvAdmin on a real socket and a real Redis."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

import pytest

from avelar_kit.avadmin.client import AvAdminClient
from avelar_kit.errors import ServiceUnavailable


async def test_cached_lookup_makes_no_call_and_one_after_ttl(stub: Any, make_client: Any) -> None:
    aid, uid = stub.add_company()
    client: AvAdminClient = make_client(cache_ttl=1)
    user = await client.get_user(uid)
    assert user is not None and user.id == uid and user.account_id == aid
    assert stub.data_requests() == [f"/api/users/{uid}"]
    for _ in range(5):
        assert (await client.get_user(uid)) == user
    assert len(stub.data_requests()) == 1
    await asyncio.sleep(1.1)
    await client.get_user(uid)
    await client.get_user(uid)
    assert len(stub.data_requests()) == 2


async def test_account_and_plan_are_read_and_404_is_none(stub: Any, make_client: Any) -> None:
    aid, _ = stub.add_company(modules=("Lucrum",))
    client: AvAdminClient = make_client()
    account = await client.get_account(aid)
    plan = await client.get_account_plan(aid)
    assert account is not None and account.enabled_modules == ["Lucrum"] and account.is_active
    assert plan is not None and plan.max_transactions == 2000 and plan.features == ["whatsapp"]
    assert await client.get_user(uuid.uuid4()) is None
    assert await client.get_account(uuid.uuid4()) is None


async def test_service_token_is_reused_renewed_and_retried_after_401(
    stub: Any, make_client: Any
) -> None:
    _, uid = stub.add_company()
    _, uid2 = stub.add_company()
    stub.token_ttl = 2  # renewed once less than ttl/5 remains
    client: AvAdminClient = make_client(cache_ttl=1)
    await client.get_user(uid)
    await client.get_user(uid2)
    assert stub.tokens_issued == 1
    await asyncio.sleep(1.7)
    await client.get_user(uid)  # cache expired; token within its renewal margin
    assert stub.tokens_issued == 2
    stub.valid_tokens.clear()  # AvAdmin restarted with a new key: our token is refused
    await asyncio.sleep(1.1)
    assert (await client.get_user(uid2)) is not None
    assert stub.tokens_issued == 3


async def test_bad_credentials_give_503_not_a_default(stub: Any, make_client: Any) -> None:
    _, uid = stub.add_company()
    client: AvAdminClient = make_client(client_secret="wrong-wrong-wrong-wrong-wrong")
    with pytest.raises(ServiceUnavailable) as info:
        await client.get_user(uid)
    assert info.value.code == "avadmin_unavailable"
    assert client.breaker_state == "closed"  # a 401 is an answer, not an outage


async def test_breaker_opens_after_n_failures_blocks_then_probes_and_recovers(
    stub: Any, make_client: Any
) -> None:
    _, uid = stub.add_company()
    client: AvAdminClient = make_client(breaker_threshold=3, breaker_reset_timeout=0.6)
    await client._service_token()  # token first: count only the data calls below
    stub.mode = "error500"
    for _ in range(3):
        with pytest.raises(ServiceUnavailable):
            await client.get_user(uuid.uuid4())
    assert client.breaker_state == "open"
    calls = len(stub.requests)
    for _ in range(10):
        with pytest.raises(ServiceUnavailable) as info:
            await client.get_user(uuid.uuid4())
        assert int(info.value.headers["Retry-After"]) >= 1
    assert len(stub.requests) == calls, "no call reaches AvAdmin while the breaker is open"
    await asyncio.sleep(0.7)
    assert client.breaker_state == "half_open"
    stub.mode = "ok"
    assert (await client.get_user(uid)) is not None  # the probe
    assert len(stub.requests) == calls + 1
    assert client.breaker_state == "closed"


async def test_failed_probe_reopens(stub: Any, make_client: Any) -> None:
    client: AvAdminClient = make_client(breaker_threshold=2, breaker_reset_timeout=0.3)
    stub.mode = "error500"
    for _ in range(2):
        with pytest.raises(ServiceUnavailable):
            await client.get_user(uuid.uuid4())
    await asyncio.sleep(0.35)
    with pytest.raises(ServiceUnavailable):
        await client.get_user(uuid.uuid4())
    assert client.breaker_state == "open"


async def test_half_open_lets_exactly_one_probe_through(stub: Any, make_client: Any) -> None:
    aid, _ = stub.add_company()
    client: AvAdminClient = make_client(breaker_threshold=2, breaker_reset_timeout=0.3)
    await client._service_token()
    stub.mode = "error500"
    for _ in range(2):
        with pytest.raises(ServiceUnavailable):
            await client.get_account(uuid.uuid4())
    await asyncio.sleep(0.35)
    stub.mode = "ok"
    stub.delay = 0.2
    before = len(stub.requests)
    ids = [uuid.uuid4() for _ in range(9)] + [aid]
    results = await asyncio.gather(*(client.get_account(i) for i in ids),
                                   return_exceptions=True)
    assert len(stub.requests) == before + 1
    assert sum(isinstance(r, ServiceUnavailable) for r in results) >= 9


async def test_known_user_served_from_last_known_when_down_with_age_logged(
    stub: Any, make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _, uid = stub.add_company()
    client: AvAdminClient = make_client(cache_ttl=1)
    assert await client.get_user(uid) is not None
    await stub.stop()
    await asyncio.sleep(1.1)  # the fresh entry has expired; only the last known copy is left
    with caplog.at_level(logging.WARNING, logger="avelar_kit.avadmin"):
        for _ in range(6):
            user = await client.get_user(uid)
            assert user is not None and user.id == uid
    assert client.breaker_state == "open"
    stale = [r.getMessage() for r in caplog.records if "serving last known" in r.getMessage()]
    assert stale and "s old" in stale[0]
    with pytest.raises(ServiceUnavailable) as info:
        await client.get_user(uuid.uuid4())  # never seen: 503, not a default
    assert info.value.status_code == 503


async def test_stale_copy_never_authorises_a_write(
    stub: Any, make_client: Any, redis: Any
) -> None:
    _, uid = stub.add_company()
    client: AvAdminClient = make_client(cache_ttl=1, stale_write_bound=900)
    assert await client.get_user(uid) is not None
    # Age the last known copy past the bound (as if fetched 16 minutes ago).
    key = client.cache.key("user", uid) + ":last"
    raw = await redis.get(key)
    import json

    entry = json.loads(raw)
    entry["fetched_at"] = time.time() - 16 * 60
    await redis.set(key, json.dumps(entry))
    await redis.delete(client.cache.key("user", uid))
    stub.mode = "error500"
    assert await client.get_user(uid) is not None  # a read may use it
    with pytest.raises(ServiceUnavailable) as info:
        await client.get_user(uid, for_write=True)
    assert info.value.headers["Retry-After"]


async def test_fresh_copy_authorises_a_write_without_a_call(stub: Any, make_client: Any) -> None:
    _, uid = stub.add_company()
    client: AvAdminClient = make_client()
    await client.get_user(uid)
    stub.mode = "error500"
    assert await client.get_user(uid, for_write=True) is not None
    assert len(stub.data_requests()) == 1


async def test_slow_avadmin_is_bounded_by_the_timeouts(stub: Any, make_client: Any) -> None:
    _, uid = stub.add_company()
    client: AvAdminClient = make_client(connect_timeout=0.5, read_timeout=0.5)
    stub.delay = 5
    start = time.perf_counter()
    with pytest.raises(ServiceUnavailable):
        await client.get_user(uid)
    # Deadline 1.5 s; the bound is loose for a loaded machine but far below the 5 s delay.
    assert time.perf_counter() - start < 3.0


async def test_concurrent_misses_share_one_call(stub: Any, make_client: Any) -> None:
    _, uid = stub.add_company()
    client: AvAdminClient = make_client()
    await client._service_token()
    stub.delay = 0.1
    users = await asyncio.gather(*(client.get_user(uid) for _ in range(20)))
    assert all(u is not None and u.id == uid for u in users)
    assert len(stub.data_requests()) == 1


async def test_invalidation_wins_over_a_fetch_in_flight(stub: Any, make_client: Any) -> None:
    _, uid = stub.add_company()
    client: AvAdminClient = make_client()
    await client._service_token()
    stub.delay = 0.3
    pending = asyncio.create_task(client.get_user(uid))
    await asyncio.sleep(0.1)
    stub.users[str(uid)]["is_active"] = False
    await client.invalidate_user(uid)  # the event arrives while the old answer is in flight
    old = await pending
    assert old is not None and old.is_active  # that caller got what AvAdmin said then
    stub.delay = 0
    fresh = await client.get_user(uid)
    assert fresh is not None and not fresh.is_active  # but it was not cached


async def test_invalidation_forgets_the_fallback_copy(stub: Any, make_client: Any) -> None:
    aid, _ = stub.add_company()
    client: AvAdminClient = make_client()
    await client.get_account(aid)
    await client.invalidate_account(aid)
    stub.mode = "error500"
    with pytest.raises(ServiceUnavailable):
        await client.get_account(aid)


async def test_an_answer_the_client_cannot_read_is_not_served(
    stub: Any, make_client: Any
) -> None:
    aid, uid = stub.add_company()
    client: AvAdminClient = make_client()
    stub.users[str(uid)]["new_field"] = "ignored"  # additions are fine
    assert await client.get_user(uid) is not None
    del stub.accounts[str(aid)]["enabled_modules"]
    stub.accounts[str(aid)]["status"] = 3  # a breaking change
    with pytest.raises(ServiceUnavailable):
        await client.get_account(aid)
    assert client.breaker_state == "closed"


async def test_keys_are_namespaced_by_module_and_kind(
    stub: Any, make_client: Any, redis: Any, module_name: str
) -> None:
    aid, uid = stub.add_company()
    client: AvAdminClient = make_client()
    await client.get_user(uid)
    await client.get_account_plan(aid)
    assert await redis.exists(f"avelar:{module_name}:avadmin:user:{uid}") == 1
    assert await redis.exists(f"avelar:{module_name}:avadmin:user:{uid}:last") == 1
    assert await redis.exists(f"avelar:{module_name}:avadmin:plan:{aid}") == 1
    assert 0 < await redis.ttl(f"avelar:{module_name}:avadmin:user:{uid}") <= 300


async def test_redis_down_degrades_to_direct_calls_then_the_in_process_copy(stub: Any) -> None:
    import redis.asyncio as aioredis

    _, uid = stub.add_company()
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2,
                          retry=Retry(NoBackoff(), 0))
    client = AvAdminClient(stub.url, "stocktech", "s3cret-s3cret-s3cret-s3cret", dead,
                           module="X")
    try:
        assert (await client.get_user(uid)) is not None
        assert (await client.get_user(uid)) is not None
        # The first answer went to the in-process copy: the second needs no call.
        assert len(stub.data_requests()) == 1
        assert len(client.cache.local) == 1
    finally:
        await client.aclose()
        await dead.aclose()


async def test_a_lookup_after_an_invalidation_does_not_join_an_older_fetch(
    stub: Any, make_client: Any
) -> None:
    """The single flight must not hand an answer AvAdmin gave before the event to a caller that
    read the cache after it: that caller would cache the old answer under the new version, and a
    deactivated user would stay active for the whole TTL."""
    _, uid = stub.add_company()
    client: AvAdminClient = make_client()
    await client._service_token()
    stub.delay = 0.3
    before_event = asyncio.create_task(client.get_user(uid))
    await asyncio.sleep(0.1)  # its request reached AvAdmin while the user was still active
    stub.users[str(uid)]["is_active"] = False
    await client.invalidate_user(uid)
    after_event = await client.get_user(uid)
    assert after_event is not None and not after_event.is_active
    await before_event
    stub.delay = 0
    cached = await client.get_user(uid)
    assert cached is not None and not cached.is_active
    assert len(stub.data_requests()) == 2  # the later lookup made its own call


async def test_a_cancelled_probe_does_not_close_the_breaker(stub: Any, make_client: Any) -> None:
    """A probe whose caller went away (client disconnect, shutdown) proved nothing about AvAdmin:
    the circuit stays open instead of letting the whole load through."""
    client: AvAdminClient = make_client(breaker_threshold=2, breaker_reset_timeout=0.3)
    await client._service_token()
    stub.mode = "error500"
    for _ in range(2):
        with pytest.raises(ServiceUnavailable):
            await client.get_user(uuid.uuid4())
    await asyncio.sleep(0.35)
    stub.delay = 1.0
    probe = asyncio.create_task(client.get_user(uuid.uuid4()))
    await asyncio.sleep(0.1)
    assert client.breaker._probe_in_flight
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    assert client.breaker_state == "open"
    assert not client.breaker._probe_in_flight


class _CountingRedis:
    """Counts the commands the client sends (scripts excluded: they run only on a miss)."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.commands: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._real, name)
        if name in ("register_script", "pipeline") or not callable(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.commands.append(name)
            return await attr(*args, **kwargs)

        return call


async def test_standing_is_one_redis_round_trip_when_cached(
    stub: Any, redis: Any, module_name: str
) -> None:
    aid, uid = stub.add_company()
    counting = _CountingRedis(redis)
    client = AvAdminClient(stub.url, "stocktech", "s3cret-s3cret-s3cret-s3cret", counting,
                           module=module_name)
    try:
        first = await client.get_standing(uid, aid)
        assert first.user is not None and first.account is not None
        assert sorted(stub.data_requests()) == sorted([f"/api/users/{uid}",
                                                       f"/api/accounts/{aid}"])
        counting.commands.clear()
        again = await client.get_standing(uid, aid)
        assert again == first
        assert counting.commands == ["mget"]  # one round trip, no call to AvAdmin
        assert len(stub.data_requests()) == 2
        # A write needs fresh-enough data: the cached copy (seconds old) is fresh enough.
        counting.commands.clear()
        await client.get_standing(uid, aid, for_write=True)
        assert counting.commands == ["mget"]
    finally:
        await client.aclose()
