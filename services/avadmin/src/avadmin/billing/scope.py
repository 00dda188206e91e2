"""Marks a request as a billing one: a company suspended for non-payment may still reach
AvAdmin's billing endpoints (to pay) and nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextvars import ContextVar

_billing: ContextVar[bool] = ContextVar("avadmin_billing_scope", default=False)


async def billing_scope() -> AsyncIterator[None]:
    """Router dependency, solved before the principal (async on purpose: it runs in the
    request's own context)."""
    token = _billing.set(True)
    try:
        yield
    finally:
        try:
            _billing.reset(token)
        except ValueError:  # torn down in another context: just end the scope
            _billing.set(False)


def in_billing_scope() -> bool:
    return _billing.get()
