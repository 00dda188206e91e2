"""The modules' parts of an export: each module answers for its own data at
``GET /api/internal/privacy/users/{user_id}`` (AvAdmin's service token, as for StockTech's
usage endpoint, ADR 0007). Every call is bounded: a module that is slow or down is *missing*
from this attempt, never a failed export (the job asks again)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from avadmin.security.tokens import TokenIssuer
from avelar_kit.tracing import outgoing_headers

logger = logging.getLogger("avadmin.privacy")

SERVICE_CLIENT = "avadmin"


@dataclass(frozen=True)
class ModuleSource:
    name: str
    base_url: str


class ModuleSources:
    def __init__(self, sources: list[ModuleSource], issuer: TokenIssuer, *,
                 timeout: float) -> None:
        self.sources = sources
        self.issuer = issuer
        self.timeout = timeout

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.sources]

    async def _one(self, client: httpx.AsyncClient, source: ModuleSource, token: str,
                   user_id: uuid.UUID) -> dict[str, Any] | None:
        url = f"{source.base_url.rstrip('/')}/api/internal/privacy/users/{user_id}"
        try:
            resp = await asyncio.wait_for(
                client.get(url, headers={"Authorization": f"Bearer {token}"}), self.timeout)
        except (httpx.HTTPError, TimeoutError) as exc:
            logger.warning("privacy export: %s did not answer (%s)", source.name,
                           type(exc).__name__)
            return None
        if resp.status_code != 200:
            logger.warning("privacy export: %s answered HTTP %s", source.name, resp.status_code)
            return None
        data = resp.json().get("data")
        return dict(data) if isinstance(data, dict) else None

    async def fetch(self, user_id: uuid.UUID, names: list[str]) -> dict[str, dict[str, Any] | None]:
        """Each named module's part (``None`` for one that did not answer in time), asked
        concurrently: the whole call is bounded by ``timeout``."""
        wanted = [s for s in self.sources if s.name in names]
        if not wanted:
            return {}
        token, _ = self.issuer.service_token(SERVICE_CLIENT)
        async with httpx.AsyncClient(timeout=self.timeout,
                                     event_hooks={"request": [outgoing_headers]}) as client:
            answers = await asyncio.gather(*(self._one(client, s, token, user_id)
                                             for s in wanted))
        return {s.name: a for s, a in zip(wanted, answers, strict=True)}
