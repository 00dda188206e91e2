"""Talking to AvAdmin: models of its internal API, the reader protocol every module uses, and
the client that survives AvAdmin's failures (cache, circuit breaker, fallback)."""

from avelar_kit.avadmin.breaker import BreakerOpen, CircuitBreaker
from avelar_kit.avadmin.cache import AvAdminCache
from avelar_kit.avadmin.client import AvAdminClient
from avelar_kit.avadmin.models import AvAdminAccount, AvAdminPlan, AvAdminUser, PlanSummary
from avelar_kit.avadmin.protocol import AvAdminReader

__all__ = [
    "AvAdminAccount",
    "AvAdminCache",
    "AvAdminClient",
    "AvAdminPlan",
    "AvAdminReader",
    "AvAdminUser",
    "BreakerOpen",
    "CircuitBreaker",
    "PlanSummary",
]
