"""A company's usage against a plan's limits, for plan changes (issue 11 point 5).

Users are AvAdmin's own; active products and this month's purchases are StockTech's, asked
over HTTP at its internal endpoint with AvAdmin's service token (ADR 0007). Without a StockTech
URL configured those two are not counted (and say so).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from avadmin.plans.models import Plan
from avadmin.security.tokens import TokenIssuer
from avadmin.users.repository import UserRepository
from avelar_kit.errors import Conflict, ServiceUnavailable
from avelar_kit.tracing import outgoing_headers  # X-Request-ID and traceparent to StockTech

logger = logging.getLogger("avadmin.billing.usage")


@dataclass(frozen=True)
class Usage:
    users_active: int
    products_active: int | None
    purchases_this_month: int | None


class StockTechUsage:
    def __init__(self, base_url: str, issuer: TokenIssuer, *, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.issuer = issuer
        self.timeout = timeout

    async def read(self, account_id: uuid.UUID) -> tuple[int, int]:
        token, _ = self.issuer.service_token("avadmin")
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout,
                                         event_hooks={"request": [outgoing_headers]}) as c:
                resp = await c.get(f"/api/internal/accounts/{account_id}/usage",
                                   headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise _unavailable() from exc
        if resp.status_code != 200:
            logger.warning("StockTech usage for %s: HTTP %s", account_id, resp.status_code)
            raise _unavailable()
        body = resp.json()
        return int(body["products_active"]), int(body["purchases_this_month"])


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("Não foi possível consultar o uso da empresa no StockTech; "
                              "tente novamente em instantes", code="usage_unavailable")


async def read_usage(session: AsyncSession, account_id: uuid.UUID,
                     stocktech: StockTechUsage | None) -> Usage:
    users = await UserRepository(session).count_active(account_id)
    if stocktech is None:
        return Usage(users, None, None)
    products, purchases = await stocktech.read(account_id)
    return Usage(users, products, purchases)


def excess(usage: Usage, plan: Plan) -> list[dict[str, object]]:
    """What exceeds ``plan``'s limits, one entry per limit, with how much must go."""
    found: list[dict[str, object]] = []
    checks = (("products_active", usage.products_active, plan.max_products,
               "produtos ativos"),
              ("users_active", usage.users_active, plan.max_users, "usuários ativos"),
              ("purchases_this_month", usage.purchases_this_month, plan.max_transactions,
               "compras neste mês"))
    for field, current, limit, label in checks:
        if current is not None and current > limit:
            found.append({"field": field, "label": label, "current": current, "limit": limit,
                          "remove": current - limit,
                          "message": f"{label}: {current} (o plano permite {limit}; "
                                     f"remova {current - limit})"})
    return found


def refuse_if_exceeds(usage: Usage, plan: Plan) -> None:
    over = excess(usage, plan)
    if over:
        items = "; ".join(str(o["message"]) for o in over)
        raise Conflict(f"O uso atual da empresa excede o plano {plan.name}. Antes de mudar, "
                       f"reduza: {items}", code="plan_usage_exceeded",
                       extra={"plan": plan.name, "errors": over})
