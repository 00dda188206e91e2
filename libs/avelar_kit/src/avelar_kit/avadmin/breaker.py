"""Circuit breaker in front of AvAdmin: purgatory's state machine plus a single-probe gate.

purgatory (closed -> opened after ``threshold`` consecutive failures -> half-opened after ``ttl``
-> closed on success / opened again on failure) is kept in memory, one breaker per process: each
process decides from its own experience, and the hot path costs no Redis round trip.

purgatory lets every request that arrives while half-opened through; a struggling AvAdmin that
just came back would then get the whole backlog at once. The gate below lets exactly one probe
through and treats the others as if the circuit were still open until the probe ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import Context, OpenedState
from purgatory.service._async.repository import AsyncInMemoryRepository

from avelar_kit import metrics

logger = logging.getLogger("avelar_kit.avadmin")

BreakerState = Literal["closed", "open", "half_open"]
_STATE_NAMES = {"opened": "open", "half-opened": "half_open", "closed": "closed"}


class BreakerOpen(Exception):
    """The circuit is open: no call was made. ``retry_after`` is seconds until the next probe."""

    def __init__(self, name: str, retry_after: float) -> None:
        self.retry_after = max(1.0, retry_after)
        super().__init__(f"circuit {name} is open")


class UpstreamFailure(Exception):
    """A failure that counts against the breaker (timeout, connection error, 5xx)."""


class CircuitBreaker:
    def __init__(self, name: str, *, threshold: int = 5, reset_timeout: float = 30.0) -> None:
        self.name = name
        self.threshold = threshold
        self.reset_timeout = reset_timeout
        self._factory = AsyncCircuitBreakerFactory(
            default_threshold=threshold, default_ttl=reset_timeout
        )
        self._factory.add_listener(self._on_event)
        self._probe_in_flight = False
        self._last_state: str = "closed"
        metrics.watch_breaker(self)

    def _on_event(self, name: str, kind: str, event: object) -> None:
        if kind == "state_changed":
            state = getattr(event, "state", "?")
            if state != self._last_state:
                log = logger.warning if state == "opened" else logger.info
                log("circuit %s: %s -> %s", name, self._last_state, state)
                self._last_state = state
                metrics.BREAKER_TRANSITIONS.labels(self.name, _STATE_NAMES.get(state, state)).inc()

    def _context(self) -> Context | None:
        repo = self._factory.uow.contexts
        assert isinstance(repo, AsyncInMemoryRepository)
        return repo.breakers.get(self.name)

    @property
    def state(self) -> BreakerState:
        ctx = self._context()
        if ctx is None or ctx.state == "closed":
            return "closed"
        if ctx.state == "half-opened":
            return "half_open"
        opened_at = ctx.opened_at or 0.0
        # Past the reset time the next call will be the probe: report it as half-open already.
        return "half_open" if time.time() > opened_at + ctx.ttl else "open"

    def retry_after(self) -> float:
        ctx = self._context()
        if ctx is None or ctx.opened_at is None:
            return self.reset_timeout
        return max(1.0, ctx.opened_at + ctx.ttl - time.time())

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Run the block through the breaker. Only ``UpstreamFailure`` counts as a failure; any
        other exception passes through and counts as a success of the transport (a 4xx is an
        answer, not an outage). Raises ``BreakerOpen`` without running the block when open."""
        brk = await self._factory.get_breaker(self.name, exclude=[
            (BaseException, self._not_a_failure),
        ])
        # No await from the gate to purgatory's enter, so both see the same state (checking
        # before the await above let a second probe through when the reset time passed during
        # it).
        probing = False
        if self.state == "half_open":
            if self._probe_in_flight:
                raise BreakerOpen(self.name, 1.0)
            self._probe_in_flight = probing = True
        try:
            try:
                async with brk:
                    if not probing and self._half_opened():
                        # The reset time passed between the gate and the enter (no other
                        # coroutine ran): purgatory made this call the probe.
                        self._probe_in_flight = probing = True
                    yield
            except OpenedState as exc:
                raise BreakerOpen(self.name, self.retry_after()) from exc
        finally:
            if probing:
                self._probe_in_flight = False

    async def trip(self) -> None:
        """Open the circuit now (the health ping saw AvAdmin unreachable): the requests that
        follow go straight to the fallback instead of each waiting for its own timeout, and
        ``/health`` never reports a closed circuit in front of an AvAdmin it cannot reach.
        Done through purgatory's own failure counting, so the transition is the usual one."""
        brk = await self._factory.get_breaker(self.name)
        for _ in range(self.threshold):
            if self.state != "closed":
                return
            try:
                async with brk:
                    raise UpstreamFailure("health ping failed")
            except (UpstreamFailure, OpenedState):
                pass

    def _half_opened(self) -> bool:
        ctx = self._context()
        return ctx is not None and ctx.state == "half-opened"

    def _not_a_failure(self, exc: BaseException) -> bool:
        """purgatory counts whatever is "not a failure" as a success, and a success while
        half-opened closes the circuit. A probe cancelled before AvAdmin answered (the caller
        went away) proved nothing, so it reopens the circuit instead; in the closed state a
        cancellation is not AvAdmin's fault and does not count."""
        if isinstance(exc, UpstreamFailure):
            return False
        return not (isinstance(exc, asyncio.CancelledError) and self._half_opened())
