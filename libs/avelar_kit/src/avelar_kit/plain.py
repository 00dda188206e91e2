"""Plain routes: answers that need nothing of FastAPI, served ahead of its router (ADR 0021).

A route with no parameter, no body, no caller and no database (``/health/live``, AvAdmin's
JWKS) still paid FastAPI's whole request path: the router's walk over the included routers, the
dependency solver (for the ``PUBLIC`` marker alone), the query-string parse, the response
wrapper. That was more than half of what such a request cost. A plain route is a bare Starlette
``Route`` to an ASGI answer, put first in the app's routes, so it is matched before FastAPI's
routes and costs a path comparison (the kit middleware answers them itself, from a table of
the app's plain routes by path, before FastAPI's own layers):

    plain_route(app, "/health/live", PlainAnswer(b'{"status":"alive"}'),
                summary="Liveness", tags=["health"])

- Public by construction (nothing there can read a caller): only for answers that are the same
  for everyone. ``avelar_kit.testing.routes.unguarded_routes`` fails on any non-FastAPI route
  that is not a ``PlainRoute`` (the docs pages aside).
- Still inside the kit frame: the kit middleware (request id, security headers, access line,
  metrics; ADR 0019) applies to it like to any other route.
- Documented and answered as before: a FastAPI twin (``PUBLIC``, same path, same answer) stays
  in the schema and answers what the plain route does not match (another method: 405 through
  the kit's error handlers, as before).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from avelar_kit.public import PUBLIC

JSON = b"application/json"


class PlainAnswer:
    """An ASGI app answering bytes that are the same for everyone: ``body`` itself, or what
    ``body()`` returns (kept by its owner, e.g. AvAdmin's key ring, which serialises its JWKS
    once per key). The headers are built once; each request gets its own copies of the
    messages, since the layers above add headers."""

    def __init__(self, body: bytes | Callable[[], bytes], *, status: int = 200,
                 content_type: bytes = JSON,
                 headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
        self._body = body
        self.status = status
        self.content_type = content_type
        self.headers = list(headers)

    def body(self) -> bytes:
        return self._body() if callable(self._body) else self._body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self.body()
        await send({"type": "http.response.start", "status": self.status,
                    "headers": [(b"content-type", self.content_type),
                                (b"content-length", str(len(body)).encode()),
                                *self.headers]})
        await send({"type": "http.response.body",
                    "body": b"" if scope.get("method") == "HEAD" else body})

    def response(self) -> Response:
        """The same answer as a Starlette response (the FastAPI twin's)."""
        extra = {k.decode("latin-1"): v.decode("latin-1") for k, v in self.headers}
        return Response(self.body(), status_code=self.status,
                        media_type=self.content_type.decode("latin-1"), headers=extra)


class PlainRoute(Route):
    """A route served ahead of FastAPI's router (``plain_route``); public on purpose."""


def plain_route(app: FastAPI, path: str, answer: PlainAnswer, *,
                methods: Sequence[str] = ("GET",), summary: str | None = None,
                description: str | None = None, tags: list[str] | None = None,
                include_in_schema: bool = True) -> PlainRoute:
    """Serve ``answer`` at ``path`` first in ``app``'s routes, and register its documented
    FastAPI twin (the schema, and the 405 of another method)."""
    route = PlainRoute(path, answer, methods=list(methods))
    app.router.routes.insert(0, route)

    async def twin(request: Request) -> Response:
        return answer.response()

    twin.__doc__ = description
    for method in methods:
        app.router.add_api_route(path, twin, methods=[method], dependencies=[PUBLIC],
                                 summary=summary, tags=list(tags or []),
                                 include_in_schema=include_in_schema,
                                 response_class=Response, name=f"plain:{path}")
    # add_api_route (after the insert) is what tells FastAPI its routes changed.
    return route


def plain_routes(app: FastAPI) -> dict[str, PlainRoute]:
    """``app``'s plain routes by path (the kit middleware answers them itself)."""
    return {r.path: r for r in app.router.routes if isinstance(r, PlainRoute)}
