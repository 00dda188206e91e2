"""A small circuit breaker of our own (ADR 0012): states, single probe and cancellation rules.

- closed: calls pass. ``threshold`` consecutive failures open the circuit.
- open: calls fail at once with ``BreakerOpen`` (no call made) until ``reset_timeout`` passed.
- half_open: exactly one call (the probe) passes; the others are refused as if still open
  until the probe ends. The probe's success closes the circuit; its failure, or its
  cancellation (the caller went away before the upstream answered: it proved nothing), opens
  it again for another ``reset_timeout``.

Only ``UpstreamFailure`` raised inside ``guard()`` counts as a failure: the caller decides what
is the upstream's fault (a timeout, a connection error, a 5xx of the upstream itself) and what
is ours (a local pool exhausted, a Redis error, a cancelled request), and raises accordingly.
Any other exception counts as a success of the transport (a 4xx is an answer, not an outage);
a cancellation in the closed state counts as nothing.

One breaker per process, in memory: each process decides from its own experience and the hot
path costs no I/O. The clock is injectable (``clock``, seconds, monotonic) so tests drive time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Literal

from avelar_kit import metrics

logger = logging.getLogger("avelar_kit.avadmin")

BreakerState = Literal["closed", "open", "half_open"]


class BreakerOpen(Exception):
    """The circuit is open: no call was made. ``retry_after`` is seconds until the next probe."""

    def __init__(self, name: str, retry_after: float) -> None:
        self.retry_after = max(1.0, retry_after)
        super().__init__(f"circuit {name} is open")


class UpstreamFailure(Exception):
    """A failure that counts against the breaker (timeout, connection error, 5xx)."""


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        watch: bool = True,
    ) -> None:
        self.name = name
        self.threshold = max(1, threshold)
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None  # None: closed
        self._probe_in_flight = False
        self._watched = watch
        if watch:
            metrics.watch_breaker(self)

    # -- state -----------------------------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._probe_in_flight or self._clock() >= self._opened_at + self.reset_timeout:
            return "half_open"
        return "open"

    @property
    def failures(self) -> int:
        """Consecutive failures counted in the closed state."""
        return self._failures

    def retry_after(self) -> float:
        if self._opened_at is None:
            return self.reset_timeout
        return max(1.0, self._opened_at + self.reset_timeout - self._clock())

    def _transition(self, before: BreakerState, after: BreakerState) -> None:
        if before == after:
            return
        log = logger.warning if after == "open" else logger.info
        log("circuit %s: %s -> %s", self.name, before, after)
        if self._watched:
            metrics.BREAKER_TRANSITIONS.labels(self.name, after).inc()

    def _open(self) -> None:
        before: BreakerState = "half_open" if self._opened_at is not None else "closed"
        self._opened_at = self._clock()
        self._failures = 0
        self._transition(before, "open")

    def _close(self) -> None:
        if self._opened_at is not None:
            self._opened_at = None
            self._transition("half_open", "closed")
        self._failures = 0

    # -- use ---------------------------------------------------------------------------------------

    def before_call(self) -> bool:
        """Admit a call or raise ``BreakerOpen``. Returns True when the call is the probe."""
        state = self.state
        if state == "closed":
            return False
        if state == "open" or self._probe_in_flight:
            raise BreakerOpen(self.name, self.retry_after() if state == "open" else 1.0)
        self._probe_in_flight = True
        return True

    def record_success(self, probing: bool) -> None:
        if probing:
            self._probe_in_flight = False
        self._close()

    def record_failure(self, probing: bool) -> None:
        if probing:
            self._probe_in_flight = False
            self._open()
            return
        if self._opened_at is not None:
            return  # a call admitted before the circuit opened: already open
        self._failures += 1
        if self._failures >= self.threshold:
            self._open()

    def record_cancelled(self, probing: bool) -> None:
        if probing:  # proved nothing: back to open for another reset_timeout
            self._probe_in_flight = False
            self._open()

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Run the block through the breaker (see the module docstring for what counts).
        Raises ``BreakerOpen`` without running the block when open."""
        probing = self.before_call()
        try:
            yield
        except UpstreamFailure:
            self.record_failure(probing)
            raise
        except asyncio.CancelledError:
            self.record_cancelled(probing)
            raise
        except BaseException:
            self.record_success(probing)
            raise
        else:
            self.record_success(probing)

    async def trip(self) -> None:
        """Open the circuit now (the health ping saw the upstream unreachable): the requests
        that follow go straight to the fallback instead of each waiting for its own timeout."""
        if self._opened_at is None:
            self._open()
