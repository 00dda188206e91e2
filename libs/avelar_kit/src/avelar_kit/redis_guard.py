"""Deadlines and a breaker for the Redis calls a request makes (cache, abuse limits).

A frozen Redis (a hung network, SIGSTOP) must cost a request at most ``request_budget`` seconds
in total, never the socket's own timeouts and retries: each guarded call gets
``min(call_timeout, what is left of the request's budget)`` (only the time spent waiting for
Redis is taken from the budget); after ``threshold`` consecutive
failures the guard's breaker opens and for ``reset_timeout`` seconds no call is made at all
(``RedisUnavailable`` at once), then one probe decides. Every caller has a fallback for
``RedisUnavailable`` (the in-process copy, in-process counters, a miss).

The request budget lives in a context variable that the kit frame's middleware
(``avelar_kit.middleware``) sets per request; outside a request (consumers, jobs) only
``call_timeout`` applies.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import RedisError

from avelar_kit.breaker import BreakerOpen, CircuitBreaker

logger = logging.getLogger("avelar_kit.redis")

T = TypeVar("T")

# Seconds of Redis time left to the current request (a one-item list: shared by the tasks a
# request spawns, e.g. asyncio.gather, which copy the context). Only time spent waiting for
# Redis counts, not the rest of the request (an AvAdmin call, the database).
_BUDGET: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
    "avelar_redis_budget", default=None)


class RedisUnavailable(Exception):
    """Redis did not answer in time, failed, or its breaker is open: use the fallback."""


class RedisGuard:
    def __init__(
        self,
        name: str,
        *,
        call_timeout: float = 0.1,
        request_budget: float = 0.2,
        threshold: int = 3,
        reset_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.call_timeout = call_timeout
        self.request_budget = request_budget
        self._clock = clock
        self.breaker = CircuitBreaker(f"redis:{name}", threshold=threshold,
                                      reset_timeout=reset_timeout, clock=clock, watch=False)

    @property
    def state(self) -> str:
        return self.breaker.state

    def start_request(self) -> contextvars.Token[list[float] | None]:
        return _BUDGET.set([self.request_budget])

    @staticmethod
    def end_request(token: contextvars.Token[list[float] | None]) -> None:
        _BUDGET.reset(token)

    def _timeout(self) -> float:
        budget = _BUDGET.get()
        if budget is None:
            return self.call_timeout
        return min(self.call_timeout, budget[0])

    def _spent(self, seconds: float) -> None:
        budget = _BUDGET.get()
        if budget is not None:
            budget[0] -= seconds

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """``await call()`` under the deadline and the breaker; ``RedisUnavailable`` when it
        cannot be made or does not succeed in time."""
        timeout = self._timeout()
        if timeout <= 0:
            raise RedisUnavailable("request's Redis budget spent")
        try:
            probing = self.breaker.before_call()
        except BreakerOpen as exc:
            raise RedisUnavailable(str(exc)) from exc
        started = self._clock()
        try:
            async with asyncio.timeout(timeout):
                result = await call()
        except (RedisError, OSError, TimeoutError) as exc:
            self._spent(self._clock() - started)
            self.breaker.record_failure(probing)
            if self.breaker.state == "open":
                self._spend()  # the request stops asking Redis
            raise RedisUnavailable(type(exc).__name__) from exc
        except asyncio.CancelledError:
            self.breaker.record_cancelled(probing)
            raise
        except BaseException:
            self._spent(self._clock() - started)
            self.breaker.record_success(probing)
            raise
        self._spent(self._clock() - started)
        self.breaker.record_success(probing)
        return result

    @staticmethod
    def _spend() -> None:
        budget = _BUDGET.get()
        if budget is not None:
            budget[0] = 0.0
