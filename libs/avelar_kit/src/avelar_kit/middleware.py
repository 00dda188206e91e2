"""The kit frame's one HTTP middleware layer (pure ASGI; ADR 0017).

Everything the frame does around a request, in one coroutine and one ``send`` wrapper instead
of one layer each (every layer costs a coroutine, a closure and a copy of the response's
headers per request):

1. the W3C trace context (``traceparent``) as the current non-recording span, when tracing is
   on and nothing exports (with an exporter, OpenTelemetry's own middleware does it);
2. the request id (a sane ``X-Request-ID`` or a new one), echoed on the answer, on every log
   line of the request, and the client address (both read by the audit trail, ADR 0017);
3. the request's Redis budget (``avelar_kit.redis_guard``);
4. the abuse limits (``avelar_kit.abuse``): 429 before the route runs; then the app's plain
   routes (``avelar_kit.plain``) and, where they can, its lean reads (``avelar_kit.lean``)
   are answered here, everything else goes down to FastAPI;
5. on the answer: the security headers (``avelar_kit.security_headers``) and ``X-Request-ID``;
6. after it: one access line and one histogram observation (``avelar_kit.metrics``).

The headers are read in one pass. The order of the layers it replaced is kept: a 429 of the
abuse limits, an error answer of the handlers and a 500 all get the security headers and the
request id.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate

from avelar_kit.abuse import AbuseLimiter, limit_answer
from avelar_kit.logging import (
    UNMATCHED_ROUTE,
    access_logger,
    client_address_var,
    log_access,
    new_request_id,
    request_id_var,
    valid_request_id,
)
from avelar_kit.redis_guard import RedisGuard
from avelar_kit.security_headers import with_security_headers
from avelar_kit.tracing import untraced_child

_UNSET: Any = object()


def _read_headers(scope: Any) -> tuple[str | None, bytes | None, dict[str, str] | None]:
    """X-Request-ID, Authorization and the W3C trace context, in one pass."""
    incoming = authorization = None
    carrier: dict[str, str] | None = None
    for key, value in scope["headers"]:
        if key == b"authorization":
            authorization = value
        elif key == b"x-request-id":
            incoming = value.decode("latin-1")
        elif key == b"traceparent" or key == b"tracestate":
            if carrier is None:
                carrier = {}
            carrier[key.decode()] = value.decode("latin-1")
    return incoming, authorization, carrier


class KitMiddleware:
    """``guard`` and ``limiter`` are read from the app's state at each request (the lifespan
    creates them); ``trace_context`` (asked once, when the stack is built at the first
    request): continue the caller's trace without an exporter."""

    def __init__(
        self,
        app: Any,
        *,
        guard: Callable[[], RedisGuard | None],
        limiter: Callable[[], AbuseLimiter | None],
        trace_context: Callable[[], bool] = lambda: False,
        plain_routes: Callable[[], Mapping[str, Any]] = dict,
        lean_routes: Callable[[], Mapping[str, Any]] = dict,
    ) -> None:
        self.app = app
        self._guard = guard
        self._limiter = limiter
        self.trace_context = trace_context()
        # The app's plain routes by path (avelar_kit.plain, ADR 0021), answered from here: the
        # layers below (FastAPI's exception middleware, its exit stack, the router's walk) have
        # nothing to do for them. Another method, or a plain route added after the first
        # request, goes down to the router as before.
        self.plain = dict(plain_routes())
        # The app's lean reads by path prefix (avelar_kit.lean, ADR 0023): a service's GET by
        # id answered from here when it can; anything they decline goes down to FastAPI.
        self.lean = dict(lean_routes())
        self.logger = access_logger()
        self._observer: Any = _UNSET

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming, authorization, carrier = _read_headers(scope)
        otel_token = None
        if self.trace_context:
            parent = propagate.extract(carrier) if carrier else None
            otel_token = otel_context.attach(untraced_child(parent))
        rid = valid_request_id(incoming) or new_request_id()
        rid_token = request_id_var.set(rid)
        client = scope.get("client")
        address_token = client_address_var.set(str(client[0])[:64] if client else None)
        guard = self._guard()
        budget_token = guard.start_request() if guard is not None else None
        start = time.perf_counter()
        status = 500
        rid_header = (b"x-request-id", rid.encode())

        async def send_wrapper(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = with_security_headers(message, authorization is not None, rid_header)
            await send(message)

        try:
            limited = await self._limited(scope, authorization)
            plain = self.plain.get(scope["path"]) if self.plain else None
            if limited is not None:
                await limited(scope, receive, send_wrapper)
            elif plain is not None and scope["method"] in plain.methods:
                scope["route"] = plain
                await plain.app(scope, receive, send_wrapper)
            elif not (self.lean and scope["method"] == "GET"
                      and await self._lean(scope, receive, send_wrapper, authorization)):
                await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            self._report(scope, status, elapsed)
            if budget_token is not None:
                RedisGuard.end_request(budget_token)
            request_id_var.reset(rid_token)
            client_address_var.reset(address_token)
            if otel_token is not None:
                otel_context.detach(otel_token)

    async def _lean(self, scope: Any, receive: Any, send: Any,
                    authorization: bytes | None) -> bool:
        path: str = scope["path"]
        lean = self.lean.get(path[:path.rfind("/") + 1])
        return lean is not None and await lean.try_answer(scope, receive, send, authorization)

    async def _limited(self, scope: Any, authorization: bytes | None) -> Any:
        limiter = self._limiter()
        if limiter is None:
            return None
        bearer = authorization is not None and authorization[:7].lower() == b"bearer "
        return await limit_answer(limiter, scope, bearer)

    def _report(self, scope: Any, status: int, elapsed: float) -> None:
        observer = self._observer
        if observer is _UNSET:  # resolved once: the app's state is set before serving
            state = getattr(scope.get("app"), "state", None)
            observer = self._observer = getattr(state, "http_observer", None)
        route = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
        if observer is not None:
            observer(route, scope["method"], status, elapsed)
        log_access(self.logger, scope, route, status, elapsed)
