"""Calls to the modules' public APIs, as any other client makes them: the person's bearer
token, the request id of the page being served (``X-Request-ID``), JSON in and out. Problems
(RFC 9457) come back as ``ApiError`` with the field messages the page shows next to its
inputs; a module that does not answer is ``ModuleDown``."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpx

from avelar_kit.logging import current_request_id
from avelar_kit.tracing import outgoing_headers

MODULES = ("AvAdmin", "StockTech", "Lucrum")
# The address of the person the page is served to: sent as X-Forwarded-For, so the APIs' abuse
# limits (logins, signups per client address) count people, not the portal. The APIs take it
# only from addresses they trust (<MODULE>_FORWARDED_ALLOW_IPS, loopback by default).
client_address: ContextVar[str | None] = ContextVar("avelar_web_client", default=None)


@dataclass
class ApiError(Exception):
    status: int
    detail: str
    code: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    retry_after: str | None = None
    body: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.detail}"

    @property
    def message(self) -> str:
        """The sentence shown at the top of a form."""
        if self.status == 429:
            wait = f" em {self.retry_after} segundos" if self.retry_after else " em instantes"
            return f"Muitas tentativas. Tente novamente{wait}."
        return self.detail


class ModuleDown(Exception):
    def __init__(self, module: str) -> None:
        super().__init__(module)
        self.module = module


def _field_name(path: str) -> str:
    """``"admin.cpf"`` -> ``"admin.cpf"``; the page decides which input it names."""
    return path.strip()


def problem_of(resp: httpx.Response) -> ApiError:
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    fields: dict[str, str] = {}
    for err in body.get("errors") or []:
        if isinstance(err, dict) and err.get("field"):
            fields.setdefault(_field_name(str(err["field"])), str(err.get("message", "")))
    detail = str(body.get("detail") or body.get("title") or "Não foi possível concluir.")
    if resp.status_code >= 500:
        detail = "O serviço não conseguiu concluir agora. Tente novamente em instantes."
    return ApiError(resp.status_code, detail, str(body.get("code") or ""), fields,
                    resp.headers.get("retry-after"), body)


class Api:
    """One client per module, shared by every request of the process."""

    def __init__(self, urls: dict[str, str], timeout: float) -> None:
        # The W3C trace context of the page goes along to the modules (the request id too).
        self.clients = {name: httpx.AsyncClient(base_url=url, timeout=timeout,
                                                event_hooks={"request": [outgoing_headers]})
                        for name, url in urls.items()}

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def request(self, module: str, method: str, path: str, *, token: str | None = None,
                      json: Any = None, params: dict[str, Any] | None = None,
                      files: Any = None, headers: dict[str, str] | None = None
                      ) -> httpx.Response:
        sent: dict[str, str] = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        rid = current_request_id()
        if rid:
            sent["X-Request-ID"] = rid
        address = client_address.get()
        if address:
            sent["X-Forwarded-For"] = address
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            resp = await self.clients[module].request(method, path, json=json, params=clean,
                                                      files=files, headers=sent)
        except httpx.TransportError:
            raise ModuleDown(module) from None
        if resp.status_code in (502, 503, 504) and module != "AvAdmin" \
                and resp.headers.get("content-type", "").startswith("text/"):
            raise ModuleDown(module)
        return resp

    async def call(self, module: str, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON of a 2xx answer (None for 204); ``ApiError`` otherwise."""
        resp = await self.request(module, method, path, **kwargs)
        if resp.status_code >= 400:
            raise problem_of(resp)
        if resp.status_code == 204 or not resp.content:
            return None
        if resp.headers.get("content-type", "").startswith(("application/json",
                                                           "application/problem+json")):
            return resp.json()
        return resp.text
