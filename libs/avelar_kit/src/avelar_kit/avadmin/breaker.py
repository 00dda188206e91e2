"""The AvAdmin client's circuit breaker: the kit's own (``avelar_kit.breaker``, ADR 0012)."""

from avelar_kit.breaker import BreakerOpen, BreakerState, CircuitBreaker, UpstreamFailure

__all__ = ["BreakerOpen", "BreakerState", "CircuitBreaker", "UpstreamFailure"]
