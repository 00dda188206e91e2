"""The AvAdmin client every module uses (the seed's ``get_user_cached`` and
``get_user_with_fallback``).

One pooled ``httpx.AsyncClient`` per process with explicit timeouts, a service token obtained
by client credentials and renewed before it expires, a Redis cache in front (see ``cache.py``)
and a circuit breaker around the calls (see ``breaker.py``).

What a caller gets:

- a fresh cached answer without any call to AvAdmin;
- otherwise AvAdmin's answer (``None`` for 404), cached;
- when AvAdmin cannot answer (down, slow, 5xx, breaker open): the last known answer, logged with
  its age, unless the caller is authorising a write and that answer is older than
  ``stale_write_bound``; then ``ServiceUnavailable`` (503 with Retry-After). Never a default.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from avelar_kit.avadmin.breaker import BreakerOpen, BreakerState, CircuitBreaker, UpstreamFailure
from avelar_kit.avadmin.cache import AvAdminCache, CacheEntry, Kind
from avelar_kit.avadmin.models import AvAdminAccount, AvAdminPlan, AvAdminUser, Standing
from avelar_kit.errors import ServiceUnavailable
from avelar_kit.metrics import AVADMIN_CACHE
from avelar_kit.redis_guard import RedisGuard
from avelar_kit.tracing import instrument_httpx, outgoing_headers

logger = logging.getLogger("avelar_kit.avadmin")

M = TypeVar("M", bound=BaseModel)

_MODELS: dict[Kind, type[BaseModel]] = {
    "user": AvAdminUser,
    "account": AvAdminAccount,
    "plan": AvAdminPlan,
}


class AvAdminAuthError(Exception):
    """AvAdmin refused our client credentials: a configuration problem, not an outage."""


class AvAdminContractError(Exception):
    """AvAdmin answered something this client cannot read (see docs/avadmin-contract.md)."""


class LocalOverload(Exception):
    """This process ran out of its own connections to AvAdmin: answered from the fallback,
    never counted against AvAdmin by the breaker."""


def _answer(resp: httpx.Response, path: str, model: type[BaseModel]) -> dict[str, Any] | None:
    """AvAdmin's answer to a GET that reached it: the body (checked against the contract's
    model), None for 404, or the error a 401/403 or an unexpected answer is."""
    if resp.status_code == 404:
        return None
    if resp.status_code in (401, 403):
        raise AvAdminAuthError(f"HTTP {resp.status_code} on GET {path}")
    if resp.status_code != 200:
        raise AvAdminContractError(f"HTTP {resp.status_code} on GET {path}")
    try:
        data = resp.json()
        model.model_validate(data)
    except (ValueError, ValidationError) as exc:
        logger.error("AvAdmin answer to GET %s does not match the contract: %s", path,
                     type(exc).__name__)
        raise AvAdminContractError(path) from exc
    if not isinstance(data, dict):
        raise AvAdminContractError(path)
    return data


class AvAdminClient:
    """Implements ``avelar_kit.avadmin.AvAdminReader``."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        redis: Any,
        *,
        module: str = "StockTech",
        cache_ttl: float = 300,
        negative_ttl: float = 5,
        stale_write_bound: float = 900,
        last_known_ttl: float = 7 * 24 * 3600,
        connect_timeout: float = 1.0,
        read_timeout: float = 2.0,
        pool_timeout: float = 1.0,
        call_deadline: float | None = None,
        max_connections: int = 50,
        breaker_threshold: int = 5,
        breaker_reset_timeout: float = 30.0,
        token_renew_margin: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        redis_guard: RedisGuard | None = None,
        local_max_entries: int = 10_000,
        local_last_known_ttl: float = 3600,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.module = module
        self.stale_write_bound = stale_write_bound
        self._client_id = client_id
        self._client_secret = client_secret
        self.cache = AvAdminCache(redis, module=module, ttl=cache_ttl, negative_ttl=negative_ttl,
                                  last_known_ttl=last_known_ttl,
                                  local_max_entries=local_max_entries,
                                  local_last_known_ttl=local_last_known_ttl, guard=redis_guard)
        self.breaker = CircuitBreaker(f"avadmin:{module}", threshold=breaker_threshold,
                                      reset_timeout=breaker_reset_timeout)
        # Whole-call bound: a token renewal plus the request plus one retry after a 401 must
        # still finish in bounded time, whatever each step's own timeout allows.
        self.call_deadline = call_deadline or (connect_timeout + read_timeout + 0.5)
        self.pool_timeout = pool_timeout
        # As many calls in flight as the pool has connections: a burst waits here (bounded by
        # pool_timeout), not inside httpx where the wait would look like AvAdmin being slow.
        self._slots = asyncio.Semaphore(max_connections)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout, pool=pool_timeout),
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections),
            headers={"user-agent": f"avelar-kit AvAdminClient ({module})",
                     "accept": "application/json"},
            transport=transport,
            event_hooks={"request": [outgoing_headers]},  # X-Request-ID, traceparent
        )
        instrument_httpx(self._http)
        self._token: str | None = None
        self._token_renew_at = 0.0
        self._token_lock = asyncio.Lock()
        self._token_renew_margin = token_renew_margin
        self._inflight: dict[tuple[Kind, uuid.UUID, str],
                             asyncio.Future[dict[str, Any] | None]] = {}
        self._stale_logged: dict[tuple[Kind, uuid.UUID], float] = {}
        # Requests actually sent to AvAdmin (token requests included); for tests and metrics.
        self.upstream_calls = 0
        # Has AvAdmin answered this process yet? (A failed health ping opens the circuit only
        # then: see ``ping``.)
        self._reached = False

    # -- the reader protocol ------------------------------------------------------------------

    async def get_user(self, user_id: uuid.UUID, *, for_write: bool = False) -> AvAdminUser | None:
        return await self._get("user", user_id, f"/api/users/{user_id}", AvAdminUser, for_write)

    async def get_account(
        self, account_id: uuid.UUID, *, for_write: bool = False
    ) -> AvAdminAccount | None:
        return await self._get("account", account_id, f"/api/accounts/{account_id}",
                               AvAdminAccount, for_write)

    async def get_standing(
        self, user_id: uuid.UUID, account_id: uuid.UUID, *, for_write: bool = False
    ) -> Standing:
        (u_entry, u_ver), (a_entry, a_ver) = await self.cache.read_many(
            [("user", user_id), ("account", account_id)])
        user, account = await asyncio.gather(
            self._resolve("user", user_id, f"/api/users/{user_id}", AvAdminUser, for_write,
                          u_entry, u_ver),
            self._resolve("account", account_id, f"/api/accounts/{account_id}",
                          AvAdminAccount, for_write, a_entry, a_ver),
        )
        return Standing(user=user, account=account)

    async def get_account_plan(
        self, account_id: uuid.UUID, *, for_write: bool = False
    ) -> AvAdminPlan | None:
        return await self._get("plan", account_id, f"/api/accounts/{account_id}/plan",
                               AvAdminPlan, for_write)

    # -- invalidation (event consumers) ---------------------------------------------------------

    async def invalidate_user(self, user_id: uuid.UUID) -> None:
        await self.cache.invalidate("user", user_id)

    async def invalidate_account(self, account_id: uuid.UUID) -> None:
        # The plan answer carries the account's status, so it goes with the account.
        await self.cache.invalidate("account", account_id)
        await self.cache.invalidate("plan", account_id)

    # -- state ----------------------------------------------------------------------------------

    @property
    def breaker_state(self) -> BreakerState:
        return self.breaker.state

    async def ping(self, timeout: float = 1.0) -> bool:
        """Is AvAdmin answering at all? (``/health``, never cached.)

        Consults and feeds the breaker: an open circuit means unreachable without a call; while
        half-open the ping may be the single probe (its success closes the circuit); a failed
        ping opens the circuit (so ``avadmin_api`` and ``avadmin_breaker`` agree) once AvAdmin
        has answered this process at least once. Before that (a module started before AvAdmin:
        a dev stack, a rollout) it only counts towards the threshold, like a failed call, or the
        module would refuse its first uncached callers for a whole reset period."""
        if self.breaker.state == "open":
            return False
        try:
            async with self.breaker.guard():
                try:
                    resp = await self._http.get("/health", timeout=timeout)
                except httpx.PoolTimeout:
                    # Our own pool is busy (a burst): says nothing against AvAdmin.
                    return True
                except httpx.HTTPError as exc:
                    raise UpstreamFailure(f"{type(exc).__name__} on GET /health") from exc
                if resp.status_code >= 500:
                    raise UpstreamFailure(f"HTTP {resp.status_code} on GET /health")
        except BreakerOpen:
            return False  # another probe is in flight
        except UpstreamFailure:
            if self._reached:
                await self.breaker.trip()
            return False  # else counted by the guard
        self._reached = True
        return True

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- internals ------------------------------------------------------------------------------

    async def _get(
        self, kind: Kind, ident: uuid.UUID, path: str, model: type[M], for_write: bool
    ) -> M | None:
        entry, version = await self.cache.read(kind, ident)
        return await self._resolve(kind, ident, path, model, for_write, entry, version)

    async def _resolve(
        self, kind: Kind, ident: uuid.UUID, path: str, model: type[M], for_write: bool,
        entry: CacheEntry | None, version: str,
    ) -> M | None:
        """The cached ``entry`` when fresh enough, else AvAdmin's answer, else the fallback."""
        if entry is not None and (not for_write or entry.age() <= self.stale_write_bound):
            parsed = self._parse(model, entry.data)
            if parsed is not _UNREADABLE:
                AVADMIN_CACHE.labels(self.module, kind, "hit").inc()
                return parsed  # type: ignore[return-value]
        AVADMIN_CACHE.labels(self.module, kind, "miss").inc()
        try:
            data = await self._fetch_once(kind, ident, version, path, model)
        except (BreakerOpen, UpstreamFailure, LocalOverload, AvAdminAuthError,
                AvAdminContractError) as exc:
            return await self._fallback(kind, ident, model, for_write, exc)
        await self.cache.store(kind, ident, data, version)
        return model.model_validate(data) if data is not None else None

    @staticmethod
    def _parse(model: type[M], data: dict[str, Any] | None) -> M | object | None:
        if data is None:
            return None
        try:
            return model.model_validate(data)
        except ValidationError:
            return _UNREADABLE

    async def _fetch_once(
        self, kind: Kind, ident: uuid.UUID, version: str, path: str, model: type[BaseModel]
    ) -> dict[str, Any] | None:
        """Single flight: concurrent misses for the same id share one call to AvAdmin.

        Only misses that read the same cache version share it: a lookup made after an
        invalidation must not get (and cache under the new version) an answer AvAdmin gave
        before the event."""
        key = (kind, ident, version)
        pending = self._inflight.get(key)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # we were cancelled ourselves
                return await self._fetch(path, model)  # the leader's caller went away
        fut: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            data = await self._fetch(path, model)
        except Exception as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved: there may be no waiter
            raise
        except BaseException:
            fut.cancel()
            raise
        else:
            fut.set_result(data)
            return data
        finally:
            self._inflight.pop(key, None)

    async def _fetch(self, path: str, model: type[BaseModel]) -> dict[str, Any] | None:
        # Waiting for one of our own connections is not AvAdmin's fault: the wait happens
        # before the breaker and the call deadline, and giving up on it is ``LocalOverload``
        # (the fallback answers; the breaker never hears of it).
        if self.breaker.state == "open":
            raise BreakerOpen(self.breaker.name, self.breaker.retry_after())
        try:
            async with asyncio.timeout(self.pool_timeout):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise LocalOverload(f"no free AvAdmin connection for GET {path}") from exc
        try:
            async with self.breaker.guard():
                try:
                    async with asyncio.timeout(self.call_deadline):
                        resp = await self._authorised_get(path)
                except httpx.PoolTimeout as exc:  # our pool, not AvAdmin (see the slots)
                    raise LocalOverload(f"no free AvAdmin connection for GET {path}") from exc
                except (httpx.TransportError, TimeoutError) as exc:
                    raise UpstreamFailure(f"{type(exc).__name__} on GET {path}") from exc
                if resp.status_code >= 500:
                    raise UpstreamFailure(f"HTTP {resp.status_code} on GET {path}")
            self._reached = True
        finally:
            self._slots.release()
        return _answer(resp, path, model)

    async def _authorised_get(self, path: str) -> httpx.Response:
        token = await self._service_token()
        self.upstream_calls += 1
        resp = await self._http.get(path, headers={"authorization": f"Bearer {token}"})
        if resp.status_code == 401:
            # Revoked, rotated key, or clock skew: renew once, then give up.
            token = await self._service_token(stale=token)
            self.upstream_calls += 1
            resp = await self._http.get(path, headers={"authorization": f"Bearer {token}"})
        return resp

    def _usable(self, stale: str | None) -> bool:
        return (self._token is not None and self._token != stale
                and time.monotonic() < self._token_renew_at)

    async def _service_token(self, stale: str | None = None) -> str:
        if self._usable(stale):
            assert self._token is not None
            return self._token
        async with self._token_lock:
            # Someone else may have renewed while we waited for the lock.
            if self._usable(stale):
                assert self._token is not None
                return self._token
            self.upstream_calls += 1
            resp = await self._http.post(
                "/api/auth/service-token",
                json={"client_id": self._client_id, "client_secret": self._client_secret},
            )
            if resp.status_code >= 500:
                raise UpstreamFailure(f"HTTP {resp.status_code} on service-token")
            if resp.status_code != 200:
                logger.error("AvAdmin refused the service credentials of %s (HTTP %s)",
                             self.module, resp.status_code)
                raise AvAdminAuthError(f"HTTP {resp.status_code} on service-token")
            try:
                body = resp.json()
                token = str(body["access_token"])
                expires_in = float(body.get("expires_in", 300))
            except (ValueError, KeyError, TypeError) as exc:
                raise AvAdminContractError("service-token") from exc
            margin = min(self._token_renew_margin, expires_in / 5)
            self._token = token
            self._token_renew_at = time.monotonic() + expires_in - margin
            return token

    async def _fallback(
        self, kind: Kind, ident: uuid.UUID, model: type[M], for_write: bool, exc: Exception
    ) -> M | None:
        last: CacheEntry | None = await self.cache.read_last(kind, ident)
        retry_after = self.breaker.retry_after() if isinstance(exc, BreakerOpen) else 30.0
        if last is not None and last.data is not None:
            age = last.age()
            if not for_write or age <= self.stale_write_bound:
                parsed = self._parse(model, last.data)
                if parsed is not _UNREADABLE and parsed is not None:
                    AVADMIN_CACHE.labels(self.module, kind, "stale").inc()
                    self._log_stale(kind, ident, age, exc)
                    return parsed  # type: ignore[return-value]
            else:
                AVADMIN_CACHE.labels(self.module, kind, "unavailable").inc()
                logger.warning(
                    "AvAdmin unavailable (%s); last known %s %s is %.0fs old, over the %.0fs "
                    "bound for writes: refusing", type(exc).__name__, kind, ident, age,
                    self.stale_write_bound)
                raise ServiceUnavailable(
                    "O AvAdmin está indisponível e os dados guardados estão antigos demais para "
                    "autorizar esta alteração; tente novamente em instantes",
                    code="avadmin_unavailable", retry_after=int(retry_after) + 1,
                ) from exc
        AVADMIN_CACHE.labels(self.module, kind, "unavailable").inc()
        logger.warning("AvAdmin unavailable (%s) and no last known %s %s: 503",
                       type(exc).__name__, kind, ident)
        raise ServiceUnavailable(
            "O AvAdmin está indisponível no momento; tente novamente em instantes",
            code="avadmin_unavailable", retry_after=int(retry_after) + 1,
        ) from exc

    def _log_stale(self, kind: Kind, ident: uuid.UUID, age: float, exc: Exception) -> None:
        # Once per id every 10 s: an outage under load must not turn into a log flood.
        now = time.monotonic()
        key = (kind, ident)
        if now - self._stale_logged.get(key, -1e9) >= 10:
            self._stale_logged[key] = now
            if len(self._stale_logged) > 10_000:
                self._stale_logged.clear()
            logger.warning("AvAdmin unavailable (%s): serving last known %s %s, %.0fs old",
                           type(exc).__name__, kind, ident, age)


_UNREADABLE = object()
