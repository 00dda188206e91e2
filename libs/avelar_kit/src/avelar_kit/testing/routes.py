"""Walk an app's routes: which are neither public on purpose nor guarded (issue 8, point 3),
and which permissions of the module's matrix they require."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from avelar_kit.audit import audited_route
from avelar_kit.auth.permissions import ADMINS
from avelar_kit.plain import PlainRoute
from avelar_kit.public import public_route

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def _calls(dependant: Dependant) -> Iterator[object]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def api_routes(app: FastAPI) -> Iterator[Any]:
    """Every API route as FastAPI serves it (included routers expanded, their dependencies
    merged): objects with ``path``, ``methods`` and ``dependant``."""
    for ctx in iter_route_contexts(app.routes):
        if isinstance(ctx.original_route, APIRoute):
            yield ctx


def is_public(route: Any) -> bool:
    return any(call is public_route for call in _calls(route.dependant))


def is_guarded(route: Any) -> bool:
    return any(getattr(call, "__avelar_guard__", False) for call in _calls(route.dependant))


def _docs_paths(app: FastAPI) -> set[str]:
    paths = {app.openapi_url, app.docs_url, app.redoc_url}
    if app.docs_url and app.swagger_ui_oauth2_redirect_url:
        paths.add(app.swagger_ui_oauth2_redirect_url)
    return {p for p in paths if p}


def unguarded_routes(app: FastAPI) -> list[str]:
    """``METHOD path`` of every API route that is neither ``PUBLIC`` nor guarded, and of every
    other route that is neither a kit plain route (``avelar_kit.plain``, public by
    construction) nor one of FastAPI's documentation pages."""
    out: list[str] = []
    for route in api_routes(app):
        if not (is_public(route) or is_guarded(route)):
            out.extend(f"{m} {route.path}" for m in sorted(route.methods))
    docs = _docs_paths(app)
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute | PlainRoute) or getattr(route, "path", None) in docs:
            continue
        methods = sorted(getattr(route, "methods", None) or {"*"})
        out.extend(f"{m} {getattr(route, 'path', route)}" for m in methods)
    return out


def required_permissions(route: Any) -> set[str]:
    """The permissions a route asks through ``require(...)``."""
    return {str(getattr(call, "permission")) for call in _calls(route.dependant)  # noqa: B009
            if hasattr(call, "permission")}


def privileged_writes(app: FastAPI) -> set[str]:
    """``METHOD path`` of every write route (not GET) that a company admin or a platform
    operator performs: a permission of the matrix held by admins only, an operator guard, or
    the ``AUDITED`` marker. Each must leave exactly one audit row (issue 15, point 3)."""
    permissions = app.state.permissions
    out: set[str] = set()
    for route in api_routes(app):
        methods = set(route.methods) - SAFE
        if not methods or is_public(route):
            continue
        calls = list(_calls(route.dependant))
        admin = any(permissions.roles(p) <= ADMINS for p in required_permissions(route))
        operator = any(getattr(c, "__avelar_operator__", False) for c in calls)
        if admin or operator or any(c is audited_route for c in calls):
            out |= {f"{m} {route.path}" for m in methods}
    return out


def _sample_path(path: str) -> str:
    """``/api/x/{id}`` with a random UUID for every parameter (no such row: the permission is
    checked before any lookup, so a role that lacks it gets 403 either way)."""
    import re
    import uuid

    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


async def walk_permissions(client: Any, app: FastAPI, headers_by_role: dict[str, Any]
                           ) -> list[tuple[str, str, str, int, str | None]]:
    """Call every route that requires a permission once per role; return
    ``(permission, "METHOD path", role, status, code)`` rows. A role the matrix denies must get
    403 ``permission_denied``; a role it allows must get anything else (404, 422, ...)."""
    rows: list[tuple[str, str, str, int, str | None]] = []
    for route in api_routes(app):
        for permission in sorted(required_permissions(route)):
            for method in sorted(route.methods):
                for role, headers in headers_by_role.items():
                    resp = await client.request(method, _sample_path(route.path),
                                                headers=headers, json={})
                    code = None
                    if resp.headers.get("content-type", "").startswith("application/"):
                        try:
                            code = resp.json().get("code")
                        except ValueError:
                            code = None
                    rows.append((permission, f"{method} {route.path}", role, resp.status_code,
                                 code))
    return rows


def _runs_on_loop(call: Any) -> bool:
    """Does FastAPI call this on the event loop (a coroutine function, an async generator, an
    object whose ``__call__`` is one), rather than in the thread pool?"""
    if inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call):
        return True
    if inspect.isroutine(call) or inspect.isclass(call):
        return False
    dunder = getattr(call, "__call__", None)  # noqa: B004 (an instance, e.g. HTTPBearer)
    return inspect.iscoroutinefunction(dunder) or inspect.isasyncgenfunction(dunder)


def threadpool_calls(app: FastAPI) -> list[str]:
    """``METHOD path: name`` of every endpoint and dependency FastAPI would run in the thread
    pool (a sync ``def``): each costs its request a hop to a worker thread and back (ADR 0017),
    and under load waits behind whatever else holds the pool's threads (argon2 hashing)."""
    out: list[str] = []
    for route in api_routes(app):
        calls = [route.dependant.call, *_calls(route.dependant)]
        for call in calls:
            if call is not None and not _runs_on_loop(call):
                name = getattr(call, "__qualname__", type(call).__name__)
                out.extend(f"{m} {route.path}: {name}" for m in sorted(route.methods))
    return sorted(set(out))
